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
from faceswap_parts.options import COLOR_MODES

_MIN_PIXELS = 16  # fewer masked pixels than this give meaningless statistics


def _regions(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """(N, H, W) bool: where each face's statistics are taken (all of it when its mask is too small)."""
    n, h, w = shape[:3]
    if mask is None:
        return np.ones((n, h, w), dtype=bool)
    region = np.asarray(mask).reshape(n, h, w) > 0.5
    region[region.sum(axis=(1, 2)) < _MIN_PIXELS] = True
    return region


def _adain(source: np.ndarray, reference: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Per-channel mean/std transfer (adaptive instance normalisation), a batch at once."""
    weight = region[..., None].astype(np.float32)
    count = weight.sum(axis=(1, 2), keepdims=True)

    def stats(x):
        mean = (x * weight).sum(axis=(1, 2), keepdims=True) / count
        std = np.sqrt((np.square(x - mean) * weight).sum(axis=(1, 2), keepdims=True) / count)
        return mean, std

    (mu_s, sd_s), (mu_r, sd_r) = stats(source), stats(reference)
    return (source - mu_s) * (sd_r / np.maximum(sd_s, 1e-6)) + mu_r


def _mean(source: np.ndarray, reference: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Per-channel mean transfer (deepfakes/faceswap's "avg-color"): the tint and brightness move, the
    face's own contrast stays. AdaIN's std ratio can be large on a blurred face of an early model
    and amplifies its colour errors (docs/conversion.md); a shift cannot."""
    weight = region[..., None].astype(np.float32)
    count = weight.sum(axis=(1, 2), keepdims=True)
    return source + ((reference - source) * weight).sum(axis=(1, 2), keepdims=True) / count


def _hist_match(source: np.ndarray, reference: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Per-channel histogram matching: each source value goes to the reference
    value at the same quantile (computed inside ``region``, applied everywhere)."""
    out = np.empty_like(source)
    levels = np.linspace(0.0, 1.0, 257)
    for i in range(source.shape[0]):
        for c in range(source.shape[3]):
            src_q = np.quantile(source[i, ..., c][region[i]], levels)
            ref_q = np.quantile(reference[i, ..., c][region[i]], levels)
            # np.interp needs increasing x; flat stretches of src_q get nudged apart
            src_q = src_q + np.arange(src_q.size) * 1e-6
            out[i, ..., c] = np.interp(source[i, ..., c], src_q, ref_q)
    return out


def _xyz(images: np.ndarray, code: int) -> np.ndarray:
    """Colour conversion of a batch (OpenCV converts pixel by pixel, so stack the faces into one image)."""
    n, h, w, _ = images.shape
    return cv2.cvtColor(np.ascontiguousarray(images, np.float32).reshape(n * h, w, 3), code).reshape(n, h, w, 3)


def color_correct(face: np.ndarray, reference: np.ndarray, mode: str = "adain",
                  mask: np.ndarray | None = None) -> np.ndarray:
    """Move ``face``'s colour statistics toward ``reference``'s.

    Args:
        face: generated face, RGB uint8 (H, W, 3), or a batch (N, H, W, 3).
        reference: the original aligned crop(s) of the frame, same shape.
        mode: ``"hist_match"``, ``"adain"`` (mean/std per RGB channel), ``"mean"`` (mean per RGB channel),
            ``"adain_xyz"`` (mean/std per channel in CIE XYZ) or ``"none"``.
        mask: (H, W) or (N, H, W) weights in [0, 1]; statistics use the pixels above 0.5.

    Returns the corrected face(s), RGB uint8, each face corrected with its own statistics.
    """
    if mode not in COLOR_MODES:
        raise FaceswapError(f"color correction must be one of {', '.join(COLOR_MODES)}, got {mode!r}")
    if mode == "none":
        return face
    single = face.ndim == 3
    src = face.reshape((1,) * single + face.shape).astype(np.float32) / 255.0
    ref = reference.reshape(src.shape).astype(np.float32) / 255.0
    region = _regions(mask, src.shape)
    if mode == "adain":
        out = _adain(src, ref, region)
    elif mode == "mean":
        out = _mean(src, ref, region)
    elif mode == "adain_xyz":
        xyz = _adain(_xyz(src, cv2.COLOR_RGB2XYZ), _xyz(ref, cv2.COLOR_RGB2XYZ), region)
        out = _xyz(xyz, cv2.COLOR_XYZ2RGB)
    else:
        out = _hist_match(src, ref, region)
    out = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out[0] if single else out
