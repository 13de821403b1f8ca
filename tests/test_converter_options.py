"""Converter options of the original that were missing: --detect-threshold,
--blend feather|seamless, --enhance, and still images in and out."""
from __future__ import annotations

import numpy as np
import pytest

from faceswap_parts.cli import main
from faceswap_parts.conversion import ConverterConfig, VideoConverter
from faceswap_parts.conversion.blending import enhance_contrast, paste_back
from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.images import read_image, write_image


def _edge_step(frame: np.ndarray, alpha: np.ndarray) -> float:
    """Mean absolute colour step across the blend's edge (alpha crossing 0.5)."""
    inside = alpha >= 0.5
    edge = inside & ~np.roll(inside, 1, axis=1)
    return float(np.abs(frame[edge].astype(float) - np.roll(frame, 1, axis=1)[edge].astype(float)).mean())


def test_seamless_blend_takes_the_frames_colours_at_the_edge(grace_hopper):
    frame = np.ascontiguousarray(grace_hopper[100:356, 150:406])
    face = np.clip(frame.astype(int) + 60, 0, 255).astype(np.uint8)  # the same face, much brighter
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    weight = np.zeros((256, 256), np.float32)
    weight[64:192, 64:192] = 1.0  # a hard-edged square
    steps = {}
    for blend in ("feather", "seamless"):
        out = frame.copy()
        alpha = np.zeros(frame.shape[:2], np.float32)
        paste_back(out, face, weight, identity, out_alpha=alpha, blend=blend)
        steps[blend] = _edge_step(out, alpha)
    assert steps["seamless"] < 0.5 * steps["feather"], steps
    # Outside the weights nothing changes, whichever the blend.
    assert np.array_equal(out[:60], frame[:60])


def test_enhance_raises_local_contrast_and_zero_is_off(grace_hopper):
    import cv2

    face = cv2.resize(grace_hopper[100:356, 150:406], (64, 64), interpolation=cv2.INTER_AREA)
    assert enhance_contrast(face, 0.0) is face
    sharp = lambda im: cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()  # noqa: E731
    assert sharp(enhance_contrast(face, 0.5)) > 1.5 * sharp(face)
    assert abs(enhance_contrast(face, 1.0).mean() - face.mean()) < 2.0  # the colours stay


def test_detect_threshold_reaches_the_detector(model, grace_hopper):
    strict = VideoConverter(model, ConverterConfig(detect_threshold=0.99999, device="cpu"))
    assert strict.detector_for((512, 512)).thresholds[2] == 0.99999
    assert strict.convert_image(grace_hopper) is grace_hopper  # Grace Hopper scores 0.9998: not a face now
    usual = VideoConverter(model, ConverterConfig(device="cpu"))
    assert usual.convert_image(grace_hopper) is not grace_hopper


@pytest.mark.parametrize("field, value, words", [
    ("blend", "poisson", "--blend must be one of feather, seamless"),
    ("enhance", 1.5, "--enhance must be within [0, 1]"),
    ("detect_threshold", 1.0, "--detect-threshold must be within (0, 1)"),
])
def test_bad_values_are_one_line_errors(field, value, words):
    with pytest.raises(FaceswapError) as err:
        ConverterConfig(**{field: value})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_still_image_in_image_out(workdir, grace_hopper, tmp_path, capsys):
    src = tmp_path / "hopper.jpg"
    write_image(src, grace_hopper)
    out = tmp_path / "swapped.png"
    assert main(["convert", str(src), "--model", str(workdir), "--out", str(out), "--device", "cpu",
                 "--blend", "seamless", "--enhance", "0.3", "--quiet"]) == 0
    assert "a face swapped" in capsys.readouterr().out
    result, original = read_image(out), read_image(src)
    assert result.shape == original.shape
    changed = np.abs(result.astype(int) - original.astype(int)).max(axis=2) > 8
    ys, xs = np.nonzero(changed)
    assert changed.mean() > 0.02 and 150 < xs.mean() < 380 and 100 < ys.mean() < 360  # on the face, not elsewhere
    for option, value, words in (("--blend", "poisson", "--blend must be one of feather, seamless"),
                                 ("--enhance", "2", "--enhance must be within [0, 1]"),
                                 ("--detect-threshold", "0", "--detect-threshold must be within (0, 1)")):
        assert main(["convert", str(src), "--model", str(workdir), "--out", str(out), option, value]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
    # An image in, a video out (or the input itself) is refused in one line, before any model loads.
    for bad, words in ((tmp_path / "x.mp4", "must be an image file"), (src, "refusing to overwrite the input")):
        assert main(["convert", str(src), "--model", str(tmp_path / "nowhere"), "--out", str(bad)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err


def test_mask_modes_blend_with_the_learned_mask_the_face_hull_or_both(model, grace_hopper):
    """``face`` pastes the whole crop inside the 68-point hull, ``learned+face`` is the learned
    mask cut to that hull, ``learned`` (default) the attention mask alone."""
    from faceswap_parts.faces.landmarks import get_landmarker

    try:
        landmarker = get_landmarker("dlib")
    except FaceswapError as err:
        pytest.skip(f"no dlib landmarks here: {err}")
    alphas = {}
    for mode in ("learned", "face", "learned+face"):
        swapper = VideoConverter(model, ConverterConfig(mask=mode, device="cpu", smoothing="none"),
                                 landmarker=landmarker)
        _, (alpha,) = swapper.swap_frames([grace_hopper], detect_all=True)
        alphas[mode] = alpha
    learned, face, both = alphas["learned"], alphas["face"], alphas["learned+face"]
    hull = face > 0.5
    # the untrained model's mask is about one half everywhere; the hull is 1 inside the face, 0 outside
    assert 0.2 < learned[hull].mean() < 0.8 and face[hull].mean() > 0.9
    assert (face[~hull] < 0.5).all() and face.sum() < learned.sum() * 4
    assert (learned > 0.05).sum() > (both > 0.05).sum()  # cut to the hull
    inside, outside = face > 0.99, face < 0.01  # the hull's interior and the frame beyond its feathered edge
    np.testing.assert_allclose(both[inside], learned[inside], atol=0.02)
    assert both[outside].max() < 0.01 and learned[outside & (learned > 0)].size > 0
    ys, xs = np.nonzero(hull)
    assert 180 < xs.mean() < 360 and 150 < ys.mean() < 330  # on Grace Hopper's face
    with pytest.raises(FaceswapError, match="--mask must be one of learned, face, learned\\+face"):
        ConverterConfig(mask="hull")
