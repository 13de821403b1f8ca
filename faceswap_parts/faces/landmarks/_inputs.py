"""Argument checks shared by the landmark backends."""
from __future__ import annotations

import numpy as np

from faceswap_parts.io.images import to_rgb


def prepare(image, boxes, points5) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """RGB uint8 contiguous image, ``(N, 4)`` float boxes, ``(N, 5, 2)`` points or None."""
    image = np.ascontiguousarray(to_rgb(np.asarray(image)))
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if points5 is not None:
        points5 = np.asarray(points5, dtype=np.float32).reshape(-1, 5, 2)
        if len(points5) != len(boxes):
            raise ValueError(f"{len(boxes)} boxes but {len(points5)} sets of 5 points")
    return image, boxes, points5
