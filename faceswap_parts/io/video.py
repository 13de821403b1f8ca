"""Video reading and H.264 writing through the ffmpeg binary that ships in
``imageio-ffmpeg`` (OpenCV's writer cannot do H.264 or audio on most pip
builds).

Frames are RGB ``uint8`` arrays of shape ``(H, W, 3)`` everywhere in the
package.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.provenance import video_metadata_args
from faceswap_parts.io.files import check_output_path
from faceswap_parts.options import VIDEO_SUFFIXES, X264_PRESETS


@dataclass
class VideoInfo:
    """What ffmpeg reports about a video (size is ``(width, height)``)."""

    path: str
    fps: float
    size: tuple[int, int]
    duration: float
    has_audio: bool
    frame_count: int  # estimated from duration * fps; exact count comes from reading
    audio_codec: str = ""  # ffmpeg's description of the first audio track, "" without audio


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _check_input(path: str | os.PathLike) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FaceswapError(f"video not found: {path}")
    if os.path.isdir(path):
        raise FaceswapError(f"expected a video file, got a folder: {path}")
    if os.path.getsize(path) == 0:
        raise FaceswapError(f"video file is empty: {path}")
    return path


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's metadata; a missing or unreadable file raises :class:`FaceswapError`."""
    import imageio_ffmpeg

    path = _check_input(path)
    gen = imageio_ffmpeg.read_frames(path)
    try:
        meta = next(gen)
    except (OSError, RuntimeError, StopIteration) as err:
        text = str(err)
        if "Stream #" in text and "Video:" not in text:  # ffmpeg read the file and found only other streams
            raise FaceswapError(f"cannot read video {path}: it has no video stream (an audio-only file?)") from None
        raise FaceswapError(f"cannot read video {path}: not a video file or corrupt") from None
    finally:
        gen.close()
    fps = float(meta.get("fps") or 0.0)
    if fps <= 0 or not meta.get("size"):
        raise FaceswapError(f"cannot read video {path}: no video stream")
    duration = float(meta.get("duration") or 0.0)
    return VideoInfo(path=path, fps=fps, size=tuple(meta["size"]), duration=duration,
                     has_audio=bool(meta.get("audio_codec")), frame_count=int(round(duration * fps)),
                     audio_codec=str(meta.get("audio_codec") or ""))


class VideoReader:
    """Iterate over the RGB frames of a video segment.

    Args:
        path: video file.
        start: first second to read (``None`` = from the beginning).
        end: last second, exclusive (``None`` = to the end).
        max_frames: stop after this many frames.

    ``info`` holds the metadata; iterating yields ``(index, time_s, frame)``
    where ``index`` counts from the first frame of the segment and ``time_s``
    is the frame's time in the source video.
    """

    def __init__(self, path: str | os.PathLike, start: float | None = None, end: float | None = None,
                 max_frames: int | None = None):
        self.info = probe(path)
        self.start = float(start or 0.0)
        if self.start < 0:
            raise FaceswapError(f"--start must be >= 0, got {self.start}")
        if self.info.duration and self.start >= self.info.duration:
            raise FaceswapError(f"--start {self.start:g}s is beyond the end of {path} ({self.info.duration:.2f}s)")
        self.end = None if end is None else float(end)
        if self.end is not None and self.end <= self.start:
            raise FaceswapError(f"--end ({self.end:g}s) must be after --start ({self.start:g}s)")
        self.max_frames = max_frames
        self.first_frame = 0  # see segment()
        #: frames decoded so far by the current or last iteration (dropped ones included)
        self.frames_read = 0
        self.threads: int | None = None
        #: the whole video's frame number of the segment's first frame (index 0)
        self.start_index = int(round(self.start * self.fps))

    def segment(self, first_frame: int, max_frames: int | None, threads: int | None = None) -> "VideoReader":
        """A reader of this segment's frames ``first_frame`` to ``max_frames``
        (exclusive; ``None`` = to the end), with the same indices, without
        probing the file again.

        The frames before ``first_frame`` are decoded and dropped rather than
        sought, so indices stay exactly those of reading the whole segment.
        ``threads``: ffmpeg's decoding threads (``None`` = ffmpeg's choice);
        one thread decodes fast enough and costs less CPU (docs/conversion.md)."""
        import copy

        segment = copy.copy(self)
        segment.first_frame, segment.max_frames, segment.threads = int(first_frame), max_frames, threads
        return segment

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def size(self) -> tuple[int, int]:
        return self.info.size

    def cut_short(self, frames_read: int) -> str | None:
        """A one-line warning when a read that ran to its end yielded clearly
        fewer frames than the container announces (a file cut short that
        still decodes, its index being at the front), else ``None``."""
        expected = self.expected_frames()
        if self.max_frames is not None or expected - frames_read <= max(2, 0.05 * expected):
            return None
        return (f"{self.info.path} ended after {frames_read} of the {expected} frames its container announces: "
                f"the file looks cut short (a copy or download that did not finish?)")

    def expected_frames(self) -> int:
        """Estimated number of frames this reader yields (for progress bars)."""
        end = self.info.duration if self.end is None else min(self.end, self.info.duration or self.end)
        n = int(round(max(end - self.start, 0.0) * self.fps))
        return min(n, self.max_frames) if self.max_frames else n

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        import imageio_ffmpeg

        input_params = (["-threads", str(self.threads)] if self.threads else []) + \
            (["-ss", f"{self.start:.6f}"] if self.start > 0 else [])
        output_params = ["-t", f"{self.end - self.start:.6f}"] if self.end is not None else None
        gen = imageio_ffmpeg.read_frames(self.info.path, pix_fmt="rgb24", input_params=input_params,
                                         output_params=output_params)
        w, h = self.size
        self.frames_read = 0
        try:
            next(gen)
            for index, buf in enumerate(gen):
                if self.max_frames is not None and index >= self.max_frames:
                    break
                if index < self.first_frame:
                    continue
                frame = np.frombuffer(buf, dtype=np.uint8)
                if frame.size != w * h * 3:
                    break  # truncated last frame of a damaged file
                self.frames_read += 1
                yield index, self.start + index / self.fps, frame.reshape(h, w, 3)
        except RuntimeError as err:
            raise FaceswapError(f"error while decoding {self.info.path}: {str(err).splitlines()[0]}") from None
        finally:
            gen.close()

    def batches(self, batch_size: int, every: int = 1) -> Iterator[list[tuple[int, float, np.ndarray]]]:
        """Yield lists of up to ``batch_size`` ``(index, time_s, frame)`` tuples
        of every ``every``-th frame (``index`` counts from the segment's start)."""
        batch = []
        for item in self:
            if item[0] % every:
                continue
            batch.append(item)
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def read_frames(path: str | os.PathLike, **kwargs) -> tuple[list[np.ndarray], VideoInfo]:
    """All frames of a (short) video segment and its metadata; kwargs as :class:`VideoReader`."""
    reader = VideoReader(path, **kwargs)
    return [frame for _, _, frame in reader], reader.info


