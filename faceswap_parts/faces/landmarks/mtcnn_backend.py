"""Approximate 68 landmarks from the detector's 5 points alone.

A mean face shape (:data:`~faceswap_parts.faces.landmarks.ibug68.MEAN_SHAPE`) is
placed with the 5-point alignment, then the eyes, nose and mouth are moved
onto their detected points. Eye boxes and the mouth are where the face's are;
the contours (eyelid opening, lip shape, jaw line) are the average face's,
not this face's.
"""
from __future__ import annotations

import numpy as np

from faceswap_parts.faces.alignment import alignment_matrix, invert, transform_points
from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.landmarks import ibug68
from faceswap_parts.faces.landmarks._inputs import prepare


class MtcnnLandmarker:
    """68 approximate landmarks from 5 points; ``predict(image, boxes, points5)``."""

    name = "mtcnn"
    approximate = True

    def predict(self, image, boxes, points5=None) -> np.ndarray:
        """``(N, 68, 2)`` float32 image-pixel landmarks (approximate contours)."""
        _, boxes, points5 = prepare(image, boxes, points5)
        if points5 is None:
            raise FaceswapError("the mtcnn landmark backend needs the detector's 5 points")
        mean5 = ibug68.points5_from_68(ibug68.MEAN_SHAPE)
        out = np.zeros((len(boxes), 68, 2), dtype=np.float32)
        for i, p5 in enumerate(points5.astype(np.float64)):
            to_image = invert(alignment_matrix(p5, 1))  # mean shape is in [0, 1] crop units
            shape = transform_points(ibug68.MEAN_SHAPE, to_image)
            placed = transform_points(mean5, to_image)
            # Residuals of the least-squares fit: move each part onto its own point.
            shape[ibug68.LEFT_EYE] += p5[0] - placed[0]
            shape[ibug68.RIGHT_EYE] += p5[1] - placed[1]
            shape[ibug68.NOSE.start + 2:ibug68.NOSE.stop] += p5[2] - placed[2]
            # The mouth follows its two corners (a similarity from the mean corners).
            src = placed[3:5]
            dst = p5[3:5]
            sv, dv = src[1] - src[0], dst[1] - dst[0]
            scale = np.linalg.norm(dv) / max(np.linalg.norm(sv), 1e-6)
            angle = np.arctan2(dv[1], dv[0]) - np.arctan2(sv[1], sv[0])
            rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            mouth = shape[ibug68.MOUTH]
            shape[ibug68.MOUTH] = (mouth - src.mean(0)) @ rot.T + dst.mean(0)
            out[i] = shape
        return out
