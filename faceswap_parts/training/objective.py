"""The v2.2 training objective, composed from :mod:`faceswap_parts.losses`.

Which terms are on and how much they weigh comes from :class:`TrainConfig`
(weights) and the current schedule :class:`Phase` (perceptual loss, mask
regulariser kind and hinge margin).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch.nn import functional as F

from faceswap_parts import losses
from faceswap_parts.config import Phase, TrainConfig


class LossTerms(NamedTuple):
    """One identity's generator loss: ``total`` and its weighted ``parts`` by name."""

    total: torch.Tensor
    parts: dict


def discriminator_loss(model, identity: str, real: torch.Tensor, fake: torch.Tensor, distorted: torch.Tensor,
                       kind: str) -> torch.Tensor:
    """``identity``'s discriminator loss: mixup-LSGAN or relativistic-average LSGAN."""
    fake = fake.detach()
    if kind == "mixup_lsgan":
        lam = torch.distributions.Beta(0.2, 0.2).sample().to(real.device)
        mixed = lam * real + (1 - lam) * fake
        return losses.mixup_lsgan_d_loss(model.discriminate(mixed, distorted, identity), lam)
    real_scores = model.discriminate(real, distorted, identity)
    fake_scores = model.discriminate(fake, distorted, identity)
    return losses.relativistic_lsgan_d_loss(real_scores, fake_scores)


def generator_losses(model, identity: str, warped: torch.Tensor, target: torch.Tensor, eyes: torch.Tensor,
                     cfg: TrainConfig, phase: Phase, perceptual=None) -> LossTerms:
    """Generator loss of ``identity`` reconstructing ``target`` from ``warped``."""
    out = model.generate(warped, identity)
    parts = {}
    # Reconstruction, also on the lower-resolution outputs of the 128/256 px models.
    parts["recon"] = cfg.w_recon * losses.l1(out.result, target)
    for mask, color in out.aux:
        size = mask.shape[-2:]
        low_in, low_target = (F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)
                              for t in (warped, target))
        parts["recon"] = parts["recon"] + cfg.w_recon * losses.l1(mask * color + (1 - mask) * low_in, low_target)
    parts["eyes"] = cfg.w_eyes * losses.eye_l1(out.result, target, eyes)
    parts["edge"] = cfg.w_edge * losses.edge_loss(out.result, target, eyes, eye_weight=cfg.w_eyes)
    fake_scores = model.discriminate(out.result, warped, identity)
    if cfg.gan_loss == "mixup_lsgan":
        parts["adv"] = cfg.w_adv * losses.lsgan_g_loss(fake_scores)
    else:
        real_scores = model.discriminate(target, warped, identity).detach()
        parts["adv"] = cfg.w_adv * losses.relativistic_lsgan_g_loss(real_scores, fake_scores)
    if perceptual is not None:
        parts["pl"] = losses.perceptual_loss(perceptual, out.result, target, cfg.w_pl)
    if phase.mask_hinge:
        parts["mask"] = cfg.w_mask_hinge * losses.mask_hinge(out.mask, phase.m_mask)
    else:
        parts["mask"] = cfg.w_mask_l1 * losses.mask_l1(out.mask)
    parts["mask_tv"] = cfg.w_mask_tv * losses.total_variation(out.mask)
    if cfg.cycle:
        other = "B" if identity == "A" else "A"
        swapped = model.generate(out.result, other).result
        parts["cycle"] = cfg.w_cycle * losses.l1(model.generate(swapped, identity).result, target)
    total = sum(parts.values())
    return LossTerms(total, parts)