class VideoWriter:
    """Write RGB frames to an H.264 (yuv420p) MP4 that browsers and Colab play inline.

    Use as a context manager. Odd frame sizes are padded to even with black
    (yuv420p needs even dimensions) rather than resized.

    Args:
        path: the MP4 to write.
        fps: frame rate.
        size: ``(width, height)`` of the frames.
        quality: 0 (worst) to 10 (lossless), mapped to x264's CRF like
            imageio does (7 = CRF 15).
        protect: paths that must not be overwritten (the input video).
        preset: x264 speed preset (one of :data:`X264_PRESETS`; ``None`` = x264's default).
        threads: x264's threads (``None`` = x264's choice, about 1.5 per core); one
            per encoder is cheapest when several encoders share the cores.
        audio: ``(source, start_s)``: copy ``source``'s first audio track from
            ``start_s`` seconds, encoded in the same pass as the video (AAC),
            padded with silence or cut to the video's length.
        tag: the synthetic-media record (:func:`faceswap_parts.io.provenance.make_record`) that the
            container's tags carry; ``None``: no tag (intermediate files).

    Frames go to ffmpeg as YUV 4:2:0 converted by OpenCV (BT.601, as
    ffmpeg's own scaler would): half the bytes through the pipe and cheaper
    than ffmpeg's conversion.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int], quality: int = 7,
                 protect: tuple[str | os.PathLike, ...] = (), preset: str | None = None,
                 audio: tuple[str | os.PathLike, float] | None = None, threads: int | None = None,
                 tag: dict | None = None):
        self.path = check_output_path(path, *protect, suffixes=VIDEO_SUFFIXES)
        self.tag = tag
        if not 0 <= quality <= 10:
            raise FaceswapError(f"video quality must be within 0..10, got {quality}")
        if preset is not None and preset not in X264_PRESETS:
            raise FaceswapError(f"x264 preset must be one of {', '.join(X264_PRESETS)}, got {preset!r}")
        self.preset = preset
        self.threads = threads
        self.fps = float(fps)
        self.size = tuple(int(s) for s in size)
        self.quality = quality
        self.audio = audio
        self.frames_written = 0
        self._proc: subprocess.Popen | None = None
        self._log = None

    def _command(self) -> list[str]:
        from fractions import Fraction

        w, h = self.size
        rate = Fraction(self.fps).limit_denominator(1001 * 1000)
        cmd = [_ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
               "-s", f"{w + w % 2}x{h + h % 2}", "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "-"]
        audio_in, audio_out = _audio_args(self.audio)
        cmd += audio_in + ["-map", "0:v:0", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                           "-crf", str(int((1 - self.quality / 10) * 51))]
        cmd += ["-preset", self.preset] if self.preset else []
        cmd += ["-threads", str(self.threads)] if self.threads else []
        cmd += audio_out
        cmd += video_metadata_args(self.tag)
        return cmd + _container_args(self.path) + [self.path]

    def __enter__(self) -> "VideoWriter":
        import tempfile

        self._log = tempfile.TemporaryFile()  # ffmpeg's errors, without a pipe that could fill up
        self._proc = subprocess.Popen(self._command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=self._log)
        return self

    def _ffmpeg_error(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self._proc.returncode}"

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame of the writer's size."""
        import cv2

        h, w = frame.shape[:2]
        if (w, h) != self.size:
            raise ValueError(f"frame size {(w, h)} differs from the video size {self.size}")
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if w % 2 or h % 2:
            frame = cv2.copyMakeBorder(frame, 0, h % 2, 0, w % 2, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        try:
            self._proc.stdin.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).data)
        except BrokenPipeError:
            self._proc.wait()
            raise FaceswapError(f"ffmpeg stopped while writing {self.path}: {self._ffmpeg_error()}") from None
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        # no frame at all: nothing to keep, and ffmpeg would pad the audio forever (apad without a video end)
        empty = exc_type is None and self.frames_written == 0
        failed = exc_type is not None or empty
        try:
            if failed:
                self._proc.kill()
                self._proc.wait()
                if empty:
                    raise FaceswapError(f"no frames were written to {self.path}; nothing to encode")
            else:
                try:
                    self._proc.stdin.close()
                except BrokenPipeError:
                    pass
                failed = self._proc.wait() != 0
                if failed:
                    raise FaceswapError(f"ffmpeg could not write {self.path}: {self._ffmpeg_error()}")
        finally:
            self._log.close()
            if failed and os.path.exists(self.path):
                os.remove(self.path)  # a half-written file only misleads


