"""Video reading/writing through imageio-ffmpeg: H.264, audio, segments, bad files."""
import numpy as np
import pytest

from faceswap_parts.io import video
from faceswap_parts.errors import FaceswapError


def _frames(n, w=96, h=64):
    return [np.full((h, w, 3), (i * 10) % 256, np.uint8) for i in range(n)]


def test_write_then_read_round_trip(tmp_path):
    out = tmp_path / "clip.mp4"
    video.write_video(out, _frames(12), fps=24)
    info = video.probe(out)
    assert (info.fps, info.size, info.has_audio) == (24.0, (96, 64), False)
    frames, _ = video.read_frames(out)
    assert len(frames) == 12
    assert abs(int(frames[5].mean()) - 50) <= 3  # H.264 is lossy, flat frames nearly exact


def test_h264_yuv420p_codec(tmp_path):
    import imageio_ffmpeg

    out = tmp_path / "clip.mp4"
    video.write_video(out, _frames(3, 33, 21), fps=10)  # odd size gets padded, not rejected
    meta = next(imageio_ffmpeg.read_frames(str(out)))
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == (34, 22)


def test_segment_and_max_frames(video_a_3s):
    reader = video.VideoReader(video_a_3s, start=1.0, end=2.0)
    items = list(reader)
    assert abs(len(items) - 30) <= 1
    assert items[0][1] == pytest.approx(1.0)
    assert len(list(video.VideoReader(video_a_3s, max_frames=7))) == 7
    batches = list(video.VideoReader(video_a_3s, max_frames=10).batches(4))
    assert [len(b) for b in batches] == [4, 4, 2]


def test_first_frame_skips_to_the_same_frames_and_indices(video_a_3s):
    whole = list(video.VideoReader(video_a_3s, start=0.5, max_frames=40))
    tail = list(video.VideoReader(video_a_3s, start=0.5).segment(25, 40))
    assert [i for i, _, _ in tail] == list(range(25, 40))
    for (i, t, frame), (j, u, same) in zip(tail, whole[25:]):
        assert (i, t) == (j, u) and np.array_equal(frame, same)


def test_part_reads_frames_of_the_same_segment_without_probing_again(video_a_3s, monkeypatch):
    reader = video.VideoReader(video_a_3s, start=0.5)
    whole = list(reader)
    monkeypatch.setattr(video, "probe", lambda path: pytest.fail("probed again"))
    middle = list(reader.segment(10, 25, threads=1))  # single-threaded decoding gives the same frames
    assert [i for i, _, _ in middle] == list(range(10, 25))
    assert all(np.array_equal(frame, whole[i][2]) for i, _, frame in middle)
    assert [i for i, _, _ in reader.segment(len(whole) - 3, None)] == list(range(len(whole) - 3, len(whole)))
    assert (reader.first_frame, reader.max_frames, reader.threads) == (0, None, None)  # the original is unchanged


def _samples(path, start):
    """0.5 s of a file's audio from ``start`` s, mono 8 kHz."""
    import subprocess

    cmd = [video._ffmpeg(), "-loglevel", "error", "-ss", str(start), "-i", str(path), "-t", "0.5",
           "-vn", "-ac", "1", "-ar", "8000", "-f", "s16le", "-"]
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, np.int16).astype(float)


def _same_sound(ours, source):
    n = min(len(ours), len(source))
    return n > 3000 and np.corrcoef(ours[:n], source[:n])[0, 1] > 0.9


@pytest.mark.parametrize("duration", [1.0, None])  # AAC copied and cut / re-encoded and padded
def test_concat_joins_parts_exactly_with_the_source_audio(tmp_path, video_a_3s, duration):
    frames = [np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8) for i in range(30)]
    parts = [video.write_video(tmp_path / "a.mp4", frames[:12], 30), video.write_video(tmp_path / "b.mp4", frames[12:], 30)]
    out = video.concat_videos(parts, tmp_path / "joined.mp4", audio=(video_a_3s, 0.5), duration=duration)
    joined, info = video.read_frames(out)
    pieces = video.read_frames(parts[0])[0] + video.read_frames(parts[1])[0]
    assert len(joined) == 30 and all(np.array_equal(a, b) for a, b in zip(joined, pieces))  # not re-encoded
    assert info.has_audio and info.duration == pytest.approx(1.0, abs=0.1)
    assert _same_sound(_samples(out, 0.2), _samples(video_a_3s, 0.7))  # in sync with the source
    with pytest.raises(FaceswapError, match="no video parts"):
        video.concat_videos([], tmp_path / "none.mp4")
    with pytest.raises(FaceswapError, match="could not join"):
        video.concat_videos([tmp_path / "missing.mp4"], tmp_path / "bad.mp4")
    assert not (tmp_path / "bad.mp4").exists()


