"""Box helpers for the MTCNN cascade: non-maximum suppression, and area
resampling of whole frames (the pyramid) and of candidate crops from
summed-area tables, all batched over many images at once.

Everything here is plain numpy/torch (no torchvision).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch


def overlap_matrix(boxes: np.ndarray, mode: str = "union") -> np.ndarray:
    """Pairwise overlap of ``(n, 4)`` boxes ``x1, y1, x2, y2``.

    ``"union"``: intersection over union with continuous areas
    ``(x2 - x1) * (y2 - y1)`` (torchvision's convention). ``"min"``:
    intersection over the smaller box with inclusive pixel areas
    (``+ 1``), the original MTCNN's last-stage rule.
    """
    one = 1.0 if mode == "min" else 0.0
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    area = (x2 - x1 + one) * (y2 - y1 + one)
    iw = np.maximum(0.0, np.minimum(x2[:, None], x2[None]) - np.maximum(x1[:, None], x1[None]) + one)
    ih = np.maximum(0.0, np.minimum(y2[:, None], y2[None]) - np.maximum(y1[:, None], y1[None]) + one)
    inter = iw * ih
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == "min":
            return inter / np.minimum(area[:, None], area[None])
        return inter / (area[:, None] + area[None] - inter)


def _greedy_keep(over: np.ndarray) -> np.ndarray:
    """Greedy NMS on a score-sorted "suppresses" matrix, without a Python loop
    per box: iterate ``keep[i] = no kept earlier box overlaps i`` to its fixed
    point, which is unique and equals the sequential greedy result (each pass
    settles at least one more box in order, so it ends within ``n`` passes)."""
    n = len(over)
    earlier = np.triu(over, k=1)  # earlier[j, i]: j ranks before i and overlaps it
    keep = np.ones(n, dtype=bool)
    for _ in range(n):
        new = ~(earlier & keep[:, None]).any(axis=0)
        if np.array_equal(new, keep):
            break
        keep = new
    return keep


def batched_nms(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray, threshold: float,
                mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression done independently within each group.

    Args:
        boxes: ``(n, 4)`` ``x1, y1, x2, y2``.
        scores: ``(n,)``; higher wins.
        groups: ``(n,)`` integer labels (e.g. image index); boxes of
            different groups never suppress each other.
        threshold: a box is dropped when its overlap with a kept,
            higher-scoring box of its group exceeds this.
        mode: ``"union"`` or ``"min"`` (see :func:`overlap_matrix`).

    Returns:
        Indices of the kept boxes, by group, best score first within a group.
    """
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((-scores, groups))
    sorted_groups = groups[order]
    kept = []
    for idx in np.split(order, np.flatnonzero(np.diff(sorted_groups)) + 1):
        if len(idx) > 1:
            idx = idx[_greedy_keep(overlap_matrix(boxes[idx], mode) > threshold)]
        kept.append(idx)
    return np.concatenate(kept)


def integral_images(frames: np.ndarray) -> torch.Tensor:
    """Summed-area tables ``(N, H + 1, W + 1, C)`` (zero first row and column)
    of ``(N, H, W, C)`` uint8 frames: int32, or float64 (still exact) for
    frames so large that int32 could overflow."""
    n, h, w, c = frames.shape
    exact32 = 255 * h * w < 2**31
    tables = np.empty((n, h + 1, w + 1, c), np.int32 if exact32 else np.float64)
    for frame, table in zip(frames, tables):  # written in place: no stacking copy
        cv2.integral(frame, table, sdepth=cv2.CV_32S if exact32 else cv2.CV_64F)
    return torch.from_numpy(tables)


def _bins(start: torch.Tensor, length: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    # adaptive-average-pooling bins: [floor(i L / s), ceil((i + 1) L / s))
    i = torch.arange(size, device=start.device)
    lo = start[:, None] + (i * length[:, None]) // size
    hi = start[:, None] + ((i + 1) * length[:, None] + size - 1) // size
    return lo, hi


def _take(x: torch.Tensor, index: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """``x`` indexed along ``dim`` (``None``: flattened), like ``np.take``."""
    if x.device.type == "cpu":  # numpy's take beats torch's index kernels here (docs/detection.md)
        return torch.from_numpy(np.take(x.numpy(), index.numpy(), axis=dim))
    return x.view(-1)[index] if dim is None else x.index_select(dim, index)


def _mean(total: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    # two divisions, like torch's adaptive pooling kernel, so results match it bit for bit
    return total.to(torch.float32) / rows.to(torch.float32) / cols.to(torch.float32)


def resample_frames(table: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Whole frames area-resampled to ``height`` x ``width``: equal to
    ``F.interpolate(frames, (height, width), mode="area")`` but computed from
    the summed-area tables by selecting rows, then columns: faster on CPU for
    the sizes of an MTCNN pyramid (docs/detection.md), and one table serves every level.

    Returns ``(N, C, height, width)`` float32 in channels-last memory layout.
    """
    zero = torch.zeros(1, dtype=torch.int64, device=table.device)
    rlo, rhi = (b[0] for b in _bins(zero, zero + table.shape[1] - 1, height))
    clo, chi = (b[0] for b in _bins(zero, zero + table.shape[2] - 1, width))
    n, _, w1, c = table.shape
    flat = table.view(n, -1, w1 * c)  # whole rows are contiguous blocks here
    rows = (_take(flat, rhi, 1) - _take(flat, rlo, 1)).view(n * height, w1, c)
    total = (_take(rows, chi, 1) - _take(rows, clo, 1)).view(n, height, width, c)
    out = _mean(total, (rhi - rlo)[None, :, None, None], (chi - clo)[None, None, :, None])
    return out.permute(0, 3, 1, 2)


def resample_crops(table: torch.Tensor, image: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor,
                   x1: torch.Tensor, y1: torch.Tensor, size: int) -> torch.Tensor:
    """Crops ``[y0, y1) x [x0, x1)`` of many frames, each area-resampled to
    ``size`` x ``size`` in one vectorised gather.

    The result equals ``F.interpolate(crop, (size, size), mode="area")``
    (adaptive average pooling) done crop by crop, without a Python loop.

    Args:
        table: :func:`integral_images` of the frames.
        image: ``(K,)`` frame index of each crop.
        x0, y0, x1, y1: ``(K,)`` integer crop bounds inside the frames, non-empty.
        size: output side.

    Returns:
        ``(K, C, size, size)`` float32 in channels-last memory layout.
    """
    rlo, rhi = _bins(y0, y1 - y0, size)
    clo, chi = _bins(x0, x1 - x0, size)
    _, h1, w1, c = table.shape
    # flat offsets of the four corners of every bin: one `take` each beats 3-d fancy indexing
    first_row = image[:, None] * h1
    row_lo, row_hi = (((first_row + r) * w1 * c)[:, :, None, None] for r in (rlo, rhi))
    channel = torch.arange(c, device=table.device)
    col_lo, col_hi = ((col * c)[:, None, :, None] + channel for col in (clo, chi))
    flat = table.view(-1)
    total = (_take(flat, row_hi + col_hi) - _take(flat, row_lo + col_hi)
             - _take(flat, row_hi + col_lo) + _take(flat, row_lo + col_lo))
    out = _mean(total, (rhi - rlo)[:, :, None, None], (chi - clo)[:, None, :, None])
    return out.permute(0, 3, 1, 2)
