"""Colour correction moves the generated face's statistics toward the frame's."""
import numpy as np
import pytest

from faceswap_parts.conversion.color import COLOR_MODES, color_correct
from faceswap_parts.errors import FaceswapError


@pytest.fixture(scope="module")
def pair(astronaut):
    reference = np.ascontiguousarray(astronaut[60:188, 160:288])  # her face, 128x128
    # the "generated" face: same content, tinted, darker and flatter
    face = np.clip(reference.astype(np.float32) * [0.6, 0.8, 1.1] * 0.7 + [10, 40, 5], 0, 255).astype(np.uint8)
    return face, reference


def _stats_distance(a, b):
    a, b = a.reshape(-1, 3).astype(np.float64), b.reshape(-1, 3).astype(np.float64)
    return np.abs(a.mean(0) - b.mean(0)).sum() + np.abs(a.std(0) - b.std(0)).sum()


@pytest.mark.parametrize("mode", [m for m in COLOR_MODES if m not in ("none", "mean")])
def test_each_mode_moves_statistics_toward_the_frame(pair, mode):
    face, reference = pair
    out = color_correct(face, reference, mode)
    assert out.shape == face.shape and out.dtype == np.uint8
    assert _stats_distance(out, reference) < 0.3 * _stats_distance(face, reference)


def test_mean_moves_the_tint_and_keeps_the_faces_own_contrast(pair):
    face, reference = pair
    out = color_correct(face, reference, "mean").reshape(-1, 3).astype(np.float64)
    flat_face, flat_ref = face.reshape(-1, 3).astype(np.float64), reference.reshape(-1, 3).astype(np.float64)
    assert np.abs(out.mean(0) - flat_ref.mean(0)).max() < 2  # clipping at 0 and 255 costs a little
    assert np.abs(out.std(0) - flat_face.std(0)).max() < 2 < np.abs(flat_face.std(0) - flat_ref.std(0)).min()


def test_adain_amplifies_a_blurred_faces_colour_errors_and_mean_does_not(pair):
    """An early model's face: blurred (half the frame's contrast), with dark, slightly off-colour eyes.
    AdaIN scales each channel by the sharp frame's std over the blurred face's, so the eyes' colour
    error grows; a mean shift leaves it as it is."""
    import cv2

    _, reference = pair
    mask = np.zeros(reference.shape[:2], np.float32)
    mask[30:110, 30:100] = 1
    face = cv2.GaussianBlur(reference, (0, 0), 10).astype(np.float32)
    face[40:56, 35:95] -= [20, 35, 25]
    face = np.clip(face, 0, 255).astype(np.uint8)
    eyes = np.zeros(mask.shape, bool)
    eyes[40:56, 35:95] = True

    def eye_colour_error(image):  # the eyes' colour against the rest of the face, less its grey part
        offset = image[eyes].mean(0) - image[(mask > 0) & ~eyes].mean(0)
        return np.abs(offset - offset.mean()).max()

    before = eye_colour_error(face)
    assert eye_colour_error(color_correct(face, reference, "adain", mask)) > 1.3 * before
    assert eye_colour_error(color_correct(face, reference, "mean", mask)) == pytest.approx(before, abs=1)


def test_statistics_come_from_the_mask(pair):
    face, reference = pair
    mask = np.zeros(face.shape[:2], np.float32)
    mask[32:96, 32:96] = 1.0
    target = reference.copy()
    target[mask == 0] = 255  # outside the mask: ignored
    out = color_correct(face, target, "adain", mask)
    inside = mask > 0.5
    assert _stats_distance(out[inside], reference[inside]) < 0.3 * _stats_distance(face[inside], reference[inside])


def test_none_is_identity_and_unknown_mode_is_an_error(pair):
    face, reference = pair
    assert color_correct(face, reference, "none") is face
    with pytest.raises(FaceswapError):
        color_correct(face, reference, "lab")


@pytest.mark.parametrize("mode", [m for m in COLOR_MODES if m != "none"])
def test_a_batch_is_corrected_face_by_face(pair, mode):
    face, reference = pair
    faces = np.stack([face, face[::-1], 255 - face])
    references = np.stack([reference, reference, reference[:, ::-1]])
    masks = np.stack([np.ones(face.shape[:2], np.float32), np.zeros(face.shape[:2], np.float32),  # too small: all
                      np.pad(np.ones((64, 64), np.float32), 32)])
    batch = color_correct(faces, references, mode, masks)
    for i in range(3):
        single = color_correct(faces[i], references[i], mode, masks[i])
        assert np.abs(batch[i].astype(int) - single).max() <= 1
