"""5-point similarity alignment to a fixed face template, and the inverse
warp that pastes a processed crop back into its frame.

Points are ``(x, y)`` in this order: left eye, right eye (as seen in the
image), nose tip, left mouth corner, right mouth corner: MTCNN's order.

The template is the ArcFace 112x112 layout shrunk by :data:`FACE_COVERAGE`
about the crop centre, so a crop at ``coverage=1.0`` shows the whole head with
margin (what extraction saves), and its central ``FACE_COVERAGE`` fraction is
the tight eyebrows-to-chin face the model is trained on.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

from faceswap_parts.options import FACE_COVERAGE

_ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]]) / 112.0
#: The 5 template points in ``[0, 1]`` crop coordinates at ``coverage=1.0``.
TEMPLATE = 0.5 + (_ARCFACE_112 - 0.5) * FACE_COVERAGE


def template_points(size: int, coverage: float = 1.0) -> np.ndarray:
    """Template points in pixels for a ``size``-pixel crop showing the central
    ``coverage`` fraction of the full aligned face."""
    return ((TEMPLATE - 0.5) / coverage + 0.5) * size


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity transform mapping ``src`` points onto ``dst`` (scikit-image)."""
    if hasattr(SimilarityTransform, "from_estimate"):  # scikit-image >= 0.26
        tform = SimilarityTransform.from_estimate(src, dst)
        if not tform:
            raise ValueError("degenerate landmarks: cannot estimate a similarity transform")
    else:
        tform = SimilarityTransform()
        if not tform.estimate(src, dst):
            raise ValueError("degenerate landmarks: cannot estimate a similarity transform")
    return tform.params[:2].astype(np.float64)


def alignment_matrix(points5: np.ndarray, size: int, coverage: float = 1.0) -> np.ndarray:
    """2x3 matrix mapping frame pixels to aligned-crop pixels (least-squares similarity)."""
    points5 = np.asarray(points5, dtype=np.float64).reshape(5, 2)
    return similarity_matrix(points5, template_points(size, coverage))


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix (crop pixels to frame pixels)."""
    return cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to ``(N, 2)`` points."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return points @ matrix[:, :2].T + matrix[:, 2]


def align_face(image: np.ndarray, points5: np.ndarray, size: int = 256, coverage: float = 1.0,
               border: int = cv2.BORDER_REPLICATE) -> tuple[np.ndarray, np.ndarray]:
    """Aligned ``size`` x ``size`` crop of the face and the frame-to-crop matrix.

    Args:
        image: RGB (or any channel count) frame.
        points5: the face's 5 landmarks in frame pixels.
        size: crop side in pixels.
        coverage: fraction of the full aligned face shown (1.0 = whole head
            with margin; :data:`FACE_COVERAGE` = model input).
        border: OpenCV border mode for pixels outside the frame.
    """
    matrix = alignment_matrix(points5, size, coverage)
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    return crop, matrix


def warp_back(crop: np.ndarray, matrix: np.ndarray, frame_size: tuple[int, int],
              interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Warp a crop (image or mask) made with ``matrix`` back into frame
    coordinates; ``frame_size`` is ``(width, height)``. Outside pixels are 0."""
    return cv2.warpAffine(crop, matrix, tuple(int(v) for v in frame_size),
                          flags=interpolation | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)


def center_crop(images: np.ndarray, resolution: int, coverage: float) -> np.ndarray:
    """The central ``coverage`` fraction of (N,S,S,C) aligned faces resized to
    ``resolution``: what the model sees at conversion."""
    size = images.shape[1]
    side = max(1, round(size * coverage))
    start = (size - side) // 2
    crops = images[:, start:start + side, start:start + side]
    interp = cv2.INTER_AREA if side > resolution else cv2.INTER_CUBIC
    return np.stack([cv2.resize(c, (resolution, resolution), interpolation=interp).reshape(resolution, resolution, -1)
                     for c in crops])
