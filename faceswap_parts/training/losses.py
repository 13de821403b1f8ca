"""faceswap-GAN v2.2's loss terms as small pure functions of tensors.

Every function returns an unweighted scalar; the weights (reconstruction 1,
eyes 30, edge 0.1, adversarial 0.1, ...) live in the training config. Images
are (N,C,H,W) in [-1,1], masks (N,1,H,W) in [0,1]; eye masks broadcast over
the colour channels.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch.nn import functional as F


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return (pred - target).abs().mean()


def reconstruction_loss(color: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the decoder's raw colour face and the target face."""
    return l1(color, target)


def eye_loss(color: torch.Tensor, target: torch.Tensor, eye_mask: torch.Tensor) -> torch.Tensor:
    """L1 inside the eye region: ``mean(|eye_mask * (color - target)|)`` over
    every pixel and channel (so its size scales with the eye area)."""
    return (eye_mask * (color - target)).abs().mean()


def aux_reconstruction_loss(aux: Sequence[tuple[torch.Tensor, torch.Tensor]],
                            target: torch.Tensor) -> torch.Tensor:
    """Sum of L1 losses of the decoder's lower-resolution colour outputs
    against the target downscaled (area) to each one's size; 0 when none."""
    total = target.new_zeros(())
    for _, color in aux:
        total = total + l1(color, F.interpolate(target, size=color.shape[-2:], mode="area"))
    return total


def first_order(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Absolute first-order differences ``(|x[y+1,x] - x[y,x]|, |x[y,x+1] - x[y,x]|)``,
    both cropped to (H-1, W-1) so they line up with each other."""
    corner = x[..., :-1, :-1]
    return (x[..., 1:, :-1] - corner).abs(), (x[..., :-1, 1:] - corner).abs()


def edge_loss(color: torch.Tensor, target: torch.Tensor, eye_mask: torch.Tensor | None = None) -> torch.Tensor:
    """L1 between the edge magnitudes (:func:`first_order`) of the output and
    the target, in y plus in x. With ``eye_mask`` only the eye region counts
    (the mask averaged over each 2x2 neighbourhood to line up with the
    differences), mirroring :func:`eye_loss`."""
    weight = None if eye_mask is None else F.avg_pool2d(eye_mask, 2, stride=1)
    total = color.new_zeros(())
    for diff_out, diff_target in zip(first_order(color), first_order(target)):
        err = diff_out - diff_target
        total = total + (err if weight is None else weight * err).abs().mean()
    return total


def sample_mixup_lambda(alpha: float = 0.2) -> float:
    """One mixing coefficient drawn from Beta(alpha, alpha) (v2.2 uses 0.2);
    follows ``torch.manual_seed``."""
    return float(torch.distributions.Beta(alpha, alpha).sample())


def mixup_lsgan_d_loss(pred_mixed: torch.Tensor, lam: float) -> torch.Tensor:
    """Discriminator side of mixup-LSGAN: ``pred_mixed`` are the scores for
    ``lam * real + (1 - lam) * fake`` (each beside the distorted input);
    their target is ``lam``: ``mean((pred_mixed - lam)²)``."""
    return (pred_mixed.float() - lam).pow(2).mean()


def lsgan_g_loss(pred_fake: torch.Tensor) -> torch.Tensor:
    """Generator side of (mixup-)LSGAN: ``mean((pred_fake - 1)²)``."""
    return (pred_fake.float() - 1).pow(2).mean()


def ralsgan_d_loss(pred_real: torch.Tensor, pred_fake: torch.Tensor) -> torch.Tensor:
    """Relativistic-average LSGAN, discriminator side: real scores should sit
    1 above the batch-average fake score, fake scores 1 below the average
    real score (averages per patch over the batch), halved as in v2.2."""
    pred_real, pred_fake = pred_real.float(), pred_fake.float()
    real_rel = pred_real - pred_fake.mean(0, keepdim=True)
    fake_rel = pred_fake - pred_real.mean(0, keepdim=True)
    return ((real_rel - 1).pow(2).mean() + (fake_rel + 1).pow(2).mean()) / 2


def ralsgan_g_loss(pred_real: torch.Tensor, pred_fake: torch.Tensor) -> torch.Tensor:
    """Relativistic-average LSGAN, generator side: the mirror image of
    :func:`ralsgan_d_loss` (fakes 1 above average real, reals 1 below)."""
    return ralsgan_d_loss(pred_fake, pred_real)


def mask_l1(mask: torch.Tensor) -> torch.Tensor:
    """``mean(|mask|)``: pushes the attention mask towards 0 (keep the input)."""
    return mask.abs().mean()


def mask_hinge(mask: torch.Tensor, margin: float) -> torch.Tensor:
    """``mean(max(0, margin - mask))``: pushes the mask up to at least ``margin``
    (v2.2 switches to it with margin 0.5 to make the decoder paint more)."""
    return F.relu(margin - mask).mean()


def mask_total_variation(mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute first-order difference of the mask, in y plus in x."""
    dy, dx = first_order(mask)
    return dy.mean() + dx.mean()


def cycle_loss(cycled: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """L1 between ``real`` and it sent through the other decoder and back
    (``cycled = G_A(G_B(real_A).color).color``)."""
    return l1(cycled, real)


def instance_normalize(feature: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each channel of each sample to zero mean, unit variance over its
    spatial positions ((N,C,H,W)); (N,C) vectors over their C entries."""
    dims = tuple(range(2, feature.ndim)) if feature.ndim > 2 else (1,)
    mean = feature.mean(dims, keepdim=True)
    var = feature.var(dims, keepdim=True, unbiased=False)
    return (feature - mean) * torch.rsqrt(var + eps)


def perceptual_loss(fake_features: Sequence[torch.Tensor], real_features: Sequence[torch.Tensor],
                    weights: Sequence[float]) -> torch.Tensor:
    """``sum_i weights[i] * L1(IN(fake_i), IN(real_i))`` over matching feature
    maps of a face-recognition network (IN = :func:`instance_normalize`, as
    in MUNIT); a layer with weight 0 is skipped."""
    if not len(fake_features) == len(real_features) == len(weights):
        raise ValueError(f"got {len(fake_features)} fake, {len(real_features)} real feature maps "
                         f"and {len(weights)} weights; they must match")
    total = fake_features[0].new_zeros((), dtype=torch.float32)
    for fake, real, weight in zip(fake_features, real_features, weights):
        if weight:
            total = total + weight * l1(instance_normalize(fake.float()), instance_normalize(real.float()))
    return total
