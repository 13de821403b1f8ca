"""`extract` and `masks` on real footage from ../shared/data (skipped when absent)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from faceswap_parts.faces.alignment import template_points
from faceswap_parts.cli import main
from faceswap_parts.errors import FaceswapError
from faceswap_parts.extraction import extract_video
from faceswap_parts.masking import make_masks
from faceswap_parts.facesets.folder import read_faces_json
from faceswap_parts.io.images import list_images, read_image, read_mask, write_image
from faceswap_parts.faces.landmarks import ibug68

FOLDERS = ("aligned_faces", "binary_masks_eyes", "raw_faces")


@pytest.fixture(scope="module")
def detector():
    from faceswap_parts.faces.detection import FaceDetector

    return FaceDetector(device="cpu", min_face_size=40)


@pytest.fixture(scope="module")
def extracted(video_a_3s, tmp_path_factory):
    """A real CLI run on the first 6 frames of person_a_3s.mp4."""
    out = tmp_path_factory.mktemp("extract") / "faces_a"
    assert main(["extract", str(video_a_3s), "--out", str(out), "--max-frames", "6", "--quiet"]) == 0
    return out


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_extract_writes_the_face_set(extracted):
    data = read_faces_json(extracted)
    assert data["landmarks"] == "dlib" and data["fps"] == pytest.approx(30, abs=0.1)
    assert [f["frame"] for f in data["faces"]] == list(range(6))
    names = _files(extracted / "aligned_faces")
    assert len(names) == 6 and names == _files(extracted / "binary_masks_eyes")
    assert [n.replace(".jpg", ".png") for n in _files(extracted / "raw_faces")] == names
    for face in data["faces"]:
        assert {"file", "raw_file", "frame", "time", "box", "points5", "score", "landmarks68"} <= set(face)
        crop = read_image(extracted / face["file"])
        mask = read_mask(extracted / face["masks"]["eyes"])
        assert crop.shape == (256, 256, 3) and mask.shape == (256, 256)
        assert set(np.unique(mask)) == {0, 255}
        lm = np.asarray(face["landmarks68"])
        eyes = ibug68.points5_from_68(lm)[:2]
        # Upright and centred: eyes level and at the template's eye positions.
        assert abs(eyes[0, 1] - eyes[1, 1]) < 4
        assert np.abs(eyes - template_points(256)[:2]).max() < 8
        # The eye mask covers both eyes and nothing at the mouth.
        for x, y in np.round(lm[36:48]).astype(int):
            assert mask[y, x] == 255
        x, y = np.round(lm[51]).astype(int)
        assert mask[y, x] == 0


def test_extract_prints_the_summary(video_a_3s, tmp_path, capsys):
    assert main(["extract", str(video_a_3s), "--out", str(tmp_path / "o"), "--max-frames", "4", "--every", "2",
                 "--landmarks", "mtcnn", "--size", "128", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "frames read: 4 (processed 2)" in text and "faces written: 2" in text and "frames/s" in text
    data = read_faces_json(tmp_path / "o")
    assert data["landmarks"] == "mtcnn" and read_image(tmp_path / "o" / data["faces"][0]["file"]).shape == (128, 128, 3)


def test_existing_folder_with_foreign_files_is_refused(video_a_3s, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["extract", str(video_a_3s), "--out", str(out), "--max-frames", "2", "--quiet"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert _files(out) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_only_own_outputs(video_a_3s, tmp_path, detector):
    out = tmp_path / "out"
    extract_video(video_a_3s, out, max_frames=3, progress=False, detector=detector)
    (out / "notes.txt").write_text("mine")
    summary = extract_video(video_a_3s, out, max_frames=2, overwrite=True, progress=False, detector=detector)
    assert summary.faces_written == 2 and len(_files(out / "aligned_faces")) == 2
    assert (out / "notes.txt").read_text() == "mine"
    # A file the tool did not write inside its folders: refused, never deleted.
    write_image(out / "aligned_faces" / "holiday.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(FaceswapError, match="did not write"):
        extract_video(video_a_3s, out, max_frames=2, overwrite=True, progress=False, detector=detector)
    assert (out / "aligned_faces" / "holiday.png").exists() and len(_files(out / "aligned_faces")) == 3


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    for video in (corrupt, tmp_path / "missing.mp4"):
        assert main(["extract", str(video), "--out", str(tmp_path / "o"), "--quiet"]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing created for a bad input
    assert main(["extract", str(corrupt), "--out", str(tmp_path / "o"), "--every", "0"]) == 1
    assert main(["extract", str(corrupt), "--out", str(tmp_path / "o"), "--detect-every", "0"]) == 1
    assert "--detect-every must be >= 1" in capsys.readouterr().err


def test_no_face_video_exits_nonzero_with_empty_folders(shared_data, video_a_3s, tmp_path, capsys):
    """The cartoon title at the end of face_then_no_face.mov, as its own clip."""
    from faceswap_parts.io.video import VideoReader, write_video

    reader = VideoReader(shared_data / "videos" / "face_then_no_face.mov", start=4.5, max_frames=4)
    clip = write_video(tmp_path / "title.mp4", (frame for _, _, frame in reader), reader.fps)
    out = tmp_path / "o"
    assert main(["extract", clip, "--out", str(out), "--quiet"]) == 1
    assert "no face found" in capsys.readouterr().err
    assert all(_files(out / sub) == [] for sub in FOLDERS)
    assert read_faces_json(out)["faces"] == []
    # What such a run leaves is no work to protect: the folder can be reused as is.
    assert main(["extract", str(video_a_3s), "--out", str(out), "--max-frames", "2", "--quiet"]) == 0


def test_face_then_no_face(shared_data, tmp_path, detector):
    summary = extract_video(shared_data / "videos" / "face_then_no_face.mov", tmp_path / "o", every=24,
                            progress=False, detector=detector)
    times = [f["time"] for f in read_faces_json(tmp_path / "o")["faces"]]
    assert summary.frames_processed == -(-summary.frames_read // 24)
    assert summary.faces_written == len(times) >= 3
    assert max(times) < 3.2  # faces only in the first ~3 s
    assert summary.frames_without_face == summary.frames_processed - summary.faces_written >= 4


def test_multi_face_keeps_the_largest_unless_all_faces(shared_data, tmp_path, detector):
    video = shared_data / "videos" / "multi_face_cuts.mp4"  # an audience shot from frame ~240
    one = extract_video(video, tmp_path / "one", every=60, max_frames=300, progress=False, detector=detector)
    assert one.faces_written == one.frames_with_face and one.faces_extra >= 1
    many = extract_video(video, tmp_path / "all", every=60, max_frames=300, all_faces=True, progress=False,
                         detector=detector)
    assert many.faces_written == one.faces_written + one.faces_extra
    faces = read_faces_json(tmp_path / "all")["faces"]
    crowd = [f for f in faces if f["frame"] == 240]
    assert len(crowd) >= 2
    areas = [(f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]) for f in crowd]
    assert areas == sorted(areas, reverse=True) and crowd[0]["file"].endswith("_000240_0.png")
    kept = [f for f in read_faces_json(tmp_path / "one")["faces"] if f["frame"] == 240]
    assert kept[0]["box"] == crowd[0]["box"]


def test_occluded_faces_keep_eye_masks_on_the_eyes(shared_data, tmp_path, detector):
    """occlusion_hands.mp4: a hand covers the mouth around frames 75-120; the
    face is still extracted and its eye mask still covers the eyes."""
    extract_video(shared_data / "videos" / "occlusion_hands.mp4", tmp_path / "o", every=24, max_frames=130,
                  progress=False, detector=detector)
    faces = read_faces_json(tmp_path / "o")["faces"]
    assert [f["frame"] for f in faces] == [0, 24, 48, 72, 96, 120]
    for face in faces:
        mask = read_mask(tmp_path / "o" / face["masks"]["eyes"])
        for x, y in np.round(template_points(256)[:2]).astype(int):
            assert mask[y, x] == 255


def test_cut_off_faces_are_skipped(shared_data, tmp_path, capsys):
    from faceswap_parts.io.video import write_video

    still = read_image(shared_data / "stills" / "obama_partial_face.jpg")
    still = still[: still.shape[0] // 2 * 2, : still.shape[1] // 2 * 2]
    clip = write_video(tmp_path / "partial.mp4", [still, still], 5)
    assert main(["extract", clip, "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert "2 cut off" in capsys.readouterr().err


def test_masks_command_on_a_face_set(extracted):
    assert main(["masks", str(extracted), "--parts", "nose,mouth+eyes", "--landmarks", "mtcnn", "--quiet"]) == 0
    data = read_faces_json(extracted)
    assert data["mask_landmarks"] == "mtcnn"
    names = _files(extracted / "aligned_faces")
    assert _files(extracted / "binary_masks_nose") == names == _files(extracted / "binary_masks_mouth_eyes")
    face = data["faces"][0]
    lm = np.asarray(face["landmarks68"])
    nose = read_mask(extracted / face["masks"]["nose"])
    x, y = np.round(lm[30]).astype(int)
    assert nose[y, x] == 255
    for x, y in np.round(ibug68.points5_from_68(lm)[:2]).astype(int):
        assert nose[y, x] == 0
    # Run again: its own masks are replaced without --overwrite.
    assert main(["masks", str(extracted), "--parts", "nose", "--quiet"]) == 0


def test_masks_command_on_plain_images(extracted, tmp_path, capsys):
    """Gray, RGBA and unreadable files in a plain folder; --assume-aligned crops."""
    import cv2

    plain = tmp_path / "plain"
    plain.mkdir()
    crop = read_image(extracted / read_faces_json(extracted)["faces"][0]["file"])
    cv2.imwrite(str(plain / "gray.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY))
    cv2.imwrite(str(plain / "alpha.png"), np.dstack([crop[..., ::-1], np.full(crop.shape[:2], 128, np.uint8)]))
    (plain / "broken.png").write_bytes(b"not an image")
    summary = make_masks(plain, parts="eyes", assume_aligned=True, progress=False)
    assert summary.masks_written == 2 and summary.unreadable == ["broken.png"]
    masks = list_images(plain / "binary_masks_eyes")
    assert [p.name for p in masks] == ["alpha.png", "gray.png"]
    for path in masks:
        mask = read_mask(path)
        assert mask.shape == (256, 256)
        for x, y in np.round(template_points(256)[:2]).astype(int):
            assert mask[y, x] == 255
    # The masks it wrote are not listed anywhere: replacing them needs --overwrite.
    assert main(["masks", str(plain), "--assume-aligned", "--quiet"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["masks", str(plain), "--assume-aligned", "--overwrite", "--quiet"]) == 0


def test_faces_json_is_valid_json_with_one_face_per_line(extracted):
    text = (extracted / "faces.json").read_text()
    data = json.loads(text)
    assert data["tool"] == "faceswap-parts" and len(data["faces"]) == 6
    assert sum(line.lstrip().startswith('{"file"') for line in text.splitlines()) == 6


def test_faces_are_followed_between_detections(video_a_3s, tmp_path, detector):
    every = extract_video(video_a_3s, tmp_path / "k1", max_frames=12, detect_every=1, progress=False,
                          detector=detector)
    other = extract_video(video_a_3s, tmp_path / "k2", max_frames=12, detect_every=2, progress=False,
                          detector=detector)
    assert every.faces_written == other.faces_written == 12
    detected, followed = (read_faces_json(tmp_path / k)["faces"] for k in ("k1", "k2"))
    assert read_faces_json(tmp_path / "k2")["detect_every"] == 2
    assert [f["detected"] for f in followed] == [True, False] * 6
    assert all(f["detected"] for f in detected)
    for a, b in zip(detected, followed):
        assert a["frame"] == b["frame"] and b["score"] > 0.9  # a followed face's score comes from O-Net
        assert np.abs(np.subtract(a["points5"], b["points5"])).max() < 6
        assert np.abs(np.subtract(a["box"], b["box"])).max() < 8


def test_a_face_that_flow_cannot_follow_is_detected(grace_hopper, tmp_path, detector):
    from faceswap_parts.io.video import VideoWriter

    face = np.ascontiguousarray(grace_hopper[:512, :512])
    grey = np.full_like(face, 128)
    moved = np.roll(face, (2, 3), axis=(0, 1))
    # detection is scheduled on even frames; frames 1 and 3 cannot be followed from the frame before
    frames = [grey, face, face, grey, face, moved]
    with VideoWriter(tmp_path / "cuts.mp4", 10, (512, 512), quality=9) as writer:
        for frame in frames:
            writer.write(frame)
    summary = extract_video(tmp_path / "cuts.mp4", tmp_path / "o", detect_every=2, progress=False,
                            detector=detector)
    faces = read_faces_json(tmp_path / "o")["faces"]
    assert [(f["frame"], f["detected"]) for f in faces] == [(1, True), (2, True), (4, True), (5, False)]
    assert summary.frames_without_face == 2
    shift = np.subtract(faces[3]["points5"], faces[2]["points5"]).mean(axis=0)
    np.testing.assert_allclose(shift, [3, 2], atol=0.5)


def test_a_segment_keeps_the_video_frame_numbers(video_a_3s, tmp_path, capsys):
    out = tmp_path / "seg"
    assert main(["extract", str(video_a_3s), "--out", str(out), "--start", "1", "--end", "1.2", "--quiet"]) == 0
    data = read_faces_json(out)
    assert data["start"] == 1.0 and data["end"] == 1.2
    assert [f["frame"] for f in data["faces"]] == list(range(30, 36))  # 30 fps: frames 30-35
    assert all(abs(f["time"] - f["frame"] / 30) < 1e-3 for f in data["faces"])
    assert data["faces"][0]["file"].endswith("_000030_0.png")
    assert main(["extract", str(video_a_3s), "--out", str(tmp_path / "late"), "--start", "9"]) == 1
    assert "beyond the end" in capsys.readouterr().err
