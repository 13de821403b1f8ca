"""The iBUG 300-W 68-point layout: index groups, a mean face shape in
aligned-crop coordinates, and conversions to the 5 points alignment uses.

Indices follow the usual 0-based iBUG order: jaw 0-16, eyebrows 17-26, nose
27-35, eyes 36-47, mouth 48-67. "Left" means left *in the image* (the
subject's right), as in :mod:`faceswap_parts.faces.alignment`.
"""
from __future__ import annotations

import numpy as np

JAW = slice(0, 17)
LEFT_EYEBROW = slice(17, 22)
RIGHT_EYEBROW = slice(22, 27)
NOSE = slice(27, 36)
NOSE_TIP = 30
LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)
MOUTH = slice(48, 68)
OUTER_LIPS = slice(48, 60)
LEFT_MOUTH_CORNER = 48
RIGHT_MOUTH_CORNER = 54
INNER_LIP_TOP, INNER_LIP_BOTTOM = 62, 66

#: Median dlib 68-point shape of 35 real faces aligned with
#: :func:`faceswap_parts.faces.alignment.align_face` (coverage 1.0), in ``[0, 1]``
#: crop coordinates. Used to place points when only 5 are known.
MEAN_SHAPE = np.array([
    [0.2726, 0.4884], [0.2742, 0.5512], [0.2829, 0.6103], [0.2943, 0.6667],
    [0.3128, 0.7232], [0.3491, 0.7725], [0.3923, 0.8156], [0.4443, 0.8490],
    [0.4997, 0.8552], [0.5593, 0.8466], [0.6101, 0.8157], [0.6498, 0.7762],
    [0.6826, 0.7295], [0.7053, 0.6728], [0.7144, 0.6132], [0.7196, 0.5516],
    [0.7207, 0.4915], [0.3154, 0.4436], [0.3405, 0.4149], [0.3816, 0.4037],
    [0.4240, 0.4074], [0.4637, 0.4218], [0.5333, 0.4243], [0.5746, 0.4107],
    [0.6162, 0.4056], [0.6572, 0.4114], [0.6840, 0.4434], [0.4999, 0.4693],
    [0.5002, 0.5070], [0.5003, 0.5464], [0.5012, 0.5880], [0.4546, 0.6144],
    [0.4768, 0.6212], [0.5012, 0.6302], [0.5235, 0.6223], [0.5459, 0.6157],
    [0.3626, 0.4825], [0.3848, 0.4679], [0.4146, 0.4691], [0.4404, 0.4830],
    [0.4135, 0.4918], [0.3844, 0.4921], [0.5596, 0.4860], [0.5847, 0.4686],
    [0.6137, 0.4696], [0.6364, 0.4873], [0.6148, 0.4940], [0.5857, 0.4929],
    [0.4187, 0.7005], [0.4475, 0.6834], [0.4774, 0.6736], [0.5006, 0.6793],
    [0.5256, 0.6746], [0.5559, 0.6836], [0.5846, 0.7014], [0.5557, 0.7265],
    [0.5262, 0.7419], [0.5002, 0.7441], [0.4763, 0.7406], [0.4462, 0.7275],
    [0.4320, 0.7010], [0.4778, 0.6930], [0.5002, 0.6955], [0.5253, 0.6944],
    [0.5728, 0.7017], [0.5249, 0.7112], [0.5002, 0.7127], [0.4766, 0.7112]

], dtype=np.float32)

#: Where dlib's frontal face detector puts its box in the same aligned crop:
#: centre ``(x, y)`` and side, as fractions of the crop (measured on the same
#: faces; spread about 0.02). The dlib shape predictor was trained on boxes
#: like these, so feeding it this box makes it accurate whatever detector
#: found the face.
DLIB_BOX_IN_CROP = (0.496, 0.575, 0.476)


def points5_from_68(landmarks68: np.ndarray) -> np.ndarray:
    """The 5 alignment points (eye centres, nose tip, mouth corners) of a
    ``(68, 2)`` or ``(N, 68, 2)`` landmark array."""
    pts = np.asarray(landmarks68, dtype=np.float32)
    return np.stack([pts[..., LEFT_EYE, :].mean(-2), pts[..., RIGHT_EYE, :].mean(-2), pts[..., NOSE_TIP, :],
                     pts[..., LEFT_MOUTH_CORNER, :], pts[..., RIGHT_MOUTH_CORNER, :]], axis=-2)
