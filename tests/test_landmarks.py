"""68-point landmark backends on real faces (package-shipped portraits and ../shared/data stills)."""
from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest

from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.landmarks import BACKENDS, get_landmarker, ibug68

HAS_FAN = importlib.util.find_spec("face_alignment") is not None


@pytest.fixture(scope="module")
def detector():
    from faceswap_parts.faces.detection import FaceDetector

    return FaceDetector(device="cpu", min_face_size=60)


def _largest(detector, image):
    boxes, _, points = detector.detect(image)
    assert len(boxes) >= 1, "the detector found no face in a portrait"
    return boxes[:1], points[:1]


def _iod(points5):
    return float(np.linalg.norm(points5[0, 1] - points5[0, 0]))


@pytest.mark.parametrize("backend", ["dlib", "mtcnn"])
def test_landmarks_land_on_the_face(backend, detector, grace_hopper, astronaut):
    landmarker = get_landmarker(backend)
    assert landmarker.name == backend
    for image in (grace_hopper, astronaut):
        boxes, points = _largest(detector, image)
        lm = landmarker.predict(image, boxes, points)
        assert lm.shape == (1, 68, 2) and lm.dtype == np.float32
        lm, iod = lm[0], _iod(points)
        # Eye contours sit on the detector's (independent) eye points.
        assert np.linalg.norm(lm[ibug68.LEFT_EYE].mean(0) - points[0, 0]) < 0.15 * iod
        assert np.linalg.norm(lm[ibug68.RIGHT_EYE].mean(0) - points[0, 1]) < 0.15 * iod
        assert np.linalg.norm(lm[ibug68.NOSE_TIP] - points[0, 2]) < 0.25 * iod
        # Upright anatomy: brows above eyes above nose tip above mouth above chin.
        y = lambda part: lm[part, 1].mean()  # noqa: E731
        assert y(ibug68.LEFT_EYEBROW) < y(ibug68.LEFT_EYE) < lm[30, 1] < y(ibug68.MOUTH) < lm[8, 1]
        # Every point lies within the face box grown by a third.
        x1, y1, x2, y2 = boxes[0]
        pad = (x2 - x1) / 3
        assert (lm[:, 0] > x1 - pad).all() and (lm[:, 0] < x2 + pad).all()
        assert (lm[:, 1] > y1 - pad).all() and (lm[:, 1] < y2 + pad).all()


def test_dlib_backend_matches_dlib_own_pipeline(detector, grace_hopper, shared_data):
    """MTCNN boxes differ from dlib's: the backend re-boxes the face so the
    predictor gives what dlib's own detector + predictor give."""
    import dlib
    import face_recognition_models

    from faceswap_parts.io.images import read_image

    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    dlib_detector = dlib.get_frontal_face_detector()
    landmarker = get_landmarker("dlib")
    for image in (grace_hopper, read_image(shared_data / "stills" / "obama.jpg")):
        rect = max(dlib_detector(image, 1), key=lambda r: r.area())
        reference = np.array([(p.x, p.y) for p in predictor(image, rect).parts()], dtype=np.float32)
        boxes, points = _largest(detector, image)
        lm = landmarker.predict(image, boxes, points)[0]
        inner = slice(17, 68)  # brows, nose, eyes, mouth: the jaw line is ambiguous on any face
        error = np.linalg.norm(lm[inner] - reference[inner], axis=1).mean()
        assert error < 0.06 * _iod(points), error


def test_dlib_backend_handles_tilted_heads(detector, grace_hopper):
    """Landmarks of a rotated portrait are the rotated landmarks of the upright one."""
    from faceswap_parts.faces.alignment import transform_points

    landmarker = get_landmarker("dlib")
    boxes, points = _largest(detector, grace_hopper)
    upright = landmarker.predict(grace_hopper, boxes, points)[0]
    h, w = grace_hopper.shape[:2]
    rotation = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    tilted = cv2.warpAffine(grace_hopper, rotation, (w, h), borderMode=cv2.BORDER_REFLECT)
    boxes, points = _largest(detector, tilted)
    lm = landmarker.predict(tilted, boxes, points)[0]
    error = np.linalg.norm(lm[17:] - transform_points(upright[17:], rotation), axis=1).mean()
    assert error < 0.08 * _iod(points), error


def test_predict_aligned_matches_predict(detector, astronaut):
    from faceswap_parts.faces.alignment import align_face, transform_points

    landmarker = get_landmarker("dlib")
    boxes, points = _largest(detector, astronaut)
    crop, matrix = align_face(astronaut, points[0], size=256)
    via_frame = transform_points(landmarker.predict(astronaut, boxes, points)[0], matrix)
    assert np.abs(landmarker.predict_aligned(crop) - via_frame).max() < 2.0


