"""Video conversion: frame-level exactness, parts-only swaps, tracking
jitter, the convert CLI end to end, and one-line errors for bad inputs.

The model is a randomly initialised 64 px lite model saved in the trainer's
checkpoint format: conversion's behaviour (what changes where, frame counts,
audio, errors) does not depend on how well it was trained.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from faceswap_parts.cli import main
from faceswap_parts.config import ModelConfig
from faceswap_parts.conversion import ConverterConfig, VideoConverter
from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.video import VideoReader, probe, read_frames, write_video

FAST = dict(progress_bar=False, batch_size=8)


@pytest.fixture(scope="session")
def no_face_video(shared_data):
    return shared_data / "videos" / "face_then_no_face.mov"


def test_frames_without_faces_pass_through_bit_identical(no_face_video, model):
    face_frames, _ = read_frames(no_face_video, start=1.0, max_frames=4)
    title_frames, _ = read_frames(no_face_video, start=5.0, max_frames=6)  # the cartoon title
    converter = VideoConverter(model, ConverterConfig(**FAST))
    results, alphas = converter.swap_frames(face_frames + title_frames)
    for frame, result, alpha in zip(face_frames, results, alphas):
        assert alpha is not None and not np.array_equal(frame, result)
    for frame, result, alpha in zip(title_frames, results[4:], alphas[4:]):
        assert alpha is None and np.array_equal(frame, result)


def test_parts_change_only_pixels_inside_the_chosen_regions(video_a_3s, model):
    from faceswap_parts.faces.landmarks import get_landmarker
    from faceswap_parts.faces.masks import parts_mask

    frames, _ = read_frames(video_a_3s, max_frames=2)
    config = ConverterConfig(parts="eyes", landmarks="mtcnn", smoothing="none", detect_every=1, **FAST)
    converter = VideoConverter(model, config)
    results, _ = converter.swap_frames(frames)
    landmarker = get_landmarker("mtcnn", verbose=False)
    for frame, result in zip(frames, results):
        boxes, points = converter.detect([frame])[0]
        eyes = parts_mask(landmarker.predict(frame, boxes[:1], points[:1])[0], frame.shape[:2], ("eyes",))
        changed = (result != frame).any(axis=2)
        assert changed.sum() > 50, "the eyes were not swapped"
        assert not changed[eyes == 0].any(), "pixels outside the eye regions changed"
        left, right = points[0, 0], points[0, 1]
        for x, y in (left, right):  # both eyes changed
            assert changed[int(y) - 6:int(y) + 7, int(x) - 6:int(x) + 7].any()


def test_kalman_smoothing_reduces_box_jitter(video_a_3s, model):
    from faceswap_parts.faces.smoothing import box_jitter
    from faceswap_parts.faces.tracking import FaceTracker

    frames, _ = read_frames(video_a_3s, max_frames=30)
    detections = VideoConverter(model, ConverterConfig(**FAST)).detect(frames)
    jitter = {}
    for method in ("kalman", "none"):
        tracker = FaceTracker(smoother=dict(method=method))
        boxes = [tracker.update(f, d, need_flow=False)[0].box for f, d in zip(frames, detections)]
        jitter[method] = box_jitter(boxes)
    assert jitter["kalman"] < 0.8 * jitter["none"], jitter


def test_convert_image_changes_the_face_only(grace_hopper, model):
    converter = VideoConverter(model, ConverterConfig(**FAST))
    out = converter.convert_image(grace_hopper)
    assert out.shape == grace_hopper.shape and out.dtype == np.uint8
    changed = (out != grace_hopper).any(axis=2)
    boxes, _ = converter.detect([grace_hopper])[0]
    x1, y1, x2, y2 = boxes[0]
    w, h = x2 - x1, y2 - y1
    assert changed[int(y1):int(y2), int(x1):int(x2)].mean() > 0.2
    outside = changed.copy()
    outside[max(int(y1 - h), 0):int(y2 + h), max(int(x1 - w), 0):int(x2 + w)] = False
    assert not outside.any()
    blank = np.full((200, 200, 3), 90, np.uint8)
    assert np.array_equal(converter.convert_image(blank), blank)


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("faceswap-parts convert: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_convert_cli_end_to_end(video_a_3s, workdir, tmp_path, capsys):
    out = tmp_path / "side.mp4"
    assert main(["convert", str(video_a_3s), "--model", str(workdir), "--out", str(out), "--max-frames", "10",
                 "--output-type", "side-by-side", "--quiet"]) == 0
    info = probe(out)
    assert info.size == (1024, 512) and info.fps == pytest.approx(30.0) and info.has_audio
    assert len(read_frames(out)[0]) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["side.mp4"]  # no temporary files left

    triple = tmp_path / "triple.mp4"
    assert main(["convert", str(video_a_3s), "--model", str(workdir), "--out", str(triple), "--start", "1",
                 "--max-frames", "6", "--output-type", "triple", "--no-audio", "--quiet",
                 "--resolution", "64"]) == 0
    info = probe(triple)
    assert info.size == (1536, 512) and not info.has_audio and len(read_frames(triple)[0]) == 6
    assert "evaluate ... --start 1`" in capsys.readouterr().out  # how to score the segment

    # a video without audio converts fine; result layout keeps the input size
    again = tmp_path / "again.mp4"
    assert main(["convert", str(triple), "--model", str(workdir), "--out", str(again), "--quiet"]) == 0
    info = probe(again)
    assert info.size == (1536, 512) and not info.has_audio and len(read_frames(again)[0]) == 6
    assert "wrote" in capsys.readouterr().out


def test_convert_api_reports_progress_and_counts(video_a_3s, model, tmp_path):
    calls = []
    config = ConverterConfig(max_frames=5, audio=False, **FAST)
    result = VideoConverter(model, config).convert(video_a_3s, tmp_path / "o.mp4", progress=lambda *a: calls.append(a))
    assert result.frames == 5 and result.frames_with_faces == 5 and not result.audio
    assert calls and calls[-1][0] == 5
    assert result.timings["detector"] > 0 and result.timings["generator"] > 0


def test_a_failure_mid_way_leaves_no_half_video(video_a_3s, model, tmp_path):
    out = tmp_path / "out.mp4"
    write_video(out, [np.full((64, 64, 3), 100, np.uint8)] * 3, fps=10)  # the previous result
    previous = out.read_bytes()

    def crash(done, total):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        VideoConverter(model, ConverterConfig(max_frames=10, **FAST)).convert(video_a_3s, out, progress=crash)
    assert out.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_parts_converted_at_once_join_into_the_same_video(video_a_3s, model, tmp_path, monkeypatch):
    """workers=2 (threads, one torch thread each) gives the frames, boxes and
    audio of one pipeline; only generator rounding and x264 differ."""
    from faceswap_parts.io import video

    codec_threads = []  # (decoder, encoder) threads of each pipeline's ffmpeg processes
    command = video.VideoWriter._command
    monkeypatch.setattr(video.VideoWriter, "_command", lambda writer: codec_threads.append(writer.threads)
                        or command(writer))
    segment = video.VideoReader.segment
    monkeypatch.setattr(video.VideoReader, "segment", lambda reader, *a: codec_threads.append(a[2]) or segment(reader, *a))
    runs, threads = {}, torch.get_num_threads()
    for workers in (1, 2):
        codec_threads.clear()
        calls = []
        converter = VideoConverter(model, ConverterConfig(workers=workers, **FAST))
        result = converter.convert(video_a_3s, tmp_path / f"out{workers}.mp4", progress=lambda *a: calls.append(a))
        runs[workers] = result, converter.history, read_frames(result.path)[0]
        assert [done for done, _ in calls] == sorted(done for done, _ in calls) and calls[-1] == (90, 90)
        # segments decode and encode with their share of the threads; one pipeline leaves ffmpeg its choice
        assert sorted(codec_threads, key=str) == ([None] if workers == 1 else [max(1, threads // 2)] * 4)
    (one, boxes_one, frames_one), (two, boxes_two, frames_two) = runs[1], runs[2]
    assert torch.get_num_threads() == threads  # the threads' share is handed back
    assert (two.frames, two.frames_with_faces, two.audio) == (one.frames, one.frames_with_faces, one.audio) == (90, 90, True)
    assert two.timings["detector"] > 0 and two.timings["generator"] > 0
    # the second segment tracked from 30 frames before its first: smoothing runs into the join warmed up
    assert len(boxes_two) == 90 and max(np.abs(a - b).max() for a, b in zip(boxes_one, boxes_two)) < 0.5
    assert np.abs(np.stack(frames_one).astype(int) - np.stack(frames_two)).mean(axis=(1, 2, 3)).max() < 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out1.mp4", "out2.mp4"]


def test_automatic_workers_split_only_long_videos_on_a_cpu(model, monkeypatch):
    from faceswap_parts.conversion.segments import MIN_SEGMENT_FRAMES, segment_starts

    converter = VideoConverter(model, ConverterConfig(**FAST))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert converter.workers_for(2 * MIN_SEGMENT_FRAMES) == 2 and converter.workers_for(2 * MIN_SEGMENT_FRAMES - 1) == 1
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert converter.workers_for(10_000) == 1
    assert VideoConverter(model, ConverterConfig(workers=3, **FAST)).workers_for(2) == 2  # a frame a segment at least
    # later segments are shorter by the frames they decode first and track to warm up
    assert segment_starts(1200, 1) == [0]
    first, second = segment_starts(1200, 2)
    assert first == 0 and 600 < second < 650
    starts = segment_starts(1200, 3)
    assert starts[0] == 0 and starts[1] - starts[0] > starts[2] - starts[1] > 1200 - starts[2]


def test_a_failing_part_stops_the_conversion_and_leaves_nothing(video_a_3s, model, tmp_path, monkeypatch):
    import tempfile

    from faceswap_parts.conversion import converter as module

    converter = VideoConverter(model, ConverterConfig(workers=2, **FAST))
    real = converter.generate
    calls = []

    def generate(self, crops):
        calls.append(len(crops))
        if len(calls) == 3:
            raise FaceswapError("the generator failed")
        return real(crops)

    monkeypatch.setattr(module.VideoConverter, "generate", generate)
    before, threads = set(Path(tempfile.gettempdir()).glob("faceswap-parts-convert-*")), torch.get_num_threads()
    with pytest.raises(FaceswapError, match="the generator failed"):
        converter.convert(video_a_3s, tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []
    assert set(Path(tempfile.gettempdir()).glob("faceswap-parts-convert-*")) == before
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("case", ["missing video", "corrupt video", "no checkpoint", "wrong resolution",
                                  "missing output folder", "start beyond end", "output is input",
                                  "unknown part", "negative workers"])
def test_bad_inputs_are_one_line_errors(case, video_a_3s, workdir, tmp_path, capsys):
    video, model_dir, out, extra = str(video_a_3s), str(workdir), tmp_path / "out.mp4", []
    if case == "missing video":
        video = str(tmp_path / "nope.mp4")
    elif case == "corrupt video":
        video = tmp_path / "bad.mp4"
        video.write_bytes(b"\x00not a video" * 100)
        video = str(video)
    elif case == "no checkpoint":
        model_dir = str(tmp_path)
    elif case == "wrong resolution":
        extra = ["--resolution", "128"]
    elif case == "missing output folder":
        out = tmp_path / "missing" / "out.mp4"
    elif case == "start beyond end":
        extra = ["--start", "100"]
    elif case == "output is input":
        out = tmp_path / "input.mp4"
        write_video(out, [np.full((64, 64, 3), 100, np.uint8)] * 3, fps=10)
        video = str(out)
    elif case == "unknown part":
        extra = ["--parts", "eyes,ears"]
    elif case == "negative workers":
        extra = ["--workers", "-1"]
    before = out.read_bytes() if out.exists() else None
    _one_line_error(capsys, ["convert", video, "--model", model_dir, "--out", str(out), "--quiet", *extra])
    assert (out.read_bytes() if out.exists() else None) == before  # nothing written, input untouched


@pytest.mark.parametrize("kwargs", [dict(detect_every=0), dict(roi_coverage=1.5), dict(direction="AtoC"),
                                    dict(color_correction="lab"), dict(smoothing="median"),
                                    dict(output_type="quad"), dict(max_frames=0), dict(encoder_preset="turbo"),
                                    dict(workers=-1)])
def test_bad_config_values_are_errors(kwargs):
    with pytest.raises(FaceswapError):
        ConverterConfig(**kwargs)


def test_detection_every_k_frames_tracks_in_between(video_a_3s, model):
    frames = [f for _, _, f in VideoReader(video_a_3s, max_frames=6)]
    converter = VideoConverter(model, ConverterConfig(detect_every=3, **FAST))
    calls = []
    detect = converter.finder.detect
    converter.finder.detect = lambda fs: calls.append(len(fs)) or detect(fs)
    results, alphas = converter.swap_frames(frames)
    assert calls == [2]  # frames 0 and 3
    assert all(a is not None for a in alphas)  # optical flow carried the face through frames 1, 2, 4, 5


def test_a_face_that_flow_loses_is_detected_instead_of_left_unswapped(grace_hopper, astronaut, model):
    first, cut = np.ascontiguousarray(grace_hopper[:512, :512]), astronaut  # a cut between two 512x512 shots
    converter = VideoConverter(model, ConverterConfig(detect_every=2, **FAST))
    calls = []
    detect = converter.finder.detect
    converter.finder.detect = lambda fs: calls.append(len(fs)) or detect(fs)
    faces = converter.track_frames([first, cut])
    assert calls == [1, 1]  # the scheduled frame 0, then frame 1 once flow could not follow her face
    assert faces[1] and faces[1][0].detected
    box = faces[1][0].raw_box  # Eileen Collins' face, not Grace Hopper's position
    assert abs((box[0] + box[2]) / 2 - 224) < 15 and abs((box[1] + box[3]) / 2 - 117) < 20
    results, alphas = VideoConverter(model, ConverterConfig(detect_every=2, **FAST)).swap_frames([first, cut])
    assert alphas[1] is not None and alphas[1][117, 224] > 0  # swapped, not passed through


def test_all_faces_swaps_every_face_and_default_only_the_largest(shared_data, model):
    from scipy import ndimage

    frames, _ = read_frames(shared_data / "videos" / "multi_face_cuts.mp4", start=8.5, max_frames=1)
    counts = {}
    for all_faces in (False, True):
        converter = VideoConverter(model, ConverterConfig(all_faces=all_faces, **FAST))
        _, alphas = converter.swap_frames(frames)
        counts[all_faces] = ndimage.label(alphas[0] > 0)[1]
    assert counts[False] == 1 and counts[True] >= 3, counts


@pytest.mark.slow
def test_convert_with_a_model_trained_by_the_trainer(video_a_3s, video_b_3s, tmp_path):
    """A few real training iterations, then the CLI on its workdir."""
    from faceswap_parts.faces.alignment import align_face
    from faceswap_parts.faces.detection import FaceDetector
    from faceswap_parts.io.images import write_image
    from faceswap_parts.training import TrainConfig, Trainer

    detector = FaceDetector(min_face_size=40, max_side=320)
    for name, video in (("a", video_a_3s), ("b", video_b_3s)):
        folder = tmp_path / name
        folder.mkdir()
        frames, _ = read_frames(video, max_frames=16)
        for i, (frame, (_, _, points)) in enumerate(zip(frames, zip(*detector.detect(frames)))):
            write_image(folder / f"{i:03d}.png", align_face(frame, points[0], size=256)[0])
    workdir = tmp_path / "run"
    config = TrainConfig(a_dir=str(tmp_path / "a"), b_dir=str(tmp_path / "b"), workdir=str(workdir),
                         model=ModelConfig(resolution=64, capacity="lite"), batch_size=2, perceptual=False,
                         progress=False, preview_interval=0, save_interval=0, backup_interval=0)
    Trainer(config).train(3)
    out = tmp_path / "swapped.mp4"
    assert main(["convert", str(video_a_3s), "--model", str(workdir), "--out", str(out), "--max-frames", "20",
                 "--quiet"]) == 0
    info = probe(out)
    assert info.size == (512, 512) and info.has_audio and len(read_frames(out)[0]) == 20


def test_convert_of_a_cut_short_odd_sized_clip_says_both(video_a_3s, workdir, tmp_path, capsys):
    """A clip whose end is missing (index at the front) still converts, with a
    warning; odd frame sizes are padded for H.264 and the message says so."""
    from faceswap_parts.errors import FaceswapWarning

    import imageio_ffmpeg

    frames, info = read_frames(video_a_3s, max_frames=60)
    whole = write_video(tmp_path / "whole.mp4", frames, info.fps)
    data = open(whole, "rb").read()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) * 2 // 5])
    with pytest.warns(FaceswapWarning, match="ended after .* of the 60 frames its container announces"):
        assert main(["convert", str(cut), "--model", str(workdir), "--out", str(tmp_path / "c.mp4"), "--quiet"]) == 0
    capsys.readouterr()
    odd = tmp_path / "odd.mkv"  # PNG frames keep the odd size, which H.264 cannot
    writer = imageio_ffmpeg.write_frames(str(odd), (509, 511), fps=info.fps, codec="png", pix_fmt_out="rgb24",
                                         macro_block_size=1)
    writer.send(None)
    for frame in frames[:15]:
        writer.send(np.ascontiguousarray(frame[:511, :509]))
    writer.close()
    assert probe(odd).size == (509, 511)
    out = tmp_path / "out.mp4"
    assert main(["convert", str(odd), "--model", str(workdir), "--out", str(out), "--quiet"]) == 0
    assert "510x512 (the 509x511 frames with a black edge: H.264 needs even sizes)" in capsys.readouterr().out
    assert probe(out).size == (510, 512)
    err = _one_line_error(capsys, ["convert", str(cut), "--model", str(workdir), "--out", str(tmp_path / "h.mp4"),
                                   "--device", "cpu", "--precision", "fp16", "--quiet"])
    assert "fp16 is not for CPUs" in err
