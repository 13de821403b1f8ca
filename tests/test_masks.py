"""Part masks drawn from real 68-point landmarks."""
from __future__ import annotations

import numpy as np
import pytest

from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.landmarks import ibug68
from faceswap_parts.faces.masks import PARTS, parse_parts, parts_mask


@pytest.fixture(scope="module")
def faces(grace_hopper, astronaut):
    """(image, landmarks) of two real portraits, landmarks from dlib on MTCNN boxes."""
    from faceswap_parts.faces.detection import FaceDetector
    from faceswap_parts.faces.landmarks import get_landmarker

    detector = FaceDetector(device="cpu", min_face_size=60)
    landmarker = get_landmarker("dlib")
    out = []
    for image in (grace_hopper, astronaut):
        boxes, _, points = detector.detect(image)
        out.append((image, landmarker.predict(image, boxes[:1], points[:1])[0]))
    return out


def _at(mask, points):
    points = np.round(np.asarray(points)).astype(int)
    return mask[points[:, 1], points[:, 0]]


def test_eye_mask_covers_the_eyes_only(faces):
    for image, lm in faces:
        mask = parts_mask(lm, image.shape[:2], ("eyes",))
        assert mask.shape == image.shape[:2] and mask.dtype == np.float32
        assert 0.0 <= mask.min() and mask.max() <= 1.0
        assert (_at(mask, lm[36:48]) > 0.9).all()  # every eye contour point
        eye_centres = ibug68.points5_from_68(lm)[:2]
        assert (_at(mask, eye_centres) > 0.99).all()
        assert (_at(mask, lm[[30, 33, 51, 57, 8]]) < 0.01).all()  # nose tip, mouth, chin
        # Two blobs, each a few times an eye's own hull, far less than the face.
        face = parts_mask(lm, image.shape[:2], ("face",))
        assert 0.03 < (mask > 0.5).sum() / (face > 0.5).sum() < 0.25


def test_nose_and_mouth_masks_cover_their_landmarks_not_the_eyes(faces):
    for image, lm in faces:
        centres = ibug68.points5_from_68(lm)[:2]
        nose = parts_mask(lm, image.shape[:2], "nose")
        mouth = parts_mask(lm, image.shape[:2], "mouth")
        assert (_at(nose, lm[ibug68.NOSE]) > 0.5).all()
        assert (_at(mouth, lm[ibug68.MOUTH]) > 0.5).all()
        assert (_at(nose, centres) < 0.01).all() and (_at(mouth, centres) < 0.01).all()
        assert (_at(mouth, lm[[27, 30]]) < 0.01).all()  # nose bridge and tip
        brows = parts_mask(lm, image.shape[:2], "eyebrows")
        assert (_at(brows, lm[17:27]) > 0.5).all() and (_at(brows, lm[[30, 51]]) < 0.01).all()


def test_combinations_are_unions_and_face_covers_all(faces):
    image, lm = faces[0]
    shape = image.shape[:2]
    combined = parts_mask(lm, shape, ("eyes", "mouth"))
    # masks are float32 in [0, 1]: "equal" means within a few float32 roundings (1 ulp at 1.0 is 6e-8),
    # since the union is computed in another order than the maximum taken here
    union = np.maximum(parts_mask(lm, shape, "eyes"), parts_mask(lm, shape, "mouth"))
    np.testing.assert_allclose(combined, union, rtol=0, atol=1e-6)
    np.testing.assert_allclose(parts_mask(lm, shape, "eyes,mouth"), combined, rtol=0, atol=1e-6)
    face = parts_mask(lm, shape, "face")
    assert (_at(face, lm[17:]) > 0.4).all()


def test_binary_masks_are_the_soft_masks_thresholded(faces):
    image, lm = faces[1]
    soft = parts_mask(lm, image.shape[:2], "eyes")
    hard = parts_mask(lm, image.shape[:2], "eyes", binary=True)
    assert set(np.unique(hard)) == {0.0, 1.0}
    assert ((soft > 0) & (soft < 1)).any()  # feathered edge
    agree = ((soft > 0.5) == (hard > 0.5)).mean()
    assert agree > 0.999


@pytest.mark.parametrize("part", PARTS)
def test_masks_scale_with_face_size(faces, part):
    """The same face drawn at 64 px and 512 px covers the same fraction."""
    image, lm = faces[1]
    lm = lm - lm.min(0)
    extent = lm.max()
    fractions = []
    for size in (64, 512):
        scaled = lm / extent * size * 0.6 + size * 0.2
        fractions.append((parts_mask(scaled, (size, size), part) > 0.5).mean())
    assert fractions[0] > 0
    assert abs(fractions[0] - fractions[1]) < 0.3 * fractions[1], fractions


def test_parts_outside_the_image_give_an_empty_mask(faces):
    _, lm = faces[0]
    assert parts_mask(lm + 5000, (100, 100), "eyes").max() == 0.0


def test_part_names_are_checked():
    assert parse_parts("eyes, Nose+mouth") == ("eyes", "nose", "mouth")
    assert parse_parts("all") == ("eyes", "eyebrows", "nose", "mouth")
    with pytest.raises(FaceswapError, match="unknown face part 'ears'"):
        parse_parts("eyes,ears")
    with pytest.raises(FaceswapError, match="no face part"):
        parse_parts("")
    with pytest.raises(ValueError, match="68"):
        parts_mask(np.zeros((5, 2)), (10, 10))
