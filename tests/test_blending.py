"""Feathered blend masks, exact paste-back, output layouts."""
import numpy as np
import pytest

from faceswap_parts.faces.alignment import align_face
from faceswap_parts.conversion.blending import edge_mask, paste_back
from faceswap_parts.io.layouts import compose, layout_of, output_size, result_panel
from faceswap_parts.errors import FaceswapError

POINTS = np.array([[220, 240], [290, 240], [255, 280], [228, 315], [285, 315]], dtype=np.float64)


def test_edge_mask_is_feathered_and_zero_outside_the_roi():
    mask = edge_mask(64, 0.9, 0.15)
    assert mask.shape == (64, 64) and mask.dtype == np.float32
    assert mask.min() == 0.0 and mask.max() == 1.0
    assert (mask[0] == 0).all() and (mask[:, -1] == 0).all()
    assert mask[32, 32] == 1.0 and 0 < mask[32, 5] < 1
    assert edge_mask(64, 0.5, 0.1)[32, 10] == 0.0  # outside a smaller ROI


def test_paste_back_changes_only_weighted_pixels(astronaut):
    frame = astronaut.copy()
    crop, matrix = align_face(frame, POINTS, size=64, coverage=0.625)
    face = np.full_like(crop, 255) - crop
    weight = np.zeros((64, 64), np.float32)
    weight[20:44, 20:44] = 1.0
    alpha = np.zeros(frame.shape[:2], np.float32)
    out = paste_back(frame.copy(), face, weight, matrix, out_alpha=alpha)
    changed = (out != frame).any(axis=2)
    assert changed.sum() > 500
    assert not changed[alpha == 0].any()
    # an extra frame-level mask (a parts mask) confines the change exactly
    parts = np.zeros(frame.shape[:2], np.float32)
    parts[250:270, 200:320] = 1.0
    out = paste_back(frame.copy(), face, weight, matrix, frame_weight=parts)
    changed = (out != frame).any(axis=2)
    assert changed.any() and not changed[parts == 0].any()


def test_zero_weight_or_crop_outside_the_frame_leaves_the_frame_identical(astronaut):
    frame = astronaut.copy()
    crop, matrix = align_face(frame, POINTS, size=64, coverage=0.625)
    assert np.array_equal(paste_back(frame.copy(), crop, np.zeros((64, 64), np.float32), matrix), frame)
    _, far = align_face(frame, POINTS + 5000, size=64, coverage=0.625)
    assert np.array_equal(paste_back(frame.copy(), crop, np.ones((64, 64), np.float32), far), frame)


@pytest.mark.parametrize("kind,panels", [("result", 1), ("side-by-side", 2), ("triple", 3)])
def test_layouts(kind, panels):
    frame = np.zeros((20, 30, 3), np.uint8)
    result = np.full_like(frame, 7)
    alpha = np.full((20, 30), 0.5, np.float32)
    out = compose(kind, frame, result, alpha)
    assert out.shape == (20, 30 * panels, 3) and output_size(kind, (30, 20)) == (30 * panels, 20)
    assert (out[:, -30:] == (7 if kind != "triple" else 128)).all()
    # evaluation finds the layout from the two frame sizes and takes the result back out
    assert layout_of((out.shape[1], out.shape[0]), (30, 20)) == kind
    assert np.array_equal(result_panel(out, kind), result)
    assert layout_of((45, 20), (30, 20)) is None
    with pytest.raises(FaceswapError):
        output_size("quad", (30, 20))
