"""Output layouts: the result alone, input beside result, or input, result
and blend mask side by side."""
from __future__ import annotations

import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.options import OUTPUT_TYPES

_PANELS = {"result": 1, "side-by-side": 2, "triple": 3}


def check_output_type(output_type: str) -> str:
    if output_type not in OUTPUT_TYPES:
        raise FaceswapError(f"output type must be one of {', '.join(OUTPUT_TYPES)}, got {output_type!r}")
    return output_type


def output_size(output_type: str, frame_size: tuple[int, int]) -> tuple[int, int]:
    """``(width, height)`` of the output video for input frames of ``frame_size``."""
    w, h = frame_size
    return w * _PANELS[check_output_type(output_type)], h


def compose(output_type: str, frame: np.ndarray, result: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """One output frame: ``result``; ``frame | result``; or ``frame | result | mask``
    (``alpha`` is the (H, W) blend weight in [0, 1], shown in gray)."""
    if output_type == "result":
        return result
    if output_type == "side-by-side":
        return np.concatenate([frame, result], axis=1)
    check_output_type(output_type)
    if alpha is None:
        alpha = np.zeros(frame.shape[:2], dtype=np.float32)
    gray = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.concatenate([frame, result, np.repeat(gray[..., None], 3, axis=2)], axis=1)


def layout_of(output_frame_size: tuple[int, int], input_frame_size: tuple[int, int]) -> str | None:
    """The output type whose frames of ``input_frame_size`` give ``output_frame_size``
    (``"result"`` for equal sizes), ``None`` when no layout does."""
    for output_type in OUTPUT_TYPES:
        if tuple(output_frame_size) == output_size(output_type, input_frame_size):
            return output_type
    return None


def result_panel(output_frame: np.ndarray, output_type: str) -> np.ndarray:
    """The result part of a frame :func:`compose` made with ``output_type``."""
    width = output_frame.shape[1] // _PANELS[check_output_type(output_type)]
    start = 0 if output_type == "result" else width  # the result follows the input panel
    return output_frame[:, start:start + width]
