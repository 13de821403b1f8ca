"""Temporal smoothing of a face's box and 5 landmarks, so the pasted face does
not shake from frame to frame.

A smoother sees one face track: each frame it receives the detected box
``(x1, y1, x2, y2)`` and 5 points and returns smoothed ones. It restarts
(takes the measurement as is) when the face was missing for more than
``max_gap`` frames or when the face jumped further than ``max_jump`` times
the box size, so a face that reappears elsewhere is not dragged across the
frame.

Coordinates are smoothed in units of 1/100 of the face size measured at the
restart, so the noise settings mean the same for small and large faces.
"""
from __future__ import annotations

import cv2
import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.options import DEFAULT_KALMAN_NOISE, DEFAULT_MOVING_AVERAGE, SMOOTHING_METHODS



def box_size(box: np.ndarray) -> float:
    """The larger side of a box ``(x1, y1, x2, y2)``, at least one pixel."""
    return float(max(box[2] - box[0], box[3] - box[1], 1.0))


class _Filter:
    """One smoothing rule on a flat vector; ``restart`` sets the state to a measurement."""

    def restart(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def update(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _NoFilter(_Filter):
    def restart(self, z):
        return z

    def update(self, z):
        return z


class _MovingAverage(_Filter):
    """Exponential moving average ``s = c * s + (1 - c) * z``."""

    def __init__(self, coef: float):
        self.coef = coef
        self.state = None

    def restart(self, z):
        self.state = z.copy()
        return self.state

    def update(self, z):
        self.state = self.coef * self.state + (1.0 - self.coef) * z
        return self.state


class _Kalman(_Filter):
    """OpenCV's Kalman filter with a constant-position (random-walk) model
    per coordinate. A constant-velocity model was tried and rejected: on
    talking heads its velocity estimate amplifies detector noise (more
    jitter at any lag, see docs/conversion.md)."""

    def __init__(self, noise: float):
        self.noise = noise
        self.kf = None

    def restart(self, z):
        n = z.size
        eye = np.eye(n, dtype=np.float32)
        kf = cv2.KalmanFilter(n, n)
        kf.transitionMatrix = eye.copy()
        kf.measurementMatrix = eye.copy()
        kf.processNoiseCov = eye * np.float32(self.noise)
        kf.measurementNoiseCov = eye.copy()  # detector noise ~1 % of the face size
        kf.errorCovPost = eye.copy()
        kf.statePost = z.astype(np.float32).reshape(-1, 1)
        self.kf = kf
        return z

    def update(self, z):
        self.kf.predict()
        return self.kf.correct(z.astype(np.float32).reshape(-1, 1))[:, 0].astype(np.float64)


class TrackSmoother:
    """Smooth one face's box and 5 points over time.

    Args:
        method: ``"kalman"`` (default), ``"moving-average"`` or ``"none"``.
        kalman_noise: Kalman process-noise coefficient (smaller = smoother).
        moving_average: weight of the past in the moving average, in ``[0, 1)``.
        max_jump: restart when the box centre moves more than this fraction
            of the box size between two observations.
        max_gap: restart when the face was missing for more than this many frames.
    """

    def __init__(self, method: str = "kalman", kalman_noise: float = DEFAULT_KALMAN_NOISE,
                 moving_average: float = DEFAULT_MOVING_AVERAGE, max_jump: float = 0.5, max_gap: int = 3):
        if method not in SMOOTHING_METHODS:
            raise FaceswapError(f"smoothing must be one of {', '.join(SMOOTHING_METHODS)}, got {method!r}")
        if kalman_noise <= 0:
            raise FaceswapError(f"the Kalman noise coefficient must be > 0, got {kalman_noise}")
        if not 0.0 <= moving_average < 1.0:
            raise FaceswapError(f"the moving-average coefficient must be within [0, 1), got {moving_average}")
        self.method = method
        if method == "kalman":
            self._filter = _Kalman(kalman_noise)
        elif method == "moving-average":
            self._filter = _MovingAverage(moving_average)
        else:
            self._filter = _NoFilter()
        self.max_jump = max_jump
        self.max_gap = max_gap
        self._scale = None  # pixels per smoothing unit, fixed at each restart
        self._origin = None
        self._last_box = None
        self._missing = 0
        self.restarts = 0

    def _needs_restart(self, box: np.ndarray) -> bool:
        if self._last_box is None or self._missing > self.max_gap:
            return True
        last = self._last_box
        size = box_size(last)
        jump = np.hypot((box[0] + box[2] - last[0] - last[2]) / 2, (box[1] + box[3] - last[1] - last[3]) / 2)
        return jump > self.max_jump * size or not 0.5 < box_size(box) / size < 2.0

    def update(self, box: np.ndarray, points5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed this frame's detection; returns the smoothed ``(box (4,), points5 (5, 2))``."""
        box = np.asarray(box, dtype=np.float64).reshape(4)
        points5 = np.asarray(points5, dtype=np.float64).reshape(5, 2)
        raw = np.concatenate([box, points5.ravel()])
        if self._needs_restart(box):
            self._scale = box_size(box) / 100.0
            self._origin = np.tile(points5.mean(axis=0), 7)
            self._filter.restart((raw - self._origin) / self._scale)
            smooth = raw
            self.restarts += 1
        else:
            smooth = self._filter.update((raw - self._origin) / self._scale) * self._scale + self._origin
        self._last_box = box
        self._missing = 0
        return smooth[:4].copy(), smooth[4:].reshape(5, 2).copy()

    def miss(self) -> None:
        """Tell the smoother this frame had no face for this track."""
        self._missing += 1

    def reset(self) -> None:
        """Forget the track (the next update restarts)."""
        self._last_box = None
        self._missing = 0


def box_jitter(boxes) -> float:
    """Mean frame-to-frame movement (pixels) of a box's two corners, over
    consecutive frames that both have a box (``None`` or NaN rows = no face)."""
    moves = []
    prev = None
    for box in boxes:
        box = None if box is None else np.asarray(box, dtype=np.float64).reshape(-1)
        if box is None or box.size != 4 or not np.isfinite(box).all():
            prev = None
            continue
        if prev is not None:
            moves.append(np.hypot(*(box[:2] - prev[:2])) / 2 + np.hypot(*(box[2:] - prev[2:])) / 2)
        prev = box
    return float(np.mean(moves)) if moves else 0.0