def test_writer_adds_source_audio_in_the_same_pass(tmp_path, video_a_3s):
    out = tmp_path / "with_audio.mp4"
    with video.VideoWriter(out, 30, (64, 64), audio=(video_a_3s, 0.5)) as writer:
        for frame in _frames(30, 64, 64):
            writer.write(frame)
    info = video.probe(out)
    assert info.has_audio and info.duration == pytest.approx(1.0, abs=0.1)
    assert len(video.read_frames(out)[0]) == 30  # audio never adds or drops frames
    # the audio is the source's from 0.5 s on: its waveform matches the source's there
    assert _same_sound(_samples(out, 0.2), _samples(video_a_3s, 0.7))


def test_writer_without_audio_and_odd_sizes(tmp_path):
    out = tmp_path / "odd.mp4"
    ramp = np.linspace(40, 220, 33).astype(np.uint8)
    frames = [np.dstack([np.tile(ramp, (21, 1))] * 3)] * 5
    video.write_video(out, frames, fps=30000 / 1001)
    back, info = video.read_frames(out)
    assert len(back) == 5 and not info.has_audio and info.size == (34, 22)
    assert info.fps == pytest.approx(29.97, abs=0.01)
    # padding is black and the picture is not resized
    assert back[0][:, 33].max() < 20 and np.abs(back[0][:21, :33].astype(int) - frames[0]).mean() < 6


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 50])
def test_bad_files_raise_one_line_errors(tmp_path, content):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(FaceswapError) as err:
        video.probe(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(FaceswapError, match="not found"):
        video.probe(tmp_path / "missing.mp4")


def test_start_beyond_end_and_bad_segment(video_a_3s):
    with pytest.raises(FaceswapError, match="beyond the end"):
        video.VideoReader(video_a_3s, start=99)
    with pytest.raises(FaceswapError, match="must be after"):
        video.VideoReader(video_a_3s, start=2, end=1)


def test_writer_refuses_input_folder_and_missing_folder(tmp_path, video_a_3s):
    with pytest.raises(FaceswapError, match="refusing to overwrite"):
        video.VideoWriter(video_a_3s, 30, (64, 64), protect=(video_a_3s,))
    with pytest.raises(FaceswapError, match="does not exist"):
        video.VideoWriter(tmp_path / "nope" / "out.mp4", 30, (64, 64))
    with pytest.raises(FaceswapError, match="output path is a folder") as err:
        video.VideoWriter(tmp_path, 30, (64, 64))
    assert "\n" not in str(err.value) and tmp_path.is_dir()


def test_single_threaded_encoder_writes_the_same_frames(tmp_path):
    y, x = np.mgrid[0:48, 0:64]
    frames = [np.stack([x * 2 + k * 4, y * 4, np.full_like(x, 40 + k * 10)], axis=-1).astype(np.uint8)
              for k in range(12)]  # smooth, so 4:2:0 chroma keeps them
    decoded = {}
    for threads in (None, 1):
        out = tmp_path / f"threads{threads}.mp4"
        with video.VideoWriter(out, 24, (64, 48), preset="superfast", threads=threads) as writer:
            assert ("-threads" in writer._command()) == (threads is not None)
            for frame in frames:
                writer.write(frame)
        decoded[threads] = [f.astype(int) for _, _, f in video.VideoReader(out)]
    assert len(decoded[None]) == len(decoded[1]) == len(frames)
    for one, auto, frame in zip(decoded[1], decoded[None], frames):
        assert np.abs(one - frame).mean() < 3 and np.abs(one - auto).mean() < 1


def test_writer_rejects_unknown_preset_and_quality(tmp_path):
    with pytest.raises(FaceswapError, match="x264 preset"):
        video.VideoWriter(tmp_path / "out.mp4", 30, (64, 64), preset="turbo")
    with pytest.raises(FaceswapError, match="quality"):
        video.VideoWriter(tmp_path / "out.mp4", 30, (64, 64), quality=11)
    assert not (tmp_path / "out.mp4").exists()


def test_ffmpeg_failure_is_a_one_line_error_and_leaves_no_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 50)
    out = tmp_path / "out.mp4"
    with pytest.raises(FaceswapError, match="ffmpeg") as err:
        with video.VideoWriter(out, 10, (32, 32), audio=(bad, 0.0)) as writer:
            for _ in range(200):
                writer.write(np.zeros((32, 32, 3), np.uint8))
    assert "\n" not in str(err.value) and not out.exists()


def test_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(ValueError):
        with video.VideoWriter(out, 10, (32, 32)) as writer:
            writer.write(np.zeros((32, 32, 3), np.uint8))
            writer.write(np.zeros((16, 16, 3), np.uint8))
    assert not out.exists()


def test_a_writer_closed_without_frames_refuses_and_leaves_no_file(video_a_3s, tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(FaceswapError, match="no frames were written"):
        with video.VideoWriter(out, 30, (64, 64), audio=(video_a_3s, 0.0)):
            pass  # with audio, ffmpeg would otherwise pad silence without end
    assert not out.exists()
