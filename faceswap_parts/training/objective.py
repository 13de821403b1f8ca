"""The v2.2 training objective, composed from :mod:`faceswap_parts.training.losses`.

As in faceswap-GAN v2.2: reconstruction, eye and edge losses compare the
decoder's raw colour face with the target; the adversarial and perceptual
losses judge the masked result (mask * colour + (1 - mask) * distorted input).
Weights come from :class:`TrainConfig`, what is switched on from the current
schedule :class:`Phase`.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from faceswap_parts.training import losses
from faceswap_parts.config import Phase, TrainConfig


class LossTerms(NamedTuple):
    """One identity's generator loss: ``total`` and its weighted ``parts`` by name."""

    total: torch.Tensor
    parts: dict


def discriminator_losses(discriminate, pairs: dict, kind: str) -> dict[str, torch.Tensor]:
    """Each identity's discriminator loss, mixup-LSGAN or relativistic-average
    LSGAN, from ``pairs[identity] = (real, fake, distorted)``.

    ``discriminate(requests)`` scores a list of ``(image, distorted, identity)``
    in one call, so that with several processes all discriminator inputs of
    the step go through one DistributedDataParallel forward.
    """
    requests, lams = [], {}
    for identity, (real, fake, distorted) in pairs.items():
        fake = fake.detach()
        if kind == "mixup_lsgan":
            lams[identity] = lam = losses.sample_mixup_lambda()
            requests.append((lam * real + (1 - lam) * fake, distorted, identity))
        else:
            requests += [(real, distorted, identity), (fake, distorted, identity)]
    scores = iter(discriminate(requests))
    if kind == "mixup_lsgan":
        return {identity: losses.mixup_lsgan_d_loss(next(scores), lams[identity]) for identity in pairs}
    return {identity: losses.ralsgan_d_loss(next(scores), next(scores)) for identity in pairs}


def generator_losses(model, identity: str, warped: torch.Tensor, target: torch.Tensor, eyes: torch.Tensor,
                     cfg: TrainConfig, phase: Phase, perceptual=None, out=None,
                     part_masks: dict | None = None) -> LossTerms:
    """Generator loss of ``identity`` reconstructing ``target`` from ``warped``.

    ``perceptual``: a callable returning a list of feature maps of a face
    batch (the phase's perceptual term is skipped when ``None``).
    ``out``: ``model.generate(warped, identity)`` when already computed (with its graph).
    ``part_masks``: ``{"mouth"|"nose": (N,1,R,R) mask}``; each adds its masked
    reconstruction and edge terms under ``w_<part>``, as the eyes do under ``w_eyes``.
    """
    out = model.generate(warped, identity) if out is None else out
    parts = {
        "recon": cfg.w_recon * (losses.reconstruction_loss(out.color, target)
                                + losses.aux_reconstruction_loss(out.aux, target)),
        "eyes": cfg.w_eyes * losses.eye_loss(out.color, target, eyes),
        "edge": cfg.w_edge * losses.edge_loss(out.color, target)
        + cfg.w_eyes * losses.edge_loss(out.color, target, eyes),
    }
    for part, mask in (part_masks or {}).items():
        weight = getattr(cfg, f"w_{part}")
        parts[part] = weight * (losses.eye_loss(out.color, target, mask) + losses.edge_loss(out.color, target, mask))
    fake_scores = model.discriminate(out.result, warped, identity)
    if cfg.gan_loss == "mixup_lsgan":
        parts["adv"] = cfg.w_adv * losses.lsgan_g_loss(fake_scores)
    else:
        real_scores = model.discriminate(target, warped, identity)
        parts["adv"] = cfg.w_adv * losses.ralsgan_g_loss(real_scores, fake_scores)
    if perceptual is not None:
        with torch.no_grad():
            real_features = perceptual(target)
        parts["pl"] = losses.perceptual_loss(perceptual(out.result), real_features, cfg.w_pl)
    if phase.mask_hinge:
        parts["mask"] = cfg.w_mask_hinge * losses.mask_hinge(out.mask, phase.m_mask)
    else:
        parts["mask"] = cfg.w_mask_l1 * losses.mask_l1(out.mask)
    parts["mask_tv"] = cfg.w_mask_tv * losses.mask_total_variation(out.mask)
    if cfg.cycle:
        other = "B" if identity == "A" else "A"
        cycled = model.generate(model.generate(target, other).color, identity).color
        parts["cycle"] = cfg.w_cycle * losses.cycle_loss(cycled, target)
    return LossTerms(sum(parts.values()), parts)
