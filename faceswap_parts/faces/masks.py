"""Face-part masks drawn from 68 landmarks (eyes, eyebrows, nose, mouth, face).

>>> from faceswap_parts.faces.masks import parts_mask
>>> mask = parts_mask(landmarks68, (h, w), parts=("eyes", "mouth"))   # float32 (h, w) in [0, 1]

Each part is the convex hull of its landmarks (the eyebrows, which are arcs,
are thick lines), grown by a margin and given a soft linear edge. Margin and
edge width are fractions of the face size (the larger side of the landmarks'
bounding box) applied through a distance transform, so a mask covers the same
fraction of the face on a 64 px and a 512 px crop. The soft edge is centred
on the grown outline, so ``mask >= 0.5`` (what ``binary=True`` returns and
what ``binary_masks_<part>/`` folders hold) is the grown hull itself.
"""
from __future__ import annotations

import cv2
import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.landmarks import ibug68
from faceswap_parts.options import FACE_PARTS

#: Parts :func:`parts_mask` knows.
PARTS = FACE_PARTS

# Growth margin per part and soft-edge half-width, as fractions of the face
# size. Eyes get a wide margin: eyelids and eye corners must swap with the eye.
_MARGIN = {"eyes": 0.06, "eyebrows": 0.03, "nose": 0.03, "mouth": 0.04, "face": 0.0}
_FEATHER = 0.02
_BROW_THICKNESS = 0.05


def parse_parts(parts) -> tuple[str, ...]:
    """``"eyes,nose"`` / ``["eyes", "nose"]`` / ``"all"`` as a checked tuple of part names."""
    if isinstance(parts, str):
        parts = [p for p in parts.replace("+", ",").split(",")]
    names = []
    for part in parts:
        part = part.strip().lower()
        if part == "all":
            names.extend(p for p in PARTS if p != "face")
        elif part in PARTS:
            names.append(part)
        elif part:
            raise FaceswapError(f"unknown face part {part!r}; choose among {', '.join(PARTS)} (comma-separated)")
    if not names:
        raise FaceswapError(f"no face part given; choose among {', '.join(PARTS)}")
    return tuple(dict.fromkeys(names))


def face_size(landmarks68: np.ndarray) -> float:
    """Larger side of the landmarks' bounding box, in pixels."""
    pts = np.asarray(landmarks68, dtype=np.float64).reshape(68, 2)
    return float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]), 1.0))


def _regions(pts: np.ndarray, part: str) -> list[tuple[str, np.ndarray]]:
    """(kind, points) drawing instructions: "hull" polygons or "line" polylines."""
    if part == "eyes":
        return [("hull", pts[ibug68.LEFT_EYE]), ("hull", pts[ibug68.RIGHT_EYE])]
    if part == "eyebrows":
        return [("line", pts[ibug68.LEFT_EYEBROW]), ("line", pts[ibug68.RIGHT_EYEBROW])]
    if part == "nose":
        return [("hull", pts[ibug68.NOSE])]
    if part == "mouth":
        return [("hull", pts[ibug68.OUTER_LIPS])]
    return [("hull", pts)]  # face: jaw, brows and everything between


def _part_mask(pts: np.ndarray, part: str, shape: tuple[int, int], size: float,
               binary: bool) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The part's mask inside its bounding box and the box's top-left corner,
    or None when the part lies outside the image."""
    h, w = shape
    regions = _regions(pts, part)
    # Brows are drawn as thin lines and grown by half their thickness too.
    margin = (_MARGIN[part] + (_BROW_THICKNESS / 2 if part == "eyebrows" else 0.0)) * size
    ramp = max(2 * _FEATHER * size, 1.0)  # width of the soft edge
    # Work in the part's bounding box only: masks of full frames stay cheap.
    allpts = np.concatenate([p for _, p in regions])
    pad = margin + ramp + 2
    x0, y0 = np.floor(allpts.min(0) - pad).astype(int)
    x1, y1 = np.ceil(allpts.max(0) + pad).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    roi = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    shift = 4  # sub-pixel drawing precision (1/16 px)
    for kind, p in regions:
        p = np.round((p - (x0, y0)) * (1 << shift)).astype(np.int32)
        if kind == "hull":
            cv2.fillConvexPoly(roi, cv2.convexHull(p), 255, cv2.LINE_AA, shift)
        else:
            cv2.polylines(roi, [p.reshape(-1, 1, 2)], False, 255, 1, cv2.LINE_AA, shift)
    inside = (roi >= 128).astype(np.uint8)
    # Signed distance to the outline (negative inside) grows the shape by a
    # fractional margin, exact at any resolution, unlike a whole-pixel kernel.
    outside_dist = cv2.distanceTransform(1 - inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    inside_dist = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    signed = np.where(inside > 0, 0.5 - inside_dist, outside_dist - 0.5)
    if binary:
        return (signed <= margin).astype(np.float32), (x0, y0)
    return np.clip((margin - signed) / ramp + 0.5, 0.0, 1.0).astype(np.float32), (x0, y0)


def parts_mask(landmarks68: np.ndarray, size: tuple[int, int], parts=("eyes",), binary: bool = False) -> np.ndarray:
    """Mask of the given face parts.

    Args:
        landmarks68: ``(68, 2)`` landmarks (iBUG order) in the mask's pixel coordinates.
        size: ``(h, w)`` of the mask.
        parts: names from :data:`PARTS` (a sequence or ``"eyes,mouth"``); the mask is their union.
        binary: return the hard 0/1 mask (the feathered mask thresholded at 0.5).

    Returns:
        float32 ``(h, w)`` in ``[0, 1]``.
    """
    pts = np.asarray(landmarks68, dtype=np.float64)
    if pts.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got shape {pts.shape}")
    h, w = int(size[0]), int(size[1])
    scale = face_size(pts)
    mask = np.zeros((h, w), dtype=np.float32)
    for part in parse_parts(parts):
        drawn = _part_mask(pts, part, (h, w), scale, binary)
        if drawn is not None:
            roi, (x0, y0) = drawn
            target = mask[y0:y0 + roi.shape[0], x0:x0 + roi.shape[1]]
            np.maximum(target, roi, out=target)
    return mask


def to_uint8(mask: np.ndarray) -> np.ndarray:
    """A ``[0, 1]`` float mask as a 0..255 ``uint8`` image (0/255 for binary masks)."""
    return np.clip(np.rint(np.asarray(mask, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
