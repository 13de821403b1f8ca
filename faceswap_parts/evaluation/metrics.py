"""The evaluation scores as small pure functions on numpy arrays.

Landmarks are iBUG 68-point arrays ``(68, 2)`` (or stacks ``(T, 68, 2)``) in
image pixels. Per-frame values that cannot be computed (no face) are NaN;
aggregates ignore NaNs and return ``None`` when nothing is left, so that the
JSON report says "unknown" rather than a made-up number.
"""
from __future__ import annotations

import cv2
import numpy as np

from faceswap_parts.faces.landmarks.geometry import eye_opening, head_pose, inter_ocular, mouth_opening


def nan_mean(values) -> float | None:
    """Mean ignoring NaNs; ``None`` when there is no finite value."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


def safe_ratio(numerator: float | None, denominator: float | None, eps: float = 1e-9) -> float | None:
    """``numerator / denominator``, or ``None`` when either is unknown or the denominator is ~0."""
    if numerator is None or denominator is None or abs(denominator) < eps:
        return None
    return float(numerator / denominator)


# --- identity -----------------------------------------------------------------------------------

def centroid(embeddings: np.ndarray) -> np.ndarray:
    """Mean embedding of one identity's faces ``(N, D) -> (D,)``."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) == 0:
        raise ValueError("need at least one embedding to compute a centroid")
    return embeddings.mean(axis=0)


