"""Blend masks and paste-back of a generated face into its frame.

The blend weight of a face is the model's attention mask times a feathered
edge (so the square crop never leaves a seam) times, when swapping parts
only, the parts mask. Pixels whose weight is 0 keep their exact input value.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from faceswap_parts.faces.alignment import invert, transform_points, warp_back
from faceswap_parts.io.images import seamless_clone


@lru_cache(maxsize=16)
def edge_mask(size: int, roi_coverage: float = 0.9, feather: float = 0.15) -> np.ndarray:
    """Weights (size, size) float32: 1 inside the central square of side
    ``roi_coverage * size`` shrunk by the feather band, falling linearly to 0
    at that square's edge and 0 outside it.

    ``feather`` is the band's width as a fraction of ``size``.
    """
    half = roi_coverage * size / 2.0
    centre = (size - 1) / 2.0
    d = half - np.abs(np.arange(size, dtype=np.float32) - centre)  # distance to the ROI edge
    band = max(feather * size, 1e-6)
    ramp = np.clip(d / band, 0.0, 1.0)
    mask = np.minimum.outer(ramp, ramp).astype(np.float32)
    mask.setflags(write=False)  # cached and shared: nobody may edit it
    return mask


def _roi(matrix: np.ndarray, crop_size: int, frame_size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Frame rectangle ``(x0, y0, x1, y1)`` covered by the crop, clipped to the frame."""
    corners = np.array([[0, 0], [crop_size, 0], [0, crop_size], [crop_size, crop_size]], dtype=np.float64)
    pts = transform_points(corners, invert(matrix))
    w, h = frame_size
    x0, y0 = np.floor(pts.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def enhance_contrast(face: np.ndarray, amount: float) -> np.ndarray:
    """Local contrast of a generated face raised by ``amount`` (0 = as is,
    1 = strong): an unsharp mask with a blur of 1/64 of the face, which lifts
    the softness a GAN's output has without touching its mean colours."""
    if amount <= 0:
        return face
    sigma = max(face.shape[0] / 64.0, 0.5)
    blurred = cv2.GaussianBlur(face, (0, 0), sigma)
    return cv2.addWeighted(face, 1.0 + amount, blurred, -amount, 0)


def paste_back(frame: np.ndarray, face: np.ndarray, weight: np.ndarray, matrix: np.ndarray,
               frame_weight: np.ndarray | None = None, out_alpha: np.ndarray | None = None,
               blend: str = "feather") -> np.ndarray:
    """Blend an aligned ``face`` (S, S, 3) uint8 into ``frame`` in place.

    Args:
        frame: RGB uint8 frame, modified in place and returned.
        face: the generated (colour-corrected) face crop.
        weight: (S, S) blend weights in crop coordinates, in [0, 1].
        matrix: the frame-to-crop matrix the crop was aligned with.
        frame_weight: optional (H, W) weights in frame coordinates multiplied
            in (e.g. a parts mask computed from frame landmarks).
        out_alpha: optional (H, W) float32 array; the weights used are
            accumulated into it (``max``), for the mask output layout.
        blend: one of :data:`~faceswap_parts.options.BLENDS`.

    Only the frame rectangle the crop covers is touched, and inside it only
    pixels with a non-zero weight change.
    """
    h, w = frame.shape[:2]
    roi = _roi(matrix, face.shape[0], (w, h))
    if roi is None:
        return frame
    x0, y0, x1, y1 = roi
    shifted = np.array(matrix, dtype=np.float64)
    shifted[:, 2] += shifted[:, :2] @ np.array([x0, y0], dtype=np.float64)  # crop matrix for the ROI's pixels
    alpha = warp_back(np.ascontiguousarray(weight, dtype=np.float32), shifted, (x1 - x0, y1 - y0))
    if frame_weight is not None:
        alpha *= frame_weight[y0:y1, x0:x1]
    np.clip(alpha, 0.0, 1.0, out=alpha)
    if out_alpha is not None:
        np.maximum(out_alpha[y0:y1, x0:x1], alpha, out=out_alpha[y0:y1, x0:x1])
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if not rows.size:
        return frame
    # shrink to the pixels that change (a parts mask covers a fraction of the crop)
    alpha = np.ascontiguousarray(alpha[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    x0, y0 = x0 + cols[0], y0 + rows[0]
    shifted[:, 2] += shifted[:, :2] @ np.array([cols[0], rows[0]], dtype=np.float64)
    # Upscale with a cubic resize, then warp bilinearly: the look of a cubic
    # warp at a quarter of its cost (OpenCV's cubic warpAffine is not vectorised).
    scale = float(np.sqrt(abs(np.linalg.det(shifted[:, :2]))))  # crop pixels per frame pixel
    if scale < 0.75:
        side = int(round(face.shape[0] / scale))
        shifted *= side / face.shape[0]
        face = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    pasted = warp_back(np.ascontiguousarray(face), shifted, alpha.shape[::-1])
    region = frame[y0:y0 + alpha.shape[0], x0:x0 + alpha.shape[1]]
    if blend == "seamless":
        pasted = seamless_clone(pasted, region, alpha)
    # (alpha * pasted + (1 - alpha) * region) / (1 + 1e-5), rounded: weight 0 keeps the exact input value
    region[...] = cv2.blendLinear(pasted, region, alpha, 1.0 - alpha)
    return frame
