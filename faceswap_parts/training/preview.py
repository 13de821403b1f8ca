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


def preview_grid(images: dict[str, np.ndarray], gap: int = 2, labels: bool = True) -> np.ndarray:
    """The rows of :data:`ROWS` stacked into one RGB uint8 image with white
    gaps, each row named on its left (``labels``)."""
    from faceswap_parts.io.images import labelled_grid

    return labelled_grid({name: images[name] for name in ROWS}, gap, labels)
