"""FAN landmarks through the ``face-alignment`` package (imported lazily).

face-alignment downloads its network (and its own face detector, which we
never call: boxes come from our detector) on first use, so this backend
needs ``pip install face-alignment`` and network once; Colab has both.
"""
from __future__ import annotations

import inspect

import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.landmarks._inputs import prepare


class FanLandmarker:
    """68 landmarks with FAN (2D-FAN-4); ``predict(image, boxes, points5)``."""

    name = "fan"

    def __init__(self, device="auto"):
        try:
            import face_alignment
        except ImportError:
            raise FaceswapError("the fan landmark backend needs the face-alignment package: "
                                "pip install face-alignment (weights download on first use), "
                                "or use --landmarks dlib") from None
        from faceswap_parts.device import resolve_device

        self.device = resolve_device(device)
        kind = getattr(face_alignment.LandmarksType, "TWO_D", None) or face_alignment.LandmarksType._2D
        kwargs = {"device": str(self.device), "flip_input": False}
        if "compile" in inspect.signature(face_alignment.FaceAlignment).parameters:
            kwargs["compile"] = False  # newer releases torch.compile by default: minutes of warm-up
        try:
            self._fa = face_alignment.FaceAlignment(kind, **kwargs)
        except Exception as err:  # noqa: BLE001 - network errors, corrupt cache: all mean "no weights"
            raise FaceswapError(f"face-alignment could not load its weights ({type(err).__name__}: "
                                f"{str(err).splitlines()[0] if str(err) else ''}); it downloads them "
                                "on first use, so run once with network, or use --landmarks dlib") from None

    def predict(self, image, boxes, points5=None) -> np.ndarray:
        """``(N, 68, 2)`` float32 image-pixel landmarks for the given boxes."""
        image, boxes, _ = prepare(image, boxes, points5)
        if len(boxes) == 0:
            return np.zeros((0, 68, 2), dtype=np.float32)
        # FAN crops around the box centre raised by 12% of its height, scaled by
        # (w + h) / 195, tuned for S3FD boxes; MTCNN's are similar in size.
        result = self._fa.get_landmarks_from_image(image, detected_faces=[b for b in boxes])
        if not result:
            raise FaceswapError("face-alignment returned no landmarks for the given faces")
        return np.stack([np.asarray(p, dtype=np.float32)[:, :2] for p in result])
