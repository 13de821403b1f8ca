"""5-point alignment and image I/O on real faces."""
import numpy as np
import pytest

from faceswap_parts.faces import alignment
from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.images import read_image, to_rgb, write_image


def test_alignment_maps_points_to_template():
    rng = np.random.default_rng(0)
    template = alignment.template_points(256)
    angle = 0.3
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    frame_points = template @ rot.T * 1.7 + [40, 25]
    matrix = alignment.alignment_matrix(frame_points + rng.normal(0, 0.01, (5, 2)), 256)
    np.testing.assert_allclose(alignment.transform_points(frame_points, matrix), template, atol=0.1)
    back = alignment.transform_points(template, alignment.invert(matrix))
    np.testing.assert_allclose(back, frame_points, atol=0.1)


def test_coverage_zooms_about_centre():
    full = alignment.template_points(100, 1.0)
    tight = alignment.template_points(100, 0.5)
    np.testing.assert_allclose(tight - 50, (full - 50) * 2, rtol=0, atol=1e-9)


def test_align_and_warp_back_round_trip(astronaut):
    # the astronaut's eyes, nose tip and mouth corners, read off the 512x512 image by eye
    points = np.array([[198, 102], [245, 100], [222, 124], [203, 146], [243, 144]], float)
    crop, matrix = alignment.align_face(astronaut, points, size=128)
    assert crop.shape == (128, 128, 3)
    back = alignment.warp_back(crop, matrix, (512, 512))
    face = (slice(90, 160), slice(190, 255))
    err = np.abs(back[face].astype(int) - astronaut[face].astype(int)).mean()
    assert err < 12  # two bilinear resamplings of a downscaled crop
    # eyes land level at the template's eye height: upright crop
    eyes = alignment.transform_points(points[:2], matrix)
    assert abs(eyes[0, 1] - eyes[1, 1]) < 1.5
    np.testing.assert_allclose(eyes, alignment.template_points(128)[:2], atol=2.0)


def test_degenerate_points_raise():
    with pytest.raises(ValueError):
        alignment.alignment_matrix(np.zeros((5, 2)), 64)


def test_image_io_handles_gray_alpha_and_bad_files(tmp_path, grace_hopper):
    assert grace_hopper.shape == (600, 512, 3) and grace_hopper.dtype == np.uint8
    gray = tmp_path / "gray.png"
    write_image(gray, grace_hopper[..., 0])
    assert read_image(gray).shape == (600, 512, 3)
    rgba = np.dstack([grace_hopper, np.full(grace_hopper.shape[:2], 128, np.uint8)])
    write_image(tmp_path / "rgba.png", rgba[..., :3])
    assert to_rgb(rgba).shape == (600, 512, 3)
    assert to_rgb(np.zeros((4, 4, 2), np.uint8)).shape == (4, 4, 3)
    assert to_rgb(np.full((4, 4), 65535, np.uint16)).max() == 255
    rt = tmp_path / "rt.png"
    write_image(rt, grace_hopper)
    np.testing.assert_array_equal(read_image(rt), grace_hopper)
    (tmp_path / "junk.png").write_text("not an image")
    with pytest.raises(FaceswapError, match="not an image"):
        read_image(tmp_path / "junk.png")
    with pytest.raises(FaceswapError, match="not found"):
        read_image(tmp_path / "none.png")
