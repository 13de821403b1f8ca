"""MTCNN face detection: agreement with the reference implementation,
landmarks on the right features, batching, input types, downscaling,
no-face frames and the weights lookup/download."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from faceswap_parts.faces.detection import FaceDetector, weights
from faceswap_parts.faces.detection.boxes import batched_nms, integral_images, resample_crops, resample_frames
from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.video import VideoReader

# Expected outputs of facenet-pytorch 2.6.0's MTCNN(keep_all=True).detect(img, landmarks=True)
# on the same weights, computed once with the reference code (torchvision.ops.nms stood in by
# a plain NMS in a scratch environment outside this repository) and frozen here.
REFERENCE = {
    "grace_hopper": dict(
        boxes=[[174.4, 119.56, 355.65, 340.46]], scores=[0.9998],
        landmarks=[[[221.67, 192.21], [309.83, 186.13], [269.36, 239.17], [232.65, 279.65], [306.64, 275.93]]]),
    "astronaut": dict(
        boxes=[[181.05, 62.16, 267.75, 172.05]], scores=[1.0],
        landmarks=[[[205.01, 101.73], [246.76, 103.71], [224.67, 128.96], [201.72, 139.25], [245.27, 141.86]]]),
    # frame 260 of videos/multi_face_cuts.mp4 (audience shot)
    "multi_face_260": dict(
        boxes=[[315.68, 33.95, 391.62, 144.95], [380.52, 82.31, 448.43, 189.07], [49.16, 59.3, 113.26, 140.21],
               [163.11, 90.14, 217.36, 169.54], [30.4, 30.93, 84.07, 101.6]],
        scores=[0.9991, 0.9992, 0.9997, 0.9811, 0.8227],
        landmarks=[[[330.36, 71.82], [351.02, 75.03], [319.12, 90.36], [321.28, 116.82], [338.07, 119.04]],
                   [[391.87, 122.0], [413.17, 122.96], [388.76, 144.25], [392.07, 167.24], [409.94, 167.67]],
                   [[62.08, 88.88], [93.37, 88.4], [72.79, 103.3], [65.05, 122.16], [89.59, 122.17]],
                   [[168.19, 122.56], [187.56, 123.0], [167.47, 138.03], [170.36, 152.2], [187.26, 153.17]],
                   [[47.29, 56.8], [73.92, 55.71], [59.45, 74.16], [49.78, 87.69], [72.35, 87.1]]]),
}

# Pupil centres read off the images by eye (x, y) and how far a landmark may be from them.
EYES = {
    "grace_hopper": ([222, 189], [306, 187], 12),
    "astronaut": ([203, 102], [247, 103], 8),
}


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(device="cpu")


@pytest.fixture(scope="module")
def quick() -> FaceDetector:
    """Fewer pyramid levels, for tests that compare the detector with itself."""
    return FaceDetector(device="cpu", min_face_size=60)


def _frame(path, index: int) -> np.ndarray:
    for i, _, frame in VideoReader(path, max_frames=index + 1):
        if i == index:
            return frame.copy()
    raise AssertionError(f"{path} has no frame {index}")


@pytest.fixture(scope="module")
def multi_face_frame(shared_data) -> np.ndarray:
    return _frame(shared_data / "videos" / "multi_face_cuts.mp4", 260)


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _assert_reference(result, name: str) -> None:
    boxes, scores, landmarks = result
    expected = REFERENCE[name]
    assert boxes.dtype == scores.dtype == landmarks.dtype == np.float32
    np.testing.assert_allclose(boxes, expected["boxes"], atol=0.05)
    np.testing.assert_allclose(scores, expected["scores"], atol=1e-3)
    np.testing.assert_allclose(landmarks, expected["landmarks"], atol=0.05)


@pytest.mark.parametrize("name", ["grace_hopper", "astronaut"])
def test_same_results_as_reference_mtcnn(detector, name, request):
    _assert_reference(detector.detect(request.getfixturevalue(name)), name)


def test_same_results_as_reference_on_a_crowd_sorted_by_area(detector, multi_face_frame):
    boxes, scores, landmarks = result = detector.detect(multi_face_frame)
    _assert_reference(result, "multi_face_260")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert len(boxes) == 5 and np.all(np.diff(area) <= 0)


@pytest.mark.parametrize("name", ["grace_hopper", "astronaut"])
def test_landmarks_land_on_the_face(detector, name, request):
    boxes, scores, landmarks = detector.detect(request.getfixturevalue(name))
    assert boxes.shape == (1, 4) and scores[0] > 0.99
    left, right, tolerance = EYES[name]
    points = landmarks[0]
    assert np.linalg.norm(points[0] - left) < tolerance  # image-left eye first
    assert np.linalg.norm(points[1] - right) < tolerance
    eye_y, mouth_y = points[:2, 1].mean(), points[3:, 1].mean()
    assert eye_y < points[2, 1] < mouth_y  # nose between eyes and mouth
    assert points[3, 0] < points[4, 0]  # mouth corners left to right
    x1, y1, x2, y2 = boxes[0]
    assert np.all((points[:, 0] > x1) & (points[:, 0] < x2) & (points[:, 1] > y1) & (points[:, 1] < y2))


def test_batch_gives_the_same_detections_as_single_images(quick, grace_hopper, astronaut):
    blank = np.full((300, 400, 3), 128, np.uint8)
    images = [astronaut, grace_hopper, blank, astronaut[:, ::-1].copy()]
    batch = quick.detect(images)
    assert all(isinstance(column, list) and len(column) == 4 for column in batch)
    for i, image in enumerate(images):
        for got, expected in zip((column[i] for column in batch), quick.detect(image)):
            np.testing.assert_allclose(got, expected, atol=1e-2)
    assert len(batch[0][2]) == 0
    assert quick.detect([]) == ([], [], [])


def test_numpy_pil_and_tensor_inputs_agree(quick, astronaut):
    expected = quick.detect(astronaut)
    chw = torch.from_numpy(astronaut).permute(2, 0, 1)
    for image in (Image.fromarray(astronaut), chw, chw.float() / 255, astronaut.astype(np.float32) / 255):
        for got, want in zip(quick.detect(image), expected):
            np.testing.assert_allclose(got, want, atol=1e-3)
    stacked = np.stack([astronaut, astronaut])
    for batch in (stacked, torch.from_numpy(stacked).permute(0, 3, 1, 2)):
        boxes, _, _ = quick.detect(batch)
        assert len(boxes) == 2
        np.testing.assert_allclose(boxes[1], expected[0], atol=1e-2)


def test_grayscale_and_rgba_images(quick, grace_hopper):
    expected = quick.detect(grace_hopper)[0][0]
    gray = np.asarray(Image.fromarray(grace_hopper).convert("L"))
    for image in (gray, gray[..., None], Image.fromarray(gray)):
        boxes, _, _ = quick.detect(image)
        assert len(boxes) == 1 and _iou(boxes[0], expected) > 0.8
    rgba = np.dstack([grace_hopper, np.full(grace_hopper.shape[:2], 255, np.uint8)])
    for image in (rgba, Image.fromarray(rgba)):
        np.testing.assert_allclose(quick.detect(image)[0][0], expected, atol=1e-3)


def test_frames_without_a_face_give_zero_rows(detector):
    from skimage import data

    rng = np.random.default_rng(0)
    for image in (np.zeros((240, 320, 3), np.uint8), data.brick(), data.coffee(),
                  rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), np.zeros((8, 8, 3), np.uint8)):
        boxes, scores, landmarks = detector.detect(image)
        assert boxes.shape == (0, 4) and scores.shape == (0,) and landmarks.shape == (0, 5, 2)


def test_cartoon_half_of_a_video_has_no_face(detector, shared_data):
    video = shared_data / "videos" / "face_then_no_face.mov"
    frames = {i: f.copy() for i, _, f in VideoReader(video, max_frames=131) if i in (10, 130)}
    boxes, _, _ = detector.detect([frames[10], frames[130]])
    assert len(boxes[0]) == 1 and len(boxes[1]) == 0


def test_max_side_detects_on_a_smaller_copy_and_maps_back(grace_hopper):
    full = FaceDetector(device="cpu").detect(grace_hopper)
    small = FaceDetector(device="cpu", max_side=256).detect(grace_hopper)
    assert len(small[0]) == 1
    assert _iou(small[0][0], full[0][0]) > 0.85
    assert np.abs(small[2] - full[2]).max() < 6  # landmarks, in full-resolution pixels
    # frames already within max_side are untouched
    np.testing.assert_array_equal(FaceDetector(device="cpu", max_side=600).detect(grace_hopper)[0], full[0])


def test_settings_change_what_is_searched(grace_hopper):
    assert len(FaceDetector(device="cpu", min_face_size=600).detect(grace_hopper)[0]) == 0  # no pyramid level fits
    assert len(FaceDetector(device="cpu", thresholds=(0.6, 0.7, 0.99999)).detect(grace_hopper)[0]) == 0
    coarse = FaceDetector(device="cpu", factor=0.5)
    assert len(coarse.pyramid_scales(600, 512)) < len(FaceDetector(device="cpu").pyramid_scales(600, 512))
    assert len(coarse.detect(grace_hopper)[0]) == 1


@pytest.mark.parametrize("bad", [
    np.zeros((64, 64, 3), bool), np.zeros((64, 64, 3), np.int64), np.zeros((64, 64, 5), np.uint8),
    np.zeros((64,), np.uint8), np.zeros((0, 64, 3), np.uint8), np.full((64, 64, 3), np.nan, np.float32),
    torch.zeros(2, 2, 3, 64, 64), torch.zeros(64, 64, 3), "face.png", None, [np.zeros((8, 8, 3), np.uint8), 3],
])
def test_bad_input_is_a_one_line_error(detector, bad):
    with pytest.raises(FaceswapError) as err:
        detector.detect(bad)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs", [dict(min_face_size=0), dict(thresholds=(0.6, 0.7)),
                                    dict(thresholds=(0.6, 0.7, 1.5)), dict(factor=1.0), dict(max_side=10),
                                    dict(device="nonsense")])
def test_bad_settings_are_errors(kwargs):
    with pytest.raises(FaceswapError):
        FaceDetector(**kwargs)


def _greedy_reference(boxes, scores, threshold, mode):
    # the textbook sequential loop, to check the vectorised version against
    one = 1.0 if mode == "min" else 0.0
    area = (boxes[:, 2] - boxes[:, 0] + one) * (boxes[:, 3] - boxes[:, 1] + one)
    keep, alive = [], list(np.argsort(-scores, kind="stable"))
    while alive:
        i, alive = alive[0], alive[1:]
        keep.append(i)
        rest = np.array(alive, dtype=int)
        iw = np.maximum(0, np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]) + one)
        ih = np.maximum(0, np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]) + one)
        inter = iw * ih
        overlap = inter / (np.minimum(area[i], area[rest]) if mode == "min" else area[i] + area[rest] - inter)
        alive = list(rest[overlap <= threshold])
    return keep


@pytest.mark.parametrize("mode", ["union", "min"])
def test_nms_matches_the_sequential_greedy_loop(mode):
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 100, (300, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(5, 40, (300, 2)).astype(np.float32)], axis=1)
    scores = rng.uniform(size=300).astype(np.float32)
    groups = rng.integers(0, 3, 300)
    kept = batched_nms(boxes, scores, groups, 0.5, mode)
    for g in range(3):
        members = np.flatnonzero(groups == g)
        expected = members[_greedy_reference(boxes[members], scores[members], 0.5, mode)]
        np.testing.assert_array_equal(kept[groups[kept] == g], expected)
    assert len(batched_nms(boxes[:0], scores[:0], groups[:0], 0.5)) == 0


def test_resampling_is_bit_identical_to_torch_area_interpolation():
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (2, 50, 70, 3), dtype=np.uint8)
    table = integral_images(frames)
    as_torch = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    for size in [(13, 17), (50, 70), (61, 90)]:
        assert torch.equal(resample_frames(table, *size), F.interpolate(as_torch, size=size, mode="area"))
    bounds = [(0, 3, 9, 40, 24), (1, 20, 0, 70, 50), (0, 60, 45, 61, 46)]
    for b, x0, y0, x1, y1 in bounds:
        got = resample_crops(table, *(torch.tensor([v]) for v in (b, x0, y0, x1, y1)), 24)
        assert torch.equal(got, F.interpolate(as_torch[b:b + 1, :, y0:y1, x0:x1], size=(24, 24), mode="area"))


@pytest.fixture
def weight_mirror(tmp_path, monkeypatch):
    """facenet-pytorch hidden, TORCH_HOME in tmp_path, the URLs pointing at a
    local copy of the three weight files (``mirror``)."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for net in weights.NETS:
        shutil.copy(weights.weight_path(net), mirror / f"{net}.pt")
    monkeypatch.setattr(weights, "find_spec", lambda name: None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(weights, "BASE_URLS", [mirror.as_uri() + "/"])
    return mirror


@pytest.fixture(scope="module")
def installed_weights():
    try:
        weights.weight_path("pnet")
    except FaceswapError as err:
        pytest.skip(f"no MTCNN weights here ({err})")


def test_weights_are_downloaded_and_verified_without_facenet_pytorch(installed_weights, weight_mirror, tmp_path,
                                                                     astronaut):
    assert weights.installed_weight_path("onet") is None
    path = weights.weight_path("onet")
    assert path.parent == tmp_path / "torch" / "faceswap_parts"
    assert path.read_bytes() == (weight_mirror / "onet.pt").read_bytes()
    _assert_reference(FaceDetector(device="cpu").detect(astronaut), "astronaut")
    assert all((path.parent / f"mtcnn_{net}.pt").is_file() for net in weights.NETS)


def test_weights_with_a_wrong_checksum_are_rejected(installed_weights, weight_mirror, tmp_path):
    (weight_mirror / "rnet.pt").write_bytes(b"not the weights")
    with pytest.raises(FaceswapError, match="checksum") as err:
        weights.weight_path("rnet")
    assert weights.INSTALL_HINT in str(err.value)
    assert not (tmp_path / "torch" / "faceswap_parts" / "mtcnn_rnet.pt").exists()


def test_missing_weights_give_a_one_line_error_naming_the_install_command(installed_weights, weight_mirror):
    shutil.rmtree(weight_mirror)
    with pytest.raises(FaceswapError) as err:
        FaceDetector(device="cpu")
    message = str(err.value)
    assert "\n" not in message and message.endswith("faceswap-parts weights")


def _wheel(path, sources, replace=None):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("facenet_pytorch/__init__.py", "")
        for net in weights.NETS:
            data = (replace or {}).get(net) or sources[net].read_bytes()
            archive.writestr(f"facenet_pytorch/data/{net}.pt", data)
    return path


def test_the_weights_command_fills_the_cache_from_the_wheel_without_installing_it(installed_weights, weight_mirror,
                                                                                  tmp_path, astronaut, capsys):
    from faceswap_parts.cli import main

    sources = {net: weight_mirror / f"{net}.pt" for net in weights.NETS}
    wheel = _wheel(tmp_path / "facenet_pytorch-2.6.0-py3-none-any.whl", sources)
    assert main(["weights", "--wheel", str(wheel)]) == 0
    assert "MTCNN weights ready in" in capsys.readouterr().out
    blobs = {net: path.read_bytes() for net, path in sources.items()}
    shutil.rmtree(weight_mirror)  # no download possible: the cache alone must serve
    cache = tmp_path / "torch" / "faceswap_parts"
    for net in weights.NETS:
        assert weights.weight_path(net) == cache / weights.cached_name(net)
        assert weights.weight_path(net).read_bytes() == blobs[net]
    _assert_reference(FaceDetector(device="cpu").detect(astronaut), "astronaut")


def test_a_wrong_wheel_writes_nothing(installed_weights, weight_mirror, tmp_path, capsys):
    from faceswap_parts.cli import main

    sources = {net: weight_mirror / f"{net}.pt" for net in weights.NETS}
    bad = _wheel(tmp_path / "bad.whl", sources, replace={"onet": b"tampered"})
    assert main(["weights", "--wheel", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "data/onet.pt fails its SHA-256 check; nothing was written" in err and "\n" not in err.strip()
    assert not (tmp_path / "torch" / "faceswap_parts").exists()
    (tmp_path / "notazip.whl").write_bytes(b"plain text")
    assert main(["weights", "--wheel", str(tmp_path / "notazip.whl")]) == 1
    assert "is not a facenet-pytorch wheel" in capsys.readouterr().err


def test_the_wheel_is_downloaded_with_pip_into_a_temporary_folder(installed_weights, weight_mirror, tmp_path):
    sources = {net: weight_mirror / f"{net}.pt" for net in weights.NETS}
    asked = []

    def download(requirement, folder):
        asked.append(requirement)
        return _wheel(Path(folder) / "facenet_pytorch-2.6.0-py3-none-any.whl", sources)

    paths = weights.fetch_from_wheel(download=download)
    assert asked == [weights.WHEEL] and set(paths) == set(weights.NETS)
    assert all(p.parent == tmp_path / "torch" / "faceswap_parts" for p in paths.values())


def test_every_frame_of_a_real_clip_has_one_steady_face(video_a_3s):
    frames = [frame.copy() for _, _, frame in VideoReader(video_a_3s, max_frames=32)]
    boxes, scores, landmarks = FaceDetector(device="cpu", min_face_size=40).detect(frames)  # as `extract` runs it
    assert [len(b) for b in boxes] == [1] * len(frames)
    assert min(s[0] for s in scores) > 0.95
    assert min(_iou(a[0], b[0]) for a, b in zip(boxes, boxes[1:])) > 0.8  # no jumps between frames
    eyes_apart = [lm[0, 1, 0] - lm[0, 0, 0] for lm in landmarks]
    assert min(eyes_apart) > 20


def test_face_probability_confirms_faces_and_rejects_the_background(quick, grace_hopper, astronaut):
    boxes, scores, _ = quick.detect(grace_hopper)
    assert quick.face_probability(grace_hopper, boxes)[0] > 0.95
    # the same box moved off the face (onto the uniform and the flag behind her)
    away = boxes + np.array([0, 180, 0, 180], np.float32)
    assert quick.face_probability(grace_hopper, away)[0] < 0.1
    # a batch: one array per image, empty where no boxes are given
    astro_boxes = quick.detect(astronaut)[0]
    probs = quick.face_probability([grace_hopper, astronaut, astronaut],
                                   [boxes, astro_boxes, np.zeros((0, 4), np.float32)])
    assert [p.shape for p in probs] == [(1,), (len(astro_boxes),), (0,)] and probs[1][0] > 0.95
    with pytest.raises(FaceswapError, match="2 images but 1"):
        quick.face_probability([grace_hopper, astronaut], [boxes])
