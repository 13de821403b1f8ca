"""Colour correction of the generated face toward the frame's face, so the
pasted face matches the scene's lighting.

Statistics are taken only where ``mask`` (the model's attention mask, the
region that will actually be pasted) is above one half, on both the
generated face and the original aligned crop.
"""
from __future__ import annotations

import cv2
import numpy as np

from faceswap_parts.errors import FaceswapError

COLOR_MODES = ("hist_match", "adain", "adain_xyz", "none")
_MIN_PIXELS = 16  # fewer masked pixels than this give meaningless statistics


def _region(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if mask is None:
        return np.ones(shape[:2], dtype=bool)
    region = np.asarray(mask) > 0.5
    return region if region.sum() >= _MIN_PIXELS else np.ones(shape[:2], dtype=bool)


def _adain(source: np.ndarray, reference: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Per-channel mean/std transfer (adaptive instance normalisation)."""
    src, ref = source[region], reference[region]
    mu_s, sd_s = src.mean(axis=0), src.std(axis=0)
    mu_r, sd_r = ref.mean(axis=0), ref.std(axis=0)
    return (source - mu_s) * (sd_r / np.maximum(sd_s, 1e-6)) + mu_r


def _hist_match(source: np.ndarray, reference: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Per-channel histogram matching: each source value goes to the reference
    value at the same quantile (computed inside ``region``, applied everywhere)."""
    out = np.empty_like(source)
    levels = np.linspace(0.0, 1.0, 257)
    for c in range(source.shape[2]):
        src_q = np.quantile(source[..., c][region], levels)
        ref_q = np.quantile(reference[..., c][region], levels)
        # np.interp needs increasing x; flat stretches of src_q get nudged apart
        src_q = src_q + np.arange(src_q.size) * 1e-6
        out[..., c] = np.interp(source[..., c], src_q, ref_q)
    return out


def color_correct(face: np.ndarray, reference: np.ndarray, mode: str = "adain",
                  mask: np.ndarray | None = None) -> np.ndarray:
    """Move ``face``'s colour statistics toward ``reference``'s.

    Args:
        face: generated face, RGB uint8 (H, W, 3).
        reference: the original aligned crop of the frame, same shape.
        mode: ``"hist_match"``, ``"adain"`` (mean/std per RGB channel),
            ``"adain_xyz"`` (mean/std per channel in CIE XYZ) or ``"none"``.
        mask: (H, W) weights in [0, 1]; statistics use the pixels above 0.5.

    Returns the corrected face, RGB uint8.
    """
    if mode not in COLOR_MODES:
        raise FaceswapError(f"color correction must be one of {', '.join(COLOR_MODES)}, got {mode!r}")
    if mode == "none":
        return face
    region = _region(mask, face.shape)
    src = face.astype(np.float32) / 255.0
    ref = reference.astype(np.float32) / 255.0
    if mode == "adain":
        out = _adain(src, ref, region)
    elif mode == "adain_xyz":
        xyz = _adain(cv2.cvtColor(src, cv2.COLOR_RGB2XYZ), cv2.cvtColor(ref, cv2.COLOR_RGB2XYZ), region)
        out = cv2.cvtColor(xyz.astype(np.float32), cv2.COLOR_XYZ2RGB)
    else:
        out = _hist_match(src, ref, region)
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
