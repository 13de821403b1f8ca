"""The visible label (``convert --label TEXT``): white text on a dark box in
the frame's lower-left corner, sized to the frame, so that a viewer sees
that the video is synthetic without reading its metadata."""
from __future__ import annotations

import cv2
import numpy as np


def add_label(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` (RGB uint8) with ``text`` in its lower-left corner; a new array."""
    if not text:
        return frame
    out = np.array(frame, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    # text height about 4 % of the frame's shorter side, never below a legible 10 px
    scale = max(10, 0.04 * min(h, w)) / 22
    thickness = max(1, round(scale * 1.5))
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(3, th // 3)
    x0, y1 = pad, h - pad
    x1, y0 = min(w, x0 + tw + 2 * pad), max(0, y1 - th - baseline - 2 * pad)
    out[y0:y1, x0:x1] = (0.35 * out[y0:y1, x0:x1]).astype(np.uint8)  # darkened box: readable on any frame
    cv2.putText(out, text, (x0 + pad, y1 - pad - baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                thickness, cv2.LINE_AA)
    return out
