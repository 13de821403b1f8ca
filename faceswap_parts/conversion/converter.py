"""The video conversion pipeline: decode, swap (:class:`~faceswap_parts.conversion.swapper.FaceSwapper`),
encode, mux audio.

>>> from faceswap_parts.conversion import ConverterConfig, VideoConverter
>>> converter = VideoConverter("workdir", ConverterConfig(direction="AtoB"))
>>> converter.convert("in.mp4", "out.mp4")
>>> swapped = converter.convert_image(image)

Decoding and encoding run in their own threads (ffmpeg does the codec work
in its own processes), so the converting thread only feeds the detector and
the generator, each on a whole batch of frames at once. On a CPU a long video
is converted as two consecutive segments at once (``workers``), joined
without re-encoding.
"""
from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

from faceswap_parts.conversion.config import ConversionResult
from faceswap_parts.io.layouts import output_size
from faceswap_parts.conversion.segments import (MIN_SEGMENT_FRAMES, SEGMENT_FOLDER_PREFIX, SEGMENT_WARMUP_FRAMES,
                                                remove_stale_segment_folders, run_segments, segment_starts)
from faceswap_parts.conversion.swapper import FaceSwapper
from faceswap_parts.errors import FaceswapError, FaceswapWarning
from faceswap_parts.io.background import BackgroundWriter, prefetch
from faceswap_parts.io.files import atomic_path, check_output_path, remove_dead_temporaries
from faceswap_parts.options import VIDEO_SUFFIXES