def test_no_faces_and_gray_input(grace_hopper):
    gray = cv2.cvtColor(grace_hopper, cv2.COLOR_RGB2GRAY)
    for backend in ("dlib", "mtcnn"):
        out = get_landmarker(backend).predict(gray, np.zeros((0, 4)), np.zeros((0, 5, 2)))
        assert out.shape == (0, 68, 2)


def test_auto_picks_the_best_available_and_says_so(capsys, monkeypatch):
    import faceswap_parts.faces.landmarks as landmarks

    monkeypatch.setattr(landmarks, "_announced", set())
    landmarker = get_landmarker("auto")
    assert landmarker.name in BACKENDS
    if not HAS_FAN:
        assert landmarker.name == "dlib"
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"landmarks: {landmarker.name}") and "\n" not in line
    if landmarker.name == "dlib":  # brief: no fix for a backend the user did not ask for
        assert line == "landmarks: dlib; fan not available here"
    get_landmarker("auto")
    assert capsys.readouterr().err == ""  # once per process


@pytest.mark.skipif(HAS_FAN, reason="face-alignment is installed here")
def test_fan_without_package_names_the_fix():
    with pytest.raises(FaceswapError, match="pip install face-alignment"):
        get_landmarker("fan")


def test_unknown_backend_and_mtcnn_without_points():
    with pytest.raises(FaceswapError, match="unknown landmark backend"):
        get_landmarker("sift")
    with pytest.raises(FaceswapError, match="5 points"):
        get_landmarker("mtcnn").predict(np.zeros((64, 64, 3), np.uint8), np.array([[0, 0, 10, 10]]))


def test_points5_from_68_of_mean_shape_match_the_template():
    from faceswap_parts.faces.alignment import TEMPLATE

    assert np.abs(ibug68.points5_from_68(ibug68.MEAN_SHAPE) - TEMPLATE).max() < 0.03


def _fake_face_alignment(monkeypatch, fail=False):
    """A stand-in for the face-alignment package (not installable offline):
    checks the adapter's calls, not FAN's accuracy."""
    import sys
    import types

    module = types.ModuleType("face_alignment")
    module.LandmarksType = types.SimpleNamespace(TWO_D="2d")
    calls = {}

    class FaceAlignment:
        def __init__(self, landmarks_type, network_size=4, device="cuda", flip_input=True, compile=True):
            if fail:
                raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")
            calls.update(kind=landmarks_type, device=device, compile=compile)

        def get_landmarks_from_image(self, image, detected_faces=None):
            calls["boxes"] = np.array(detected_faces)
            return [np.tile(np.asarray(b[:2], np.float32), (68, 1)) for b in detected_faces]

    module.FaceAlignment = FaceAlignment
    monkeypatch.setitem(sys.modules, "face_alignment", module)
    return calls


def test_fan_adapter_passes_boxes_and_returns_68_points(monkeypatch):
    calls = _fake_face_alignment(monkeypatch)
    landmarker = get_landmarker("fan", device="cpu")
    boxes = np.array([[10, 20, 110, 140], [200, 30, 260, 100]], np.float32)
    lm = landmarker.predict(np.zeros((300, 300, 3), np.uint8), boxes, np.zeros((2, 5, 2)))
    assert landmarker.name == "fan" and lm.shape == (2, 68, 2) and lm.dtype == np.float32
    np.testing.assert_array_equal(calls["boxes"], boxes)
    np.testing.assert_array_equal(lm[1, 0], [200, 30])
    assert calls == {**calls, "kind": "2d", "device": "cpu", "compile": False}


def test_fan_without_weights_names_the_fix_and_auto_falls_back(monkeypatch):
    _fake_face_alignment(monkeypatch, fail=True)
    with pytest.raises(FaceswapError, match="network"):
        get_landmarker("fan", device="cpu")
    assert get_landmarker("auto", device="cpu", verbose=False).name == "dlib"


def test_dlib_without_its_model_file_falls_back_to_mtcnn(monkeypatch, tmp_path, capsys):
    """A trimmed install (the GPU machine's bundle carries no 68-point file): ``dlib`` says which file is
    missing in one line, and ``auto`` goes on to ``mtcnn`` instead of dying in dlib's RuntimeError."""
    import face_recognition_models

    from faceswap_parts.faces import landmarks
    from faceswap_parts.faces.landmarks import dlib_backend

    missing = tmp_path / "shape_predictor_68_face_landmarks.dat"
    monkeypatch.setattr(dlib_backend, "_predictor", None)
    monkeypatch.setattr(face_recognition_models, "pose_predictor_model_location", lambda: str(missing))
    monkeypatch.setattr(landmarks, "_announced", set())
    with pytest.raises(FaceswapError, match="model file is missing.*shape_predictor_68_face_landmarks.dat"):
        get_landmarker("dlib")
    assert get_landmarker("auto").name == "mtcnn"
    assert "landmarks: mtcnn; " in capsys.readouterr().err
