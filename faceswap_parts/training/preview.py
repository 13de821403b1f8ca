"""Preview grids: for a fixed set of faces of A and B, the swaps, masks and reconstructions."""
from __future__ import annotations

import numpy as np
import torch

#: Row names of the grid, top to bottom.
ROWS = ("A", "A->B", "mask A->B", "B", "B->A", "mask B->A", "A reconstruction", "B reconstruction")


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """(N,C,H,W) in [-1,1] (or a mask in [0,1] when C == 1) to (N,H,W,3) uint8."""
    x = x.detach().float().cpu()
    x = x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else (x + 1) / 2
    return (x.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)


@torch.no_grad()
def preview_images(model, faces_a: torch.Tensor, faces_b: torch.Tensor) -> dict[str, np.ndarray]:
    """One (N,H,W,3) uint8 array per row of :data:`ROWS`, from (N,3,R,R) faces in [-1,1]."""
    ab, ba = model.generate(faces_a, "B"), model.generate(faces_b, "A")
    aa, bb = model.generate(faces_a, "A"), model.generate(faces_b, "B")
    rows = (faces_a, ab.result, ab.mask, faces_b, ba.result, ba.mask, aa.color, bb.color)
    return {name: _to_uint8(t) for name, t in zip(ROWS, rows)}


def _label(text: str, height: int, width: int, scale: float) -> np.ndarray:
    """``text`` in dark grey, vertically centred on a white (height, width) tile."""
    import cv2

    tile = np.full((height, width, 3), 255, np.uint8)
    (_, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(tile, text, (4, (height + text_h) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), 1,
                cv2.LINE_AA)
    return tile


def preview_grid(images: dict[str, np.ndarray], gap: int = 2, labels: bool = True) -> np.ndarray:
    """The rows stacked into one RGB uint8 image with white gaps, each row
    named on its left (``labels``)."""
    import cv2

    height = images[ROWS[0]].shape[1]
    scale = max(height / 160, 0.3)  # readable from 64 px faces up
    label_width = 8 + max(cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for name in ROWS)
    rows = []
    for name in ROWS:
        faces = images[name]
        n, h, w, _ = faces.shape
        row = np.full((h, n * w + (n - 1) * gap, 3), 255, np.uint8)
        for i, face in enumerate(faces):
            row[:, i * (w + gap):i * (w + gap) + w] = face
        if labels:
            row = np.concatenate([_label(name, h, label_width, scale), row], axis=1)
        rows.append(row)
    width = rows[0].shape[1]
    out = np.full((sum(r.shape[0] for r in rows) + gap * (len(rows) - 1), width, 3), 255, np.uint8)
    y = 0
    for row in rows:
        out[y:y + row.shape[0]] = row
        y += row.shape[0] + gap
    return out
