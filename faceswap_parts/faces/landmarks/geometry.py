"""Geometry of iBUG 68-point landmarks ``(..., 68, 2)``: eye centres and
the inter-ocular scale, eye and mouth opening, a head-pose proxy. Used by the
evaluation scores and by the look-alike search of training."""
from __future__ import annotations

import numpy as np

from faceswap_parts.faces.landmarks.ibug68 import INNER_LIP_BOTTOM, INNER_LIP_TOP, LEFT_EYE, MOUTH, NOSE_TIP, RIGHT_EYE


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right eye centres ``(..., 2)`` of ``(..., 68, 2)`` landmarks."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    return landmarks[..., LEFT_EYE, :].mean(axis=-2), landmarks[..., RIGHT_EYE, :].mean(axis=-2)


def inter_ocular(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the eye centres, the scale every landmark score is divided by."""
    left, right = eye_centres(landmarks)
    return np.linalg.norm(right - left, axis=-1)


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip gap (points 62-66) divided by the inter-ocular distance."""
    landmarks = np.asarray(landmarks, np.float64)
    gap = np.linalg.norm(landmarks[..., INNER_LIP_TOP, :] - landmarks[..., INNER_LIP_BOTTOM, :], axis=-1)
    return gap / inter_ocular(landmarks)


def eye_opening(landmarks: np.ndarray) -> np.ndarray:
    """Eye aspect ratio (lid gap over eye width) averaged over both eyes."""
    landmarks = np.asarray(landmarks, np.float64)
    ratios = []
    for eye in (LEFT_EYE, RIGHT_EYE):
        p = landmarks[..., eye, :]
        gap = np.linalg.norm(p[..., 1, :] - p[..., 5, :], axis=-1) + np.linalg.norm(p[..., 2, :] - p[..., 4, :], axis=-1)
        ratios.append(gap / (2.0 * np.linalg.norm(p[..., 0, :] - p[..., 3, :], axis=-1)))
    return (ratios[0] + ratios[1]) / 2.0


def head_pose(landmarks: np.ndarray) -> np.ndarray:
    """Head-pose proxy ``(..., 3)``: yaw, pitch (unitless) and roll (degrees).

    Yaw is the nose tip's offset along the eye line from the eyes' midpoint;
    pitch is the nose tip's distance below the eye line relative to the
    mouth's, minus 0.5; both in inter-ocular units. Roll is the eye line's
    angle. Good enough to tell whether two faces point the same way.
    """
    landmarks = np.asarray(landmarks, np.float64)
    left, right = eye_centres(landmarks)
    axis = right - left
    iod = np.linalg.norm(axis, axis=-1, keepdims=True)
    along = axis / iod
    down = np.stack([-along[..., 1], along[..., 0]], axis=-1)  # eye line rotated 90 degrees, towards the chin
    mid = (left + right) / 2.0
    nose = landmarks[..., NOSE_TIP, :] - mid
    mouth = landmarks[..., MOUTH, :].mean(axis=-2) - mid
    yaw = (nose * along).sum(-1) / iod[..., 0]
    pitch = (nose * down).sum(-1) / np.maximum((mouth * down).sum(-1), 1e-9) - 0.5
    roll = np.degrees(np.arctan2(axis[..., 1], axis[..., 0]))
    return np.stack([yaw, pitch, roll], axis=-1)