def identity_distances(embeddings: np.ndarray, centroid_a: np.ndarray, centroid_b: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances of each embedding ``(T, D)`` to A's and B's centroids
    (NaN rows, for frames without a face, stay NaN)."""
    embeddings = np.asarray(embeddings, dtype=np.float64).reshape(-1, len(centroid_a))
    return (np.linalg.norm(embeddings - centroid_a, axis=1), np.linalg.norm(embeddings - centroid_b, axis=1))


def identity_transfer_rate(dist_a: np.ndarray, dist_b: np.ndarray) -> float | None:
    """Fraction of faces closer to B's centroid than to A's (frames with a face only)."""
    dist_a, dist_b = np.asarray(dist_a, np.float64), np.asarray(dist_b, np.float64)
    valid = np.isfinite(dist_a) & np.isfinite(dist_b)
    return float(np.mean(dist_b[valid] < dist_a[valid])) if valid.any() else None


def identity_match_rate(dist_a: np.ndarray, dist_b: np.ndarray, threshold: float) -> float | None:
    """Fraction of faces the embedder takes for B: closer to B's centroid than
    to A's *and* within ``threshold`` (its same-person distance) of B's. A
    blurred face that is nobody can be closer to B than to A; it does not match."""
    dist_a, dist_b = np.asarray(dist_a, np.float64), np.asarray(dist_b, np.float64)
    valid = np.isfinite(dist_a) & np.isfinite(dist_b)
    if not valid.any():
        return None
    return float(np.mean((dist_b[valid] < dist_a[valid]) & (dist_b[valid] < threshold)))


# --- expression and pose ------------------------------------------------------------------------

def landmark_error(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Mean point-to-point distance between two landmark sets divided by the
    reference's inter-ocular distance: ``(..., 68, 2) x2 -> (...)``."""
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    return np.linalg.norm(other - reference, axis=-1).mean(axis=-1) / inter_ocular(reference)


def expression_differences(original: np.ndarray, swapped: np.ndarray) -> dict[str, np.ndarray]:
    """Per-face absolute differences in mouth opening, eye opening and head
    pose between original and swapped landmarks ``(T, 68, 2)``."""
    pose = np.abs(head_pose(swapped) - head_pose(original))
    return {
        "mouth_opening": np.abs(mouth_opening(swapped) - mouth_opening(original)),
        "eye_opening": np.abs(eye_opening(swapped) - eye_opening(original)),
        "yaw": pose[..., 0],
        "pitch": pose[..., 1],
        "roll_degrees": pose[..., 2],
    }


# --- temporal stability -------------------------------------------------------------------------

def landmark_motion(landmarks: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """Mean landmark displacement between consecutive frames ``(T, 68, 2) -> (T-1,)``,
    in units of ``scale`` (per frame; default: each frame's inter-ocular distance).
    Pairs with a NaN frame give NaN."""
    landmarks = np.asarray(landmarks, np.float64)
    if len(landmarks) < 2:
        return np.zeros(0)
    scale = inter_ocular(landmarks) if scale is None else np.asarray(scale, np.float64)
    step = np.linalg.norm(np.diff(landmarks, axis=0), axis=-1).mean(axis=-1)
    return step / scale[:-1]


def _hull_mask(shape: tuple, landmarks: np.ndarray) -> np.ndarray:
    """uint8 (H, W) mask, 1 inside the convex hull of ``landmarks``."""
    mask = np.zeros(shape[:2], np.uint8)
    hull = cv2.convexHull(np.round(np.asarray(landmarks)).astype(np.int32).reshape(-1, 1, 2))
    cv2.fillConvexPoly(mask, hull, 1)
    return mask


def face_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Mean RGB colour ``(3,)`` inside the convex hull of a face's landmarks."""
    mask = _hull_mask(image.shape, landmarks)
    if not mask.any():
        return np.full(3, np.nan)
    return np.asarray(cv2.mean(image, mask=mask)[:3], np.float64)


def face_sharpness(image: np.ndarray, landmarks: np.ndarray) -> float:
    """Detail of a face: the variance of the grey image's Laplacian inside the
    convex hull of its landmarks (NaN without a usable hull). A blurred face
    has a small fraction of the detail of the real one at the same size."""
    # the hull's edge is the blend's, not the face's
    mask = cv2.erode(_hull_mask(image.shape, landmarks), np.ones((3, 3), np.uint8))
    if mask.sum() < 16:
        return float("nan")
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    laplacian = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F)
    return float(laplacian[mask > 0].var())


def sharpness_ratio(swapped: np.ndarray, original: np.ndarray) -> float | None:
    """Median over frames of the swap's face detail over the source's
    (:func:`face_sharpness`): about 1 for a face as sharp as the source's; a
    blur that the embedder still takes for B scores far below."""
    swapped, original = np.asarray(swapped, np.float64), np.asarray(original, np.float64)
    valid = np.isfinite(swapped) & np.isfinite(original) & (original > 0)
    return float(np.median(swapped[valid] / original[valid])) if valid.any() else None


def colour_change(colours: np.ndarray) -> np.ndarray:
    """Mean absolute change of the mean face colour between consecutive frames
    ``(T, 3) -> (T-1,)`` in 0-255 levels (NaN where a frame has no face)."""
    colours = np.asarray(colours, np.float64)
    if len(colours) < 2:
        return np.zeros(0)
    return np.abs(np.diff(colours, axis=0)).mean(axis=-1)


def paired_ratio(swapped: np.ndarray, original: np.ndarray) -> float | None:
    """``mean(swapped) / mean(original)`` over the entries finite in both
    (1.0 = the swap changes as much as the source does)."""
    swapped, original = np.asarray(swapped, np.float64), np.asarray(original, np.float64)
    valid = np.isfinite(swapped) & np.isfinite(original)
    if not valid.any():
        return None
    return safe_ratio(float(swapped[valid].mean()), float(original[valid].mean()))


# --- coverage -----------------------------------------------------------------------------------

def coverage(original_has_face: np.ndarray, swapped_has_face: np.ndarray) -> float | None:
    """Fraction of the frames with a face in the original where the swapped
    frame has one too (``None`` if the original never shows a face)."""
    original_has_face = np.asarray(original_has_face, bool)
    swapped_has_face = np.asarray(swapped_has_face, bool)
    if not original_has_face.any():
        return None
    return float(np.mean(swapped_has_face[original_has_face]))


def changed_region(original: np.ndarray, swapped: np.ndarray, box: np.ndarray | None = None,
                   threshold: float = 6.0) -> np.ndarray:
    """(H, W) bool: where the swap changed the frame, as regions (the pasted
    face or parts): the colour difference, smoothed so that codec noise does
    not count, above ``threshold`` grey levels, opened, and kept inside the
    face's box (widened by half) when given; specks under 0.5 % of the box go."""
    import cv2

    diff = np.abs(original.astype(np.int16) - swapped.astype(np.int16)).max(axis=2).astype(np.float32)
    changed = cv2.GaussianBlur(diff, (0, 0), 1.5) > threshold
    if box is not None:
        x0, y0, x1, y1 = np.asarray(box, float)
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.75 * max(x1 - x0, y1 - y0)
        keep = np.zeros_like(changed)
        h, w = changed.shape
        keep[max(0, int(cy - half)):min(h, int(cy + half)), max(0, int(cx - half)):min(w, int(cx + half))] = True
        changed &= keep
        min_area = 0.005 * (2 * half) ** 2
    else:
        min_area = 0.0005 * changed.size
    changed = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    big = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= min_area]
    return np.isin(labels, big)


def seam_score(original: np.ndarray, swapped: np.ndarray, box: np.ndarray | None = None,
               band: int = 2) -> float | None:
    """How visible the blend's edge is: the gradient energy (squared Sobel
    magnitude of the grey image) of the swap on a band of ``band`` pixels each
    side of the changed region's boundary, over the same band of the original
    frame. About 1 where the edge is as smooth as the frame was there; a
    hard-edged paste scores well above. None without a changed region."""
    import cv2

    region = changed_region(original, swapped, box).astype(np.uint8)
    if not region.any():
        return None
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    ring = (cv2.dilate(region, kernel) > 0) & ~(cv2.erode(region, kernel) > 0)
    if ring.sum() < 16:
        return None

    def energy(image):
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
        return float((gx[ring] ** 2 + gy[ring] ** 2).mean())

    return safe_ratio(energy(swapped), energy(original), eps=1.0)
