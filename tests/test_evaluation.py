"""Tests of `faceswap-parts evaluate`: the scores as pure functions, the report
writer, and real end-to-end runs on the shared footage."""
from __future__ import annotations

import json

import numpy as np
import pytest

from faceswap_parts.errors import FaceswapError
from faceswap_parts.evaluation import metrics


def _face68(scale: float = 40.0, shift=(100.0, 100.0), mouth_gap: float = 0.0) -> np.ndarray:
    """A plausible 68-point face: mean-shape-like layout, scaled and shifted."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (68, 2))
    pts[36:42] = [[-1.3, -0.5], [-1.1, -0.6], [-0.9, -0.6], [-0.7, -0.5], [-0.9, -0.4], [-1.1, -0.4]]
    pts[42:48] = pts[36:42] * [-1, 1]
    pts[30] = [0, 0.3]
    pts[48:68, 1] = np.abs(pts[48:68, 1]) * 0.2 + 1.0
    pts[62] = [0, 1.0 - mouth_gap / 2]
    pts[66] = [0, 1.0 + mouth_gap / 2]
    return pts * scale + np.asarray(shift)


def test_inter_ocular_and_landmark_error_are_scale_free():
    a = _face68(scale=40)
    assert metrics.inter_ocular(a) == pytest.approx(80.0)
    moved = a + [8.0, 0.0]
    assert metrics.landmark_error(a, moved) == pytest.approx(0.1)
    big = _face68(scale=80, shift=(300, 300))
    assert metrics.landmark_error(big, big + [16.0, 0.0]) == pytest.approx(0.1)
    assert metrics.landmark_error(a, a) == 0.0


def test_expression_and_pose_measures_respond():
    closed, open_ = _face68(mouth_gap=0.0), _face68(mouth_gap=0.5)
    assert metrics.mouth_opening(closed) == pytest.approx(0.0, abs=1e-9)
    assert metrics.mouth_opening(open_) == pytest.approx(0.5 * 40 / 80)
    diffs = metrics.expression_differences(closed[None], open_[None])
    assert diffs["mouth_opening"][0] > 0.2 and diffs["roll_degrees"][0] == pytest.approx(0.0, abs=1e-9)
    theta = np.radians(10)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    rolled = (closed - 100) @ rot.T + 100
    assert metrics.head_pose(rolled)[2] - metrics.head_pose(closed)[2] == pytest.approx(10.0)
    turned = closed.copy()
    turned[30, 0] += 20  # nose to the side: yaw proxy moves, roll doesn't
    assert abs(metrics.head_pose(turned)[0] - metrics.head_pose(closed)[0]) == pytest.approx(0.25)
    assert metrics.eye_opening(closed) > 0


def test_identity_rate_and_distances():
    ca, cb = np.zeros(4), np.ones(4)
    emb = np.array([[0.1, 0, 0, 0], [0.9, 1, 1, 1], [1, 1, 1, 1], [np.nan] * 4])
    da, db = metrics.identity_distances(emb, ca, cb)
    assert np.isnan(da[3]) and np.isnan(db[3])
    assert metrics.identity_transfer_rate(da, db) == pytest.approx(2 / 3)
    assert metrics.identity_transfer_rate([np.nan], [np.nan]) is None
    # a match must also be within the same-person distance of B: the blur that is nobody (0.7 / 0.62) is not
    assert metrics.identity_match_rate([0.7, 0.8, 0.2, np.nan], [0.62, 0.4, 0.5, 0.1], 0.6) == pytest.approx(1 / 3)
    assert metrics.identity_match_rate([np.nan], [np.nan], 0.6) is None


def test_sharpness_sees_a_blur(grace_hopper):
    import cv2

    # the face's landmarks: a box around Grace Hopper's face (an octagon of points is enough for a hull)
    lm = np.array([[190, 170], [330, 170], [360, 250], [330, 350], [190, 350], [160, 250]], np.float64)
    sharp = metrics.face_sharpness(grace_hopper, lm)
    blurred = metrics.face_sharpness(cv2.GaussianBlur(grace_hopper, (0, 0), 4), lm)
    assert sharp > 0 and blurred < 0.1 * sharp
    assert metrics.sharpness_ratio([blurred, np.nan], [sharp, sharp]) == pytest.approx(blurred / sharp)
    assert metrics.sharpness_ratio([1.0], [0.0]) is None
    assert np.isnan(metrics.face_sharpness(grace_hopper, np.zeros((6, 2))))
    assert np.allclose(metrics.centroid(np.array([[0, 2], [2, 0]])), [1, 1])
    with pytest.raises(ValueError):
        metrics.centroid(np.zeros((0, 4)))


def test_stability_and_flicker_ratios():
    rng = np.random.default_rng(1)
    steady = np.stack([_face68(shift=(100 + t * 0.5, 100)) for t in range(10)])
    shaky = steady + rng.normal(0, 4, (10, 1, 2))
    m_steady, m_shaky = metrics.landmark_motion(steady), metrics.landmark_motion(shaky)
    assert m_steady == pytest.approx(np.full(9, 0.5 / 80))
    assert metrics.paired_ratio(m_steady, m_steady) == pytest.approx(1.0)
    assert metrics.paired_ratio(m_shaky, m_steady) > 3
    with_gap = steady.copy()
    with_gap[4] = np.nan  # a frame without a face drops the two pairs around it
    assert np.isnan(metrics.landmark_motion(with_gap)[[3, 4]]).all()
    assert metrics.paired_ratio(metrics.landmark_motion(with_gap), m_steady) == pytest.approx(1.0)
    assert metrics.paired_ratio(np.ones(3), np.zeros(3)) is None  # a frozen source gives no ratio

    colours = np.array([[100, 100, 100], [102, 100, 98], [100, 100, 100]], float)
    assert metrics.colour_change(colours) == pytest.approx([4 / 3, 4 / 3])
    image = np.zeros((200, 200, 3), np.uint8)
    image[:, :100] = (200, 50, 0)
    face = _face68(scale=20, shift=(50, 100))
    assert metrics.face_colour(image, face) == pytest.approx([200, 50, 0])


def test_coverage_counts_only_frames_with_a_source_face():
    assert metrics.coverage([True, True, False, True], [True, False, True, True]) == pytest.approx(2 / 3)
    assert metrics.coverage([False, False], [True, True]) is None
    assert metrics.nan_mean([np.nan, 1.0, 3.0]) == 2.0 and metrics.nan_mean([np.nan]) is None


def test_embedders_are_pluggable_and_dlib_missing_is_a_clear_message(monkeypatch):
    from faceswap_parts.evaluation import FaceEmbedder, get_embedder

    class MeanColour(FaceEmbedder):
        name = "mean-colour"

        def embed(self, image, boxes, points5):
            return np.array([image[int(b[1]):int(b[3]), int(b[0]):int(b[2])].mean((0, 1)) for b in boxes])

    custom = MeanColour()
    assert get_embedder(custom) is custom
    with pytest.raises(FaceswapError, match="unknown face embedder"):
        get_embedder("arcface")
    monkeypatch.setitem(__import__("sys").modules, "dlib", None)  # as if dlib were not installed
    with pytest.raises(FaceswapError, match=r"pip install 'faceswap-parts\[dlib\]'"):
        get_embedder("dlib")


def test_reconstruction_image_scores(astronaut):
    from faceswap_parts.evaluation.reconstruction import image_scores

    faces = np.stack([astronaut[:128, 128:256], astronaut[100:228, 200:328]])
    assert image_scores(faces, faces) == (pytest.approx(1.0), 100.0)
    noisy = np.clip(faces + np.random.default_rng(0).normal(0, 10, faces.shape), 0, 255).astype(np.uint8)
    ssim, psnr = image_scores(faces, noisy)
    assert 0.3 < ssim < 0.95 and 25 < psnr < 35  # sigma 10 noise is ~28 dB
    assert image_scores(faces, np.zeros_like(faces))[1] < psnr


def test_reconstruction_of_a_perfect_model_scores_perfectly(tmp_path, astronaut):
    import torch

    from faceswap_parts.config import ModelConfig
    from faceswap_parts.evaluation.reconstruction import evaluate_reconstruction
    from faceswap_parts.io.images import write_image

    class Identity(torch.nn.Module):  # a "model" whose decoders redraw their input exactly
        config = ModelConfig(resolution=64)

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def generate(self, x, identity):
            return type("Out", (), {"color": x, "result": x})()

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write_image(tmp_path / name / "face.png", astronaut[:256, 128:384])
    scores = evaluate_reconstruction(Identity(), tmp_path / "a", tmp_path / "b")
    assert scores["A_to_A"] == {"faces": 1, "ssim": 1.0, "psnr": 100.0, "ssim_result": 1.0, "psnr_result": 100.0}
    assert scores["B_to_B"]["faces"] == 1


# --- frame pairing (tiny synthetic videos, no models) -------------------------------------------

def _numbered_video(path, n, fps):
    """A video whose frame k is uniformly grey at level 8*k (readable back through H.264)."""
    from faceswap_parts.io.video import write_video

    write_video(path, [np.full((32, 32, 3), 8 * k, np.uint8) for k in range(n)], fps)
    return path


def test_pairing_matches_nearest_timestamps_across_frame_rates(tmp_path):
    from faceswap_parts.evaluation.pairing import paired_frames

    original = _numbered_video(tmp_path / "o.mp4", 20, 10)   # 2.0 s
    swapped = _numbered_video(tmp_path / "s.mp4", 30, 20)    # 1.5 s at twice the rate
    pairs = list(paired_frames(str(original), str(swapped), every=3))
    assert [p.swapped_index for p in pairs] == list(range(0, 30, 3))
    assert [p.original_index for p in pairs if p.swapped_index % 2 == 0] == [0, 3, 6, 9, 12]
    for p in pairs:
        assert abs(p.original_index / 10 - p.swapped_index / 20) <= 0.05 + 1e-9
        assert abs(int(p.original.mean()) - 8 * p.original_index) <= 3  # the right frame's pixels
    # a longer swapped video stops where the original ends
    long_swap = _numbered_video(tmp_path / "long.mp4", 30, 10)
    pairs = list(paired_frames(str(original), str(long_swap)))
    assert len(pairs) == 20 and pairs[-1].original_index == 19
    assert len(list(paired_frames(str(original), str(long_swap), every=2, max_frames=4))) == 4
    with pytest.raises(FaceswapError, match="every"):
        next(paired_frames(str(original), str(long_swap), every=0))


def test_pairing_a_segment_converted_with_start(tmp_path):
    """A video converted with ``--start 0.5`` pairs with the original from 0.5 s on."""
    from faceswap_parts.evaluation.pairing import paired_frames
    from faceswap_parts.io.video import write_video

    original = _numbered_video(tmp_path / "o.mp4", 20, 10)
    segment = write_video(tmp_path / "seg.mp4", [np.full((32, 32, 3), 8 * k, np.uint8) for k in range(5, 15)], 10)
    pairs = list(paired_frames(str(original), segment, start=0.5))
    assert [p.original_index for p in pairs] == list(range(5, 15))
    assert [round(p.time, 2) for p in pairs] == [round(0.5 + k / 10, 2) for k in range(10)]
    for p in pairs:  # the same pictures on both sides
        assert abs(int(p.original.mean()) - int(p.swapped.mean())) <= 3
    # without the offset the segment would be paired with the original's first second
    assert abs(int(next(paired_frames(str(original), segment)).original.mean()) - 40) > 20
    with pytest.raises(FaceswapError, match="beyond the end"):
        next(paired_frames(str(original), segment, start=5.0))


def test_bad_inputs_give_one_line_errors(tmp_path):
    from faceswap_parts.evaluation import EvaluationConfig, evaluate_videos

    video = _numbered_video(tmp_path / "v.mp4", 4, 10)
    faces = tmp_path / "faces"
    faces.mkdir()
    (faces / "notes.txt").write_text("no images here")
    with pytest.raises(FaceswapError, match="holds no images") as err:
        evaluate_videos(video, video, faces, faces, progress=False)
    assert "\n" not in str(err.value)
    with pytest.raises(FaceswapError, match="not found"):
        evaluate_videos(video, video, tmp_path / "missing", faces, progress=False)
    with pytest.raises(FaceswapError, match="video not found"):
        evaluate_videos(tmp_path / "nope.mp4", video, faces, faces, progress=False)
    with pytest.raises(FaceswapError, match="max-frames"):
        EvaluationConfig(max_frames=0)
    with pytest.raises(FaceswapError, match="--start"):
        EvaluationConfig(start=-1)
    from faceswap_parts.io.images import write_image

    write_image(faces / "face.png", np.zeros((64, 64, 3), np.uint8))
    (tmp_path / "report.txt").write_text("user's file")
    with pytest.raises(FaceswapError, match="must be a folder"):
        evaluate_videos(video, video, faces, faces, out=tmp_path / "report.txt", progress=False)
    assert (tmp_path / "report.txt").read_text() == "user's file"
    with pytest.raises(FaceswapError, match="checkpoint"):  # a wrong --model fails before any scoring
        evaluate_videos(video, video, faces, faces, model=tmp_path / "no_workdir", device="cpu", progress=False)


def test_warnings_point_at_wrong_face_folders():
    from faceswap_parts.evaluation.pipeline import _warnings

    a, b = np.zeros(128), np.full(128, 0.1)  # 1.13 apart: different people for dlib
    assert _warnings(a, b, 0.6, 0.0) == []
    assert "same person" in _warnings(a, a + 0.01, 0.6, 0.0)[0]
    assert "right way round" in _warnings(a, b, 0.6, 0.9)[0]


# --- real end-to-end runs on the shared footage ------------------------------------------------

MAX_FRAMES, EVERY = 8, 2  # 8 pairs over the first ~0.5 s keep each run to seconds


@pytest.fixture(scope="module")
def detector():
    from faceswap_parts.faces.detection import FaceDetector

    return FaceDetector(device="cpu")


def _frames_and_points(detector, video, n, step=1):
    from faceswap_parts.io.video import read_frames

    frames, info = read_frames(video, max_frames=n)
    frames = frames[::step]
    _, _, points = detector.detect(frames)
    assert all(len(p) for p in points), f"test footage {video} should show a face in every frame"
    return frames, [p[0] for p in points], info.fps


@pytest.fixture(scope="module")
def face_folders(tmp_path_factory, detector, video_a_3s, video_b_3s):
    """FACES_A / FACES_B like `extract` writes them: DIR/aligned_faces/*.png, 256 px, coverage 1.0."""
    from faceswap_parts.faces.alignment import align_face
    from faceswap_parts.io.images import write_image

    root = tmp_path_factory.mktemp("faces")
    for name, video in (("A", video_a_3s), ("B", video_b_3s)):
        out = root / name / "aligned_faces"
        out.mkdir(parents=True)
        frames, points, _ = _frames_and_points(detector, video, 72, step=18)  # 4 faces over ~2.5 s
        for k, (frame, pts) in enumerate(zip(frames, points)):
            write_image(out / f"{k:03d}.png", align_face(frame, pts, 256)[0])
    return root / "A", root / "B"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, face_folders):
    """A training workdir holding an untrained small model's checkpoint."""
    from faceswap_parts.config import ModelConfig
    from faceswap_parts.training import TrainConfig, Trainer

    workdir = tmp_path_factory.mktemp("workdir")
    Trainer(TrainConfig(a_dir=str(face_folders[0]), b_dir=str(face_folders[1]), workdir=str(workdir),
                        model=ModelConfig(resolution=64, capacity="lite"), device="cpu")).save()
    return workdir


@pytest.fixture(scope="module")
def a_clip(detector, video_a_3s):
    """The first frames of A's video (enough for MAX_FRAMES pairs), their 5 points and fps."""
    return _frames_and_points(detector, video_a_3s, MAX_FRAMES * EVERY)


def _evaluate(original, swapped, faces, out=None, **options):
    from faceswap_parts.evaluation import evaluate_videos

    return evaluate_videos(original, swapped, faces[0], faces[1], out=out, max_frames=MAX_FRAMES, every=EVERY,
                           device="cpu", progress=False, **options)


def test_cli_original_against_itself_is_no_swap_and_deterministic(tmp_path, video_a_3s, face_folders, capsys):
    from faceswap_parts.cli import main

    out = tmp_path / "report"
    code = main(["evaluate", str(video_a_3s), str(video_a_3s), "--a", str(face_folders[0]), "--b",
                 str(face_folders[1]), "--out", str(out), "--max-frames", str(MAX_FRAMES), "--every", str(EVERY),
                 "--device", "cpu"])
    assert code == 0
    assert "identity transfer 0%" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    for key in ("identity_transfer_rate", "baseline_identity_transfer_rate", "mean_distance_to_a",
                "mean_distance_to_b", "landmark_error", "stability_ratio", "flicker_ratio", "coverage", "frames"):
        assert key in report
    assert report["frame_count"] == MAX_FRAMES and len(report["frames"]) == MAX_FRAMES
    assert report["identity_transfer_rate"] == 0.0 == report["baseline_identity_transfer_rate"]
    assert report["mean_distance_to_a"] < 0.45 < report["mean_distance_to_b"]
    assert report["stability_ratio"] == pytest.approx(1.0) and report["flicker_ratio"] == pytest.approx(1.0)
    assert report["landmark_error"] == pytest.approx(0.0) and report["coverage"] == 1.0
    assert report["seam_score"] is None  # nothing was pasted
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5 and "Worst frames" in html

    # same inputs, same numbers: the Python API reproduces the CLI's report exactly
    again = _evaluate(video_a_3s, video_a_3s, face_folders)
    assert json.loads(json.dumps(again)) == {**report, "settings": again["settings"]}


def _paste_b(a_clip, detector, video_b_3s):
    """A's frames with B's face (one aligned crop) warped onto each detected A face."""
    import cv2

    from faceswap_parts.faces.alignment import align_face, alignment_matrix, warp_back

    (b_frame,), (b_points,), _ = _frames_and_points(detector, video_b_3s, 1)
    b_crop = align_face(b_frame, b_points, 256)[0]
    mask = np.zeros((256, 256), np.float32)
    cv2.ellipse(mask, (128, 140), (62, 80), 0, 0, 360, 1.0, -1)  # the inner face of a coverage-1.0 crop
    mask = cv2.GaussianBlur(mask, (0, 0), 6)
    frames, points, fps = a_clip
    out = []
    for frame, pts in zip(frames, points):
        matrix = alignment_matrix(pts, 256)
        h, w = frame.shape[:2]
        alpha = warp_back(mask, matrix, (w, h))[..., None]
        out.append((alpha * warp_back(b_crop, matrix, (w, h)) + (1 - alpha) * frame).astype(np.uint8))
    return out, fps


def test_pasted_b_face_scores_high_identity_transfer(tmp_path, a_clip, detector, video_a_3s, video_b_3s,
                                                     face_folders):
    from faceswap_parts.io.video import write_video

    frames, fps = _paste_b(a_clip, detector, video_b_3s)
    swapped = write_video(tmp_path / "pasted.mp4", frames, fps)
    report = _evaluate(video_a_3s, swapped, face_folders, out=tmp_path / "report")
    assert report["coverage"] == 1.0
    assert report["identity_transfer_rate"] >= 0.75
    assert report["baseline_identity_transfer_rate"] == 0.0
    assert report["mean_distance_to_b"] < report["mean_distance_to_a"]
    assert report["landmark_error"] > 0  # B's features sit where A's were, not exactly on them
    # A feathered paste (and the video's re-encoding): its edge is about as smooth as the frame was.
    assert 0.3 < report["seam_score"] < 1.5


def test_triple_layout_output_is_scored_on_its_result_panel(tmp_path, a_clip, detector, video_a_3s, video_b_3s,
                                                            face_folders):
    from faceswap_parts.io.layouts import compose
    from faceswap_parts.io.video import write_video

    pasted, fps = _paste_b(a_clip, detector, video_b_3s)
    triple = [compose("triple", frame, swap) for frame, swap in zip(a_clip[0], pasted)]
    report = _evaluate(video_a_3s, write_video(tmp_path / "triple.mp4", triple, fps), face_folders)
    assert report["coverage"] == 1.0 and report["identity_transfer_rate"] >= 0.75
    assert report["inputs"]["swapped"]["layout"] == "triple"


def test_cli_start_scores_a_segment_against_the_whole_original(tmp_path, video_a_3s, face_folders):
    """A segment from 1 s on, as `convert --start 1` writes it, matches the original from 1 s with --start 1."""
    from faceswap_parts.cli import main
    from faceswap_parts.io.video import read_frames, write_video

    frames, info = read_frames(video_a_3s, start=1.0, max_frames=MAX_FRAMES * EVERY)
    segment = write_video(tmp_path / "segment.mp4", frames, info.fps)
    reports = {}
    for start in ("1", "0"):
        out = tmp_path / f"report{start}"
        assert main(["evaluate", str(video_a_3s), segment, "--a", str(face_folders[0]), "--b", str(face_folders[1]),
                     "--out", str(out), "--max-frames", str(MAX_FRAMES), "--every", str(EVERY), "--device", "cpu",
                     "--start", start]) == 0
        reports[start] = json.loads((out / "report.json").read_text())
    aligned, shifted = reports["1"], reports["0"]
    assert [f["original_index"] for f in aligned["frames"]] == list(range(30, 30 + MAX_FRAMES * EVERY, EVERY))
    assert aligned["frames"][0]["time"] == pytest.approx(1.0)
    # the same pictures on both sides: only H.264 re-encoding moves the landmarks
    assert aligned["landmark_error"] < 0.03 < shifted["landmark_error"]


def test_shaky_video_is_less_stable_than_the_original(tmp_path, a_clip, video_a_3s, face_folders, workdir):
    import cv2

    from faceswap_parts.io.video import write_video

    rng = np.random.default_rng(0)
    frames, _, fps = a_clip
    shaky = [cv2.warpAffine(f, np.float32([[1, 0, dx], [0, 1, dy]]), f.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
             for f, (dx, dy) in zip(frames, rng.uniform(-12, 12, (len(frames), 2)))]
    report = _evaluate(video_a_3s, write_video(tmp_path / "shaky.mp4", shaky, fps), face_folders,
                       out=tmp_path / "report", model=workdir)
    assert report["stability_ratio"] > 2.0
    assert report["identity_transfer_rate"] == 0.0  # still A's face
    # --model: an untrained model redraws faces badly, but every number is real and in range
    recon = report["reconstruction"]
    assert recon["resolution"] == 64 and recon["A_to_A"]["faces"] == recon["B_to_B"]["faces"] == 4
    for scores in (recon["A_to_A"], recon["B_to_B"]):
        assert -1 <= scores["ssim"] < 0.9 and 0 < scores["psnr"] < 30
        assert scores["psnr_result"] > scores["psnr"]  # the mask keeps part of the true face
    assert "Reconstruction quality" in (tmp_path / "report" / "report.html").read_text()


def test_video_without_faces_is_a_clear_error(tmp_path, grace_hopper, astronaut):
    from faceswap_parts.evaluation import evaluate_videos
    from faceswap_parts.io.images import write_image

    folders = []
    for name, photo in (("a", grace_hopper), ("b", astronaut)):  # plain folders of one face photo each
        (tmp_path / name).mkdir()
        write_image(tmp_path / name / "face.jpg", photo)
        folders.append(tmp_path / name)
    grey = _numbered_video(tmp_path / "grey.mp4", 6, 10)
    with pytest.raises(FaceswapError, match="no face detected in any of the 3 scored frames"):
        evaluate_videos(grey, grey, *folders, every=2, device="cpu", progress=False)
