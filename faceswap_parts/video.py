"""Video reading and H.264 writing through the ffmpeg binary that ships in
``imageio-ffmpeg`` (OpenCV's writer cannot do H.264 or audio on most pip
builds).

Frames are RGB ``uint8`` arrays of shape ``(H, W, 3)`` everywhere in the
package.
"""
from __future__ import annotations

import os
import queue
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from faceswap_parts.errors import FaceswapError


@dataclass
class VideoInfo:
    """What ffmpeg reports about a video (size is ``(width, height)``)."""

    path: str
    fps: float
    size: tuple[int, int]
    duration: float
    has_audio: bool
    frame_count: int  # estimated from duration * fps; exact count comes from reading


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
    except (OSError, RuntimeError, StopIteration):
        raise FaceswapError(f"cannot read video {path}: not a video file or corrupt") from None
    finally:
        gen.close()
    fps = float(meta.get("fps") or 0.0)
    if fps <= 0 or not meta.get("size"):
        raise FaceswapError(f"cannot read video {path}: no video stream")
    duration = float(meta.get("duration") or 0.0)
    return VideoInfo(path=path, fps=fps, size=tuple(meta["size"]), duration=duration,
                     has_audio=bool(meta.get("audio_codec")), frame_count=int(round(duration * fps)))


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

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def size(self) -> tuple[int, int]:
        return self.info.size

    def expected_frames(self) -> int:
        """Estimated number of frames this reader yields (for progress bars)."""
        end = self.info.duration if self.end is None else min(self.end, self.info.duration or self.end)
        n = int(round(max(end - self.start, 0.0) * self.fps))
        return min(n, self.max_frames) if self.max_frames else n

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        import imageio_ffmpeg

        input_params = ["-ss", f"{self.start:.6f}"] if self.start > 0 else None
        output_params = ["-t", f"{self.end - self.start:.6f}"] if self.end is not None else None
        gen = imageio_ffmpeg.read_frames(self.info.path, pix_fmt="rgb24", input_params=input_params,
                                         output_params=output_params)
        w, h = self.size
        try:
            next(gen)
            for index, buf in enumerate(gen):
                if self.max_frames is not None and index >= self.max_frames:
                    break
                frame = np.frombuffer(buf, dtype=np.uint8)
                if frame.size != w * h * 3:
                    break  # truncated last frame of a damaged file
                yield index, self.start + index / self.fps, frame.reshape(h, w, 3)
        except RuntimeError as err:
            raise FaceswapError(f"error while decoding {self.info.path}: {str(err).splitlines()[0]}") from None
        finally:
            gen.close()

    def batches(self, batch_size: int) -> Iterator[list[tuple[int, float, np.ndarray]]]:
        """Yield lists of up to ``batch_size`` ``(index, time_s, frame)`` tuples."""
        batch = []
        for item in self:
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


def _check_output(path: str | os.PathLike, *inputs: str | os.PathLike) -> str:
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FaceswapError(f"output folder does not exist: {parent}")
    for src in inputs:
        if src is not None and os.path.exists(path) and os.path.samefile(path, src):
            raise FaceswapError(f"refusing to overwrite the input video {src}; choose another output path")
    return path


class VideoWriter:
    """Write RGB frames to an H.264 (yuv420p) MP4 that browsers and Colab play inline.

    Use as a context manager. Odd frame sizes are padded to even by ffmpeg's
    scaler rather than resized (yuv420p needs even dimensions).
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int], quality: int = 7,
                 protect: tuple[str | os.PathLike, ...] = (), preset: str | None = None):
        self.path = _check_output(path, *protect)
        self.preset = preset  # x264 speed preset ("veryfast": about half the CPU of the default)
        self.fps = float(fps)
        self.size = tuple(int(s) for s in size)
        self.quality = quality
        self.frames_written = 0
        self._gen = None

    def __enter__(self) -> "VideoWriter":
        import imageio_ffmpeg

        self._gen = imageio_ffmpeg.write_frames(
            self.path, self.size, fps=self.fps, codec="libx264", pix_fmt_out="yuv420p", quality=self.quality,
            macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-movflags", "+faststart"]
            + (["-preset", self.preset] if self.preset else []))
        self._gen.send(None)
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame of the writer's size."""
        h, w = frame.shape[:2]
        if (w, h) != self.size:
            raise ValueError(f"frame size {(w, h)} differs from the video size {self.size}")
        self._gen.send(np.ascontiguousarray(frame, dtype=np.uint8))
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        self._gen.close()
        if exc_type is not None and os.path.exists(self.path):
            os.remove(self.path)  # a half-written file only misleads


def write_video(path: str | os.PathLike, frames, fps: float, **kwargs) -> str:
    """Write an iterable of RGB frames to an H.264 MP4; returns the path."""
    frames = iter(frames)
    first = next(frames)
    with VideoWriter(path, fps, (first.shape[1], first.shape[0]), **kwargs) as writer:
        writer.write(first)
        for frame in frames:
            writer.write(frame)
    return os.fspath(path)


def mux_audio(video_path: str | os.PathLike, audio_source: str | os.PathLike, out_path: str | os.PathLike,
              start: float = 0.0, duration: float | None = None) -> bool:
    """Copy ``video_path``'s video and ``audio_source``'s audio (from ``start``
    seconds, for ``duration``) into ``out_path``.

    Returns ``False`` (and copies the video alone) when the source has no
    audio track.
    """
    if not probe(audio_source).has_audio:
        if os.fspath(video_path) != os.fspath(out_path):
            Path(out_path).write_bytes(Path(video_path).read_bytes())
        return False
    cmd = [_ffmpeg(), "-y", "-loglevel", "error", "-i", os.fspath(video_path)]
    if start > 0:
        cmd += ["-ss", f"{start:.6f}"]
    if duration is not None:
        cmd += ["-t", f"{duration:.6f}"]
    cmd += ["-i", os.fspath(audio_source), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac",
            "-b:a", "160k", "-shortest", "-movflags", "+faststart", os.fspath(out_path)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise FaceswapError(f"ffmpeg could not add the audio track: {result.stderr.strip().splitlines()[-1:]}")
    return True


def prefetch(iterable: Iterable, depth: int = 2) -> Iterator:
    """Iterate ``iterable`` in a background thread, up to ``depth`` items ahead.

    Decoding (ffmpeg pipe reads, numpy copies) releases the GIL, so this
    overlaps it with the consumer's torch work. An exception in the producer
    is re-raised in the consumer; leaving the loop early stops the producer.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(done)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            put(err)

    thread = threading.Thread(target=work, daemon=True, name="faceswap-prefetch")
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