class VideoConverter(FaceSwapper):
    """Swap faces in whole videos (and, as a :class:`FaceSwapper`, in frames
    and images) with a trained model; arguments as :class:`FaceSwapper`."""

    def workers_for(self, frames: int) -> int:
        """How many segments :meth:`convert` splits ``frames`` frames into."""
        import torch

        if self.config.workers:
            return max(1, min(self.config.workers, frames))
        if self.device.type != "cpu" or torch.get_num_threads() < 2 or frames < 2 * MIN_SEGMENT_FRAMES:
            return 1
        return 2

    def convert(self, input_path: str | os.PathLike, output_path: str | os.PathLike,
                progress: Callable[[int, int], None] | None = None) -> ConversionResult:
        """Convert a video segment to an H.264 MP4 (with the source's audio).

        The video is written to a hidden file beside ``output_path`` and
        renamed at the end, so a failure never leaves a half video there.

        On a CPU the frames are split into consecutive segments
        (:meth:`workers_for`) converted at once in threads, each with its
        share of torch's threads, then joined without re-encoding: two
        single-threaded pipelines keep two cores busier than one pipeline
        whose detector and generator use both. Each segment after the first
        starts tracking :data:`~faceswap_parts.conversion.segments.SEGMENT_WARMUP_FRAMES`
        frames early, so smoothing runs into the join warmed up.

        Args:
            input_path: source video.
            output_path: the MP4 to write (its folder must exist; never the input).
            progress: optional ``callback(frames_done, frames_expected)`` as frames are done
                (after each batch; with segments, in this thread, about five times a second).
        """
        from tqdm.auto import tqdm

        from faceswap_parts.io.video import VideoReader

        c = self.config
        input_path, output_path = os.fspath(input_path), os.fspath(output_path)
        reader = VideoReader(input_path, start=c.start, end=c.end, max_frames=c.max_frames)
        check_output_path(output_path, input_path, suffixes=VIDEO_SUFFIXES)
        remove_dead_temporaries(output_path)  # what a conversion killed mid-write (kill -9) left beside it
        has_audio = c.audio and reader.info.has_audio
        audio = (input_path, reader.start) if has_audio else None
        size = output_size(c.output_type, reader.size)
        total = reader.expected_frames()
        workers = self.workers_for(total)
        self.reset()
        self.timings = {"detector": 0.0, "generator": 0.0}
        self.tag = self.record()
        t0 = time.perf_counter()
        with atomic_path(output_path, suffix=Path(output_path).suffix or ".mp4") as tmp_video, \
                tqdm(total=total, unit="frame", desc="convert", disable=not c.progress_bar) as bar:
            shown = [0]

            def report(frames: int) -> None:
                shown[0] += frames
                bar.update(frames)
                if progress is not None:
                    progress(shown[0], max(total, shown[0]))

            if workers == 1:
                done, with_faces = self._convert_segment(reader, tmp_video, size, audio, 0, report, tag=self.tag)
            else:
                done, with_faces = self._convert_segments(reader, tmp_video, size, audio, total, workers, report)
            if done == 0:
                raise FaceswapError(f"no frames decoded from {input_path} in the requested segment")
            short = reader.cut_short(done)
            if short:
                warnings.warn(short, FaceswapWarning, stacklevel=2)
            signer = self.sign(tmp_video, self.tag)  # before the rename: --out is complete or absent
        return ConversionResult(path=str(Path(output_path)), frames=done, fps=reader.fps, size=size, frames_with_faces=with_faces,
                                audio=has_audio, seconds=time.perf_counter() - t0, timings=dict(self.timings),
                                workers=workers, c2pa_signer=signer)

    def _convert_segment(self, reader, path: Path, size, audio, first_kept: int, on_frames: Callable[[int], None],
                         stop: threading.Event | None = None, encoder_threads: int | None = None,
                         tag: dict | None = None) -> tuple[int, int]:
        """Convert ``reader``'s frames from index ``first_kept`` on into ``path``
        (earlier ones only warm up the tracker); the file is made at the first
        kept frame, its container tagged with ``tag``. Returns (frames written, frames with a face)."""
        from faceswap_parts.io.video import VideoWriter

        c = self.config
        written = with_faces = 0
        with contextlib.ExitStack() as stack:
            encoder = None
            for batch in prefetch(reader.batches(c.batch_size)):
                if stop is not None and stop.is_set():
                    break
                warm = [frame for index, _, frame in batch if index < first_kept]
                if warm:
                    self.track_frames(warm)
                    self.history.clear()  # only the kept frames' boxes count
                frames = [frame for index, _, frame in batch if index >= first_kept]
                if not frames:
                    continue
                if encoder is None:
                    writer = stack.enter_context(VideoWriter(path, reader.fps, size, protect=(reader.info.path,),
                                                             preset=c.encoder_preset, audio=audio,
                                                             threads=encoder_threads, tag=tag))
                    encoder = stack.enter_context(BackgroundWriter(max_pending=64, name="faceswap-encode"))
                seen = len(self.history)
                for frame in self.convert_frames(frames):
                    encoder.submit(writer.write, frame)
                with_faces += sum(len(boxes) > 0 for boxes in self.history[seen:])
                written += len(frames)
                on_frames(len(frames))
        return written, with_faces

    def _convert_segments(self, reader, path: Path, size, audio, total: int, workers: int,
                          report: Callable[[int], None]) -> tuple[int, int]:
        """:meth:`_convert_segment` on ``workers`` consecutive segments at once, joined into ``path``."""
        import tempfile

        import torch

        from faceswap_parts.io.video import concat_videos

        c = self.config
        bounds = segment_starts(total, workers) + [c.max_frames]
        self.detector_for(reader.size)  # made once, shared by the segments
        if c.parts:
            _ = self.landmarker
        converters = [self._segment_converter() for _ in range(workers)]
        remove_stale_segment_folders()  # left by conversions that were killed
        with tempfile.TemporaryDirectory(prefix=f"{SEGMENT_FOLDER_PREFIX}{os.getpid()}-") as tmp:
            files = [Path(tmp) / f"segment{k}.mp4" for k in range(workers)]

            def work(k: int, count: Callable[[int], None], stop: threading.Event) -> tuple[int, int]:
                # ffmpeg decodes and x264 encodes with as many threads as the segment has torch threads
                # (fewer frame threads to sync: less CPU than their own choice, docs/conversion.md)
                threads = torch.get_num_threads()
                segment = reader.segment(max(0, bounds[k] - SEGMENT_WARMUP_FRAMES), bounds[k + 1], threads)
                converters[k].finder.seen = segment.first_frame  # detect on the same frames as one pipeline
                return converters[k]._convert_segment(segment, files[k], size, None, bounds[k], count, stop,
                                                      encoder_threads=threads)

            results = run_segments(work, workers, report)
            done = sum(frames for frames, _ in results)
            written = [file for file, (frames, _) in zip(files, results) if frames]
            if written:  # cut the audio half a frame after the last frame, so the cut never drops it
                concat_videos(written, path, audio, duration=(done + 0.5) / reader.fps,
                              audio_codec=reader.info.audio_codec, tag=self.tag)
        for converter in converters:
            self.history += converter.history
            for key, seconds in converter.timings.items():
                self.timings[key] += seconds
        self.finder.seen = len(self.history)
        return done, sum(faces for _, faces in results)

    def _segment_converter(self) -> "VideoConverter":
        """A converter sharing this one's model, detectors and landmarker, with its own tracking state."""
        converter = copy.copy(self)
        converter.timings = {"detector": 0.0, "generator": 0.0}
        converter.reset()
        return converter
