"""Box/landmark smoothing: OpenCV's Kalman filter, moving average, restarts."""
import numpy as np
import pytest

from faceswap_parts.faces.smoothing import TrackSmoother, box_jitter
from faceswap_parts.errors import FaceswapError

BOX = np.array([100.0, 120.0, 300.0, 320.0])
POINTS = np.array([[160, 190], [240, 190], [200, 230], [170, 270], [230, 270]], dtype=np.float64)


def noisy_track(n=120, sigma=3.0, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        shift = rng.normal(0, sigma, 2)
        yield BOX + np.tile(shift, 2), POINTS + shift + rng.normal(0, 0.5, (5, 2))


@pytest.mark.parametrize("method", ["kalman", "moving-average"])
def test_smoothing_reduces_jitter(method):
    jitters = {}
    for name in (method, "none"):
        smoother = TrackSmoother(name)
        jitters[name] = box_jitter([smoother.update(b, p)[0] for b, p in noisy_track()])
    assert jitters[method] < 0.6 * jitters["none"]


def test_kalman_uses_opencv_filter():
    import cv2

    smoother = TrackSmoother("kalman")
    smoother.update(BOX, POINTS)
    smoother.update(BOX + 1, POINTS + 1)
    assert isinstance(smoother._filter.kf, cv2.KalmanFilter)


@pytest.mark.parametrize("method", ["kalman", "moving-average", "none"])
def test_jump_restarts_instead_of_dragging(method):
    smoother = TrackSmoother(method)
    for b, p in noisy_track(30, sigma=1.0):
        smoother.update(b, p)
    far = np.array([400.0, 50.0, 600.0, 250.0])
    box, points = smoother.update(far, POINTS + 300)
    np.testing.assert_allclose(box, far)
    np.testing.assert_allclose(points, POINTS + 300)


def test_gap_restarts_and_short_gap_does_not():
    smoother = TrackSmoother("kalman", max_gap=3)
    for b, p in noisy_track(30, sigma=1.0):
        smoother.update(b, p)
    restarts = smoother.restarts
    smoother.miss()
    nearby = BOX + 4.0
    box, _ = smoother.update(nearby, POINTS + 4.0)
    assert smoother.restarts == restarts and not np.allclose(box, nearby)  # still smoothing
    for _ in range(4):
        smoother.miss()
    box, _ = smoother.update(nearby, POINTS + 4.0)
    assert smoother.restarts == restarts + 1
    np.testing.assert_allclose(box, nearby)


def test_smoother_tracks_slow_motion_without_drifting_away():
    smoother = TrackSmoother("kalman")
    for t in range(60):
        box, _ = smoother.update(BOX + t, POINTS + t)
    np.testing.assert_allclose(box, BOX + 59, atol=2.0)


@pytest.mark.parametrize("kwargs", [dict(method="median"), dict(kalman_noise=0), dict(moving_average=1.0)])
def test_bad_settings_are_one_line_errors(kwargs):
    with pytest.raises(FaceswapError):
        TrackSmoother(**kwargs)


def test_box_jitter_skips_missing_frames():
    assert box_jitter([BOX, None, BOX + 100, BOX + 101]) == pytest.approx(np.sqrt(2))
    assert box_jitter([None, BOX]) == 0.0