def _audio_args(audio: tuple[str | os.PathLike, float] | None) -> tuple[list[str], list[str]]:
    """ffmpeg input and output arguments that add ``audio = (source, start_s)``
    as the second input's first audio track (none for ``None``)."""
    if audio is None:
        return [], []
    source, start = audio
    # silence-padded audio, cut where the video ends: the frame count never depends on the audio
    return ((["-ss", f"{start:.6f}"] if start > 0 else []) + ["-i", os.fspath(source)],
            ["-map", "1:a:0", "-c:a", "aac", "-b:a", "160k", "-af", "apad", "-shortest"])


def _container_args(path: str) -> list[str]:
    """ffmpeg's muxer for the output's suffix (one of :data:`VIDEO_SUFFIXES`; a temporary file ends in
    its target's): MP4 and MOV with the index up front, so a browser plays them while they load, and
    with tags of any name (the synthetic-media record's own key, beside the standard comment)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".mkv":
        return ["-f", "matroska"]
    return ["-movflags", "+faststart+use_metadata_tags", "-f", "mov" if suffix == ".mov" else "mp4"]


def concat_videos(parts: list[str | os.PathLike], path: str | os.PathLike,
                  audio: tuple[str | os.PathLike, float] | None = None, duration: float | None = None,
                  audio_codec: str | None = None, tag: dict | None = None) -> str:
    """Join MP4 parts written by :class:`VideoWriter` with the same settings
    into ``path`` without re-encoding the video; ``audio`` as in
    :class:`VideoWriter`. An AAC track is copied rather than re-encoded when
    ``duration`` (of the joined video, in seconds) says where to cut it;
    ``audio_codec`` is the source's :attr:`VideoInfo.audio_codec` (probed
    when not given); ``tag`` as in :class:`VideoWriter`."""
    import tempfile

    if not parts:
        raise FaceswapError(f"no video parts to join into {path}")
    path = os.fspath(path)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        for part in parts:  # the concat demuxer's quoting: ' becomes '\''
            listing.write("file '" + os.path.abspath(part).replace("'", "'\\''") + "'\n")
    audio_in, audio_out = _audio_args(audio)
    if audio_codec is None and audio is not None and duration is not None:
        audio_codec = probe(audio[0]).audio_codec
    if audio is not None and duration is not None and audio_codec.startswith("aac"):
        # MP4 holds AAC as is: copying saves the encode (seconds of CPU for a long video); a
        # shorter track stays shorter (no padding without encoding), a longer one is cut at the video's end
        audio_out = ["-map", "1:a:0", "-c:a", "copy", "-t", f"{duration:.6f}"]
    cmd = [_ffmpeg(), "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", listing.name, *audio_in,
           "-map", "0:v:0", "-c:v", "copy", *audio_out, *video_metadata_args(tag),
           *_container_args(path), path]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.remove(listing.name)
    if done.returncode != 0:
        if os.path.exists(path):
            os.remove(path)
        lines = done.stderr.strip().splitlines()
        raise FaceswapError(f"ffmpeg could not join the parts of {path}: {lines[-1] if lines else done.returncode}")
    return path


def write_video(path: str | os.PathLike, frames, fps: float, **kwargs) -> str:
    """Write an iterable of RGB frames to an H.264 MP4; returns the path."""
    frames = iter(frames)
    first = next(frames)
    with VideoWriter(path, fps, (first.shape[1], first.shape[0]), **kwargs) as writer:
        writer.write(first)
        for frame in frames:
            writer.write(frame)
    return os.fspath(path)
