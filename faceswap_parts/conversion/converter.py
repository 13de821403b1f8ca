"""The video conversion pipeline: decode, detect (every K frames, optical
flow in between), smooth, align, generate, colour-correct, blend, paste back,
encode, mux audio.

>>> from faceswap_parts.conversion import ConverterConfig, VideoConverter
>>> converter = VideoConverter("workdir", ConverterConfig(direction="AtoB"))
>>> converter.convert("in.mp4", "out.mp4")
>>> swapped = converter.convert_image(image)

Decoding and encoding run in their own threads (ffmpeg does the codec work
in its own processes), so the converting thread only feeds the detector and
the generator, each on a whole batch of frames at once. On a CPU a long video
is converted as two consecutive parts at once (``workers``), joined without
re-encoding.
"""
from __future__ import annotations

import contextlib
import copy
import os
import queue
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from faceswap_parts.alignment import align_face, alignment_matrix, invert, transform_points
from faceswap_parts.conversion.blending import BLENDS, edge_mask, enhance_contrast, paste_back
from faceswap_parts.conversion.color import COLOR_MODES, color_correct
from faceswap_parts.conversion.layouts import check_output_type, compose, output_size
from faceswap_parts.conversion.parts import (MIN_PART_FRAMES, PART_FOLDER_PREFIX, PART_WARMUP_FRAMES, part_starts,
                                            remove_stale_part_folders, run_parts)
from faceswap_parts.conversion.smoothing import DEFAULT_KALMAN_NOISE, DEFAULT_MOVING_AVERAGE, SMOOTHING_METHODS
from faceswap_parts.conversion.tracking import FaceTracker, TrackedFace
from faceswap_parts.errors import FaceswapError, FaceswapWarning
from faceswap_parts.video import X264_PRESETS

DIRECTIONS = ("AtoB", "BtoA")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class ConverterConfig:
    """Settings of a conversion (the CLI options of ``faceswap-parts convert``).

    Attributes:
        direction: ``"AtoB"`` puts B's face on A's video; ``"BtoA"`` the reverse.
        output_type: ``"result"``, ``"side-by-side"`` (input | result) or
            ``"triple"`` (input | result | blend mask).
        color_correction: ``"adain"``, ``"adain_xyz"``, ``"hist_match"`` or ``"none"``.
        smoothing: ``"kalman"``, ``"moving-average"`` or ``"none"``.
        kalman_noise: Kalman process-noise coefficient (smaller = smoother, laggier).
        moving_average: weight of the past in the moving average, in [0, 1).
        parts: swap only these regions (``"eyes"``, ``"eyebrows"``, ``"nose"``,
            ``"mouth"``, ``"face"``), located with 68-point landmarks;
            empty = the model's whole attention mask.
        landmarks: landmark backend for ``parts``: ``"auto"``, ``"fan"``, ``"dlib"``, ``"mtcnn"``.
        detect_every: run the detector on every K-th frame, track with optical flow between.
        auto_downscale: detect on frames shrunk to 320 pixels (see
            :meth:`FaceDetector.for_frames`); boxes are mapped back and
            the swap itself uses full-resolution frames.
        roi_coverage: side of the pasted square as a fraction of the model's
            crop (smaller pastes less of the crop's border).
        feather: width of the pasted region's soft edge, fraction of the crop.
        blend: ``feather`` (linear blend) or ``seamless`` (Poisson blending
            first: the face takes the frame's colours at its edge).
        enhance: local contrast added to the generated face, 0 (off) to 1.
        detect_threshold: O-Net's face-probability threshold (v2.2's
            ``detec_threshold``): lower finds more faces (and more false ones).
        min_face: smallest face (pixels, in the original frame) to detect.
        all_faces: swap every face rather than the largest one.
        batch_size: frames decoded, detected and generated together.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        precision: generator arithmetic: ``"auto"`` (bf16 autocast where the CPU or GPU
            computes bf16 in hardware, fp16 on older CUDA GPUs such as the T4, fp32
            elsewhere), ``"fp32"``, ``"bf16"`` or ``"fp16"`` (GPUs only).
        start, end: segment of the video to convert, in seconds.
        max_frames: stop after this many frames.
        audio: copy the source's audio track (for the converted segment).
        encoder_preset: x264 speed preset of the output (see :data:`faceswap_parts.video.X264_PRESETS`);
            slower presets give smaller files at the same quality, at more CPU per frame.
        workers: convert the video as this many consecutive parts at once,
            each with an equal share of the CPU threads (``0`` = automatic:
            two on a CPU with two or more threads for videos of at least
            :data:`MIN_PART_FRAMES` frames a part, else one). See
            :meth:`VideoConverter.convert`.
        progress_bar: show a tqdm progress bar.
    """

    direction: str = "AtoB"
    output_type: str = "result"
    color_correction: str = "adain"
    smoothing: str = "kalman"
    kalman_noise: float = DEFAULT_KALMAN_NOISE
    moving_average: float = DEFAULT_MOVING_AVERAGE
    parts: tuple = ()
    landmarks: str = "auto"
    detect_every: int = 2
    auto_downscale: bool = True
    roi_coverage: float = 0.9
    feather: float = 0.15
    blend: str = "feather"
    enhance: float = 0.0
    detect_threshold: float = 0.7
    min_face: int = 40
    all_faces: bool = False
    batch_size: int = 16
    device: str = "auto"
    precision: str = "auto"
    start: float | None = None
    end: float | None = None
    max_frames: int | None = None
    audio: bool = True
    encoder_preset: str = "superfast"
    workers: int = 0
    progress_bar: bool = True

    def __post_init__(self):
        if self.parts:
            from faceswap_parts.masks import parse_parts

            self.parts = parse_parts(self.parts)
        self.parts = tuple(self.parts or ())
        checks = [
            (self.direction in DIRECTIONS, f"direction must be AtoB or BtoA, got {self.direction!r}"),
            (self.color_correction in COLOR_MODES,
             f"color correction must be one of {', '.join(COLOR_MODES)}, got {self.color_correction!r}"),
            (self.smoothing in SMOOTHING_METHODS,
             f"smoothing must be one of {', '.join(SMOOTHING_METHODS)}, got {self.smoothing!r}"),
            (self.kalman_noise > 0, f"the Kalman noise coefficient must be > 0, got {self.kalman_noise}"),
            (0 <= self.moving_average < 1, f"the moving-average coefficient must be in [0, 1), got {self.moving_average}"),
            (self.detect_every >= 1, f"--detect-every must be >= 1, got {self.detect_every}"),
            (0.2 <= self.roi_coverage <= 1.0, f"--roi-coverage must be within [0.2, 1.0], got {self.roi_coverage}"),
            (0 <= self.feather <= 0.5, f"feather must be within [0, 0.5], got {self.feather}"),
            (self.blend in BLENDS, f"--blend must be one of {', '.join(BLENDS)}, got {self.blend!r}"),
            (0 <= self.enhance <= 1, f"--enhance must be within [0, 1], got {self.enhance}"),
            (0 < self.detect_threshold < 1, f"--detect-threshold must be within (0, 1), got {self.detect_threshold}"),
            (self.min_face >= 12, f"--min-face must be >= 12 pixels, got {self.min_face}"),
            (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"),
            (self.max_frames is None or self.max_frames >= 1, f"--max-frames must be >= 1, got {self.max_frames}"),
            (self.encoder_preset in X264_PRESETS,
             f"--encoder-preset must be one of {', '.join(X264_PRESETS)}, got {self.encoder_preset!r}"),
            (self.workers >= 0, f"--workers must be >= 0 (0 = automatic), got {self.workers}"),
        ]
        for ok, message in checks:
            if not ok:
                raise FaceswapError(message)
        check_output_type(self.output_type)


@dataclass
class ConversionResult:
    """What :meth:`VideoConverter.convert` did."""

    path: str
    frames: int
    fps: float
    size: tuple[int, int]
    frames_with_faces: int
    audio: bool
    seconds: float
    timings: dict = field(default_factory=dict)  # seconds in "detector", "generator" (summed over the parts)
    workers: int = 1  # parts converted at once


class _BackgroundWriter:
    """Feed frames to a :class:`VideoWriter` from a thread; errors surface on ``close``."""

    def __init__(self, writer, depth: int = 64):
        self.writer = writer
        self.frames: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True, name="faceswap-encode")
        self.thread.start()

    def _work(self):
        while True:
            frame = self.frames.get()
            if frame is None:
                return
            if self.error is None:
                try:
                    self.writer.write(frame)
                except BaseException as err:  # noqa: BLE001 - re-raised in close()
                    self.error = err

    def write(self, frame: np.ndarray) -> None:
        if self.error is not None:
            raise self.error
        self.frames.put(frame)

    def close(self) -> None:
        self.frames.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _temp_path(output: Path, tag: str) -> Path:
    return output.with_name(f".{output.stem}.{tag}-{os.getpid()}{output.suffix or '.mp4'}")


def check_output_path(input_path: str, output_path: str) -> None:
    """One-line errors for an output in a missing folder, a folder, or the input itself."""
    out = Path(output_path)
    if not out.parent.resolve().is_dir():
        raise FaceswapError(f"output folder does not exist: {out.parent.resolve()}")
    if out.is_dir():
        raise FaceswapError(f"output path is a folder: {out}; give a file name such as {out / 'swapped.mp4'}")
    if out.exists() and os.path.samefile(out, input_path):
        raise FaceswapError(f"refusing to overwrite the input {input_path}; choose another output path")


class VideoConverter:
    """Swap faces in videos and images with a trained model.

    Args:
        model: a :class:`~faceswap_parts.models.FaceswapModel` or a training
            workdir (loaded with :func:`faceswap_parts.training.load_model`).
        config: :class:`ConverterConfig` (defaults if omitted).
        detector: a ready :class:`~faceswap_parts.detection.FaceDetector`
            (made from the config when omitted).
        landmarker: a ready 68-point landmarker for ``config.parts``
            (``get_landmarker(config.landmarks)`` when omitted).
    """

    def __init__(self, model, config: ConverterConfig | None = None, detector=None, landmarker=None):
        import torch

        from faceswap_parts.device import resolve_device

        self.config = config = config or ConverterConfig()
        if isinstance(model, (str, os.PathLike)):
            from faceswap_parts.training import load_model

            model = load_model(model, device=config.device)
        elif config.device != "auto":
            model = model.to(resolve_device(config.device))
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.resolution = model.config.resolution
        self.coverage = model.config.coverage
        from faceswap_parts.training.precision import inference_dtype

        dtype = inference_dtype(config.precision, self.device)
        self._autocast = (lambda: torch.autocast(self.device.type, dtype=dtype)) if dtype is not None \
            else contextlib.nullcontext
        self._detector = detector
        self._detectors: dict = {}
        self._landmarker = landmarker
        self._edge = edge_mask(self.resolution, config.roi_coverage, config.feather)
        self.timings = {"detector": 0.0, "generator": 0.0}
        self.reset()

    # ------------------------------------------------------------------ components
    def detector_for(self, frame_size: tuple[int, int]):
        """The face detector for frames of ``(width, height)``: the one given
        to the constructor, else one made (and kept) for this frame size by
        :meth:`FaceDetector.for_frames` (``min_face`` and ``auto_downscale``
        from the config).
        """
        if self._detector is not None:
            return self._detector
        if frame_size not in self._detectors:
            from faceswap_parts.detection import FaceDetector
            from faceswap_parts.detection.detector import DEFAULT_THRESHOLDS

            c = self.config
            self._detectors[frame_size] = FaceDetector.for_frames(
                frame_size, c.min_face, c.auto_downscale, device=self.device,
                thresholds=(*DEFAULT_THRESHOLDS[:2], c.detect_threshold))
        return self._detectors[frame_size]

    @property
    def landmarker(self):
        """The 68-point landmarker used for ``parts`` (created on first use)."""
        if self._landmarker is None:
            from faceswap_parts.landmarks import get_landmarker

            self._landmarker = get_landmarker(self.config.landmarks, device=self.device)
        return self._landmarker

    def reset(self) -> None:
        """Start a new video: forget tracks, smoothing state and the frame count."""
        c = self.config
        self.tracker = FaceTracker(all_faces=c.all_faces, smoother=dict(
            method=c.smoothing, kalman_noise=c.kalman_noise, moving_average=c.moving_average))
        self._frame_index = 0
        #: smoothed boxes pasted in each frame so far: list (per frame) of (N, 4) arrays
        self.history: list[np.ndarray] = []

    # ------------------------------------------------------------------ frame level
    def detect(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(boxes (N, 4), points5 (N, 5, 2))`` per frame, largest face first (timed in ``timings``)."""
        if not frames:
            return []
        t0 = time.perf_counter()
        h, w = frames[0].shape[:2]
        boxes, _, points = self.detector_for((w, h)).detect(frames)
        self.timings["detector"] += time.perf_counter() - t0
        return list(zip(boxes, points))

    def generate(self, crops: np.ndarray):
        """``model.transform`` of aligned crops (N, R, R, 3) at the configured
        precision: ``(result, raw, mask)`` (timed in ``timings``)."""
        import torch

        t0 = time.perf_counter()
        with torch.inference_mode(), self._autocast():
            out = self.model.transform(crops, self.config.direction, batch_size=max(len(crops), 1))
        self.timings["generator"] += time.perf_counter() - t0
        return out

    def _parts_weight(self, frame: np.ndarray, faces) -> list[np.ndarray]:
        """Frame-sized parts masks, one per face, placed at the smoothed face position."""
        from faceswap_parts.masks import face_size, parts_mask

        boxes = np.stack([f.raw_box for f in faces]).astype(np.float32)
        points = np.stack([f.raw_points5 for f in faces]).astype(np.float32)
        landmarks = self.landmarker.predict(frame, boxes, points)
        h, w = frame.shape[:2]
        weights = []
        for face, lm in zip(faces, landmarks):
            # landmarks follow the face from its raw to its smoothed position
            raw_m = alignment_matrix(face.raw_points5, self.resolution, self.coverage)
            smooth_m = alignment_matrix(face.points5, self.resolution, self.coverage)
            moved = transform_points(transform_points(lm, raw_m), invert(smooth_m))
            # draw the mask in a window around the face only (distance transforms cost per pixel)
            margin = face_size(moved) * 0.5
            x0, y0 = np.clip(np.floor(moved.min(axis=0) - margin), 0, [w, h]).astype(int)
            x1, y1 = np.clip(np.ceil(moved.max(axis=0) + margin), 0, [w, h]).astype(int)
            weight = np.zeros((h, w), np.float32)
            if x1 > x0 and y1 > y0:
                weight[y0:y1, x0:x1] = parts_mask((moved - [x0, y0]).astype(np.float32), (y1 - y0, x1 - x0),
                                                  parts=self.config.parts)
            weights.append(weight)
        return weights

    def track_frames(self, frames: list[np.ndarray], tracker: FaceTracker | None = None,
                     detect_all: bool = False) -> list[list[TrackedFace]]:
        """Detect (every ``detect_every`` frames, or all with ``detect_all``)
        and track the faces of consecutive frames; the smoothed faces of each frame."""
        tracker = tracker or self.tracker
        every = 1 if detect_all else self.config.detect_every
        det_idx = [i for i in range(len(frames)) if (self._frame_index + i) % every == 0]
        detections = dict(zip(det_idx, self.detect([frames[i] for i in det_idx])))
        per_frame = []
        for i, frame in enumerate(frames):
            found, followed = detections.get(i), None
            if found is None and tracker.following:
                followed = tracker.follow(frame)
                if followed is None:  # flow lost a face: detect here, or its original would flash for a frame
                    found = self.detect([frame])[0]
            per_frame.append(tracker.update(frame, found, need_flow=every > 1, followed=followed))
        if tracker is self.tracker:
            self._frame_index += len(frames)
            self.history.extend(np.array([f.box for f in faces]).reshape(-1, 4) for faces in per_frame)
        return per_frame

    def swap_frames(self, frames: list[np.ndarray], tracker: FaceTracker | None = None,
                    detect_all: bool = False) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Swap the faces in consecutive frames (tracking continues across calls).

        Returns ``(results, alphas)``: one RGB frame per input (the input
        object itself when it had no face) and the (H, W) blend weight
        actually used (``None`` without a face).
        """
        c = self.config
        per_frame = self.track_frames(frames, tracker, detect_all)
        crops, matrices, owners = [], [], []
        for i, faces in enumerate(per_frame):
            for face in faces:
                try:
                    crop, matrix = align_face(frames[i], face.points5, size=self.resolution, coverage=self.coverage)
                except ValueError:  # degenerate points: leave this face alone
                    continue
                crops.append(crop)
                matrices.append(matrix)
                owners.append((i, face))
        results: list[np.ndarray] = list(frames)
        alphas: list[np.ndarray | None] = [None] * len(frames)
        if not crops:
            return results, alphas
        crops = np.stack(crops)
        _, raw, masks = self.generate(crops)
        parts = {}
        if c.parts:
            for i, faces in enumerate(per_frame):
                if faces:
                    parts.update(zip((id(f) for f in faces), self._parts_weight(frames[i], faces)))
        corrected = color_correct(raw, crops, c.color_correction, masks)
        for matrix, (i, face), swapped, mask in zip(matrices, owners, corrected, masks):
            if results[i] is frames[i]:
                results[i] = frames[i].copy()
                alphas[i] = np.zeros(frames[i].shape[:2], np.float32)
            paste_back(results[i], enhance_contrast(swapped, c.enhance), mask * self._edge, matrix,
                       frame_weight=parts.get(id(face)), out_alpha=alphas[i], blend=c.blend)
        return results, alphas

    def convert_frames(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Output frames (in the configured layout) for consecutive input frames."""
        results, alphas = self.swap_frames(frames)
        return [compose(self.config.output_type, f, r, a) for f, r, a in zip(frames, results, alphas)]

    def convert_image(self, image: np.ndarray) -> np.ndarray:
        """Swap the face(s) in one RGB uint8 image (no temporal smoothing);
        returns the result (the layout option applies to videos only)."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise FaceswapError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        tracker = FaceTracker(all_faces=self.config.all_faces, smoother=dict(method="none"))
        results, _ = self.swap_frames([image], tracker=tracker, detect_all=True)
        return results[0]

    # ------------------------------------------------------------------ video level
    def workers_for(self, frames: int) -> int:
        """How many parts :meth:`convert` splits ``frames`` frames into."""
        import torch

        if self.config.workers:
            return max(1, min(self.config.workers, frames))
        if self.device.type != "cpu" or torch.get_num_threads() < 2 or frames < 2 * MIN_PART_FRAMES:
            return 1
        return 2

    def convert(self, input_path: str | os.PathLike, output_path: str | os.PathLike,
                progress: Callable[[int, int], None] | None = None) -> ConversionResult:
        """Convert a video segment to an H.264 MP4 (with the source's audio).

        The video is written to a hidden file beside ``output_path`` and
        renamed at the end, so a failure never leaves a half video there.

        On a CPU the frames are split into consecutive parts
        (:meth:`workers_for`) converted at once in threads, each with its
        share of torch's threads, then joined without re-encoding: two
        single-threaded pipelines keep two cores busier than one pipeline
        whose detector and generator use both. Each part after the first
        starts tracking :data:`PART_WARMUP_FRAMES` frames early, so smoothing
        runs into the join warmed up.

        Args:
            input_path: source video.
            output_path: the MP4 to write (its folder must exist; never the input).
            progress: optional ``callback(frames_done, frames_expected)`` as frames are done
                (after each batch; with parts, in this thread, about five times a second).
        """
        from tqdm.auto import tqdm

        from faceswap_parts.video import VideoReader

        c = self.config
        input_path, output_path = os.fspath(input_path), os.fspath(output_path)
        reader = VideoReader(input_path, start=c.start, end=c.end, max_frames=c.max_frames)
        check_output_path(input_path, output_path)
        out = Path(output_path)
        tmp_video = _temp_path(out, "video")
        has_audio = c.audio and reader.info.has_audio
        audio = (input_path, reader.start) if has_audio else None
        size = output_size(c.output_type, reader.size)
        total = reader.expected_frames()
        workers = self.workers_for(total)
        self.reset()
        self.timings = {"detector": 0.0, "generator": 0.0}
        t0 = time.perf_counter()
        try:
            with tqdm(total=total, unit="frame", desc="convert", disable=not c.progress_bar) as bar:
                shown = [0]

                def report(frames: int) -> None:
                    shown[0] += frames
                    bar.update(frames)
                    if progress is not None:
                        progress(shown[0], max(total, shown[0]))

                if workers == 1:
                    done, with_faces = self._convert_part(reader, tmp_video, size, audio, 0, report)
                else:
                    done, with_faces = self._convert_parts(reader, tmp_video, size, audio, total, workers, report)
            if done == 0:
                raise FaceswapError(f"no frames decoded from {input_path} in the requested segment")
            short = reader.cut_short(done)
            if short:
                warnings.warn(short, FaceswapWarning, stacklevel=2)
            os.replace(tmp_video, out)
        finally:
            if tmp_video.exists():
                tmp_video.unlink()
        return ConversionResult(path=str(out), frames=done, fps=reader.fps, size=size, frames_with_faces=with_faces,
                                audio=has_audio, seconds=time.perf_counter() - t0, timings=dict(self.timings),
                                workers=workers)

    def _convert_part(self, reader, path: Path, size, audio, first_kept: int, on_frames: Callable[[int], None],
                      stop: threading.Event | None = None, encoder_threads: int | None = None) -> tuple[int, int]:
        """Convert ``reader``'s frames from index ``first_kept`` on into ``path``
        (earlier ones only warm up the tracker); the file is made at the first
        kept frame. Returns (frames written, frames with a face)."""
        from faceswap_parts.video import VideoWriter, prefetch

        c = self.config
        written = with_faces = 0
        with contextlib.ExitStack() as stack:
            background = None
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
                if background is None:
                    writer = stack.enter_context(VideoWriter(path, reader.fps, size, protect=(reader.info.path,),
                                                             preset=c.encoder_preset, audio=audio,
                                                             threads=encoder_threads))
                    background = _BackgroundWriter(writer)
                    stack.callback(background.close)
                seen = len(self.history)
                for frame in self.convert_frames(frames):
                    background.write(frame)
                with_faces += sum(len(boxes) > 0 for boxes in self.history[seen:])
                written += len(frames)
                on_frames(len(frames))
        return written, with_faces

    def _convert_parts(self, reader, path: Path, size, audio, total: int, workers: int,
                       report: Callable[[int], None]) -> tuple[int, int]:
        """:meth:`_convert_part` on ``workers`` consecutive parts at once, joined into ``path``."""
        import tempfile

        import torch

        from faceswap_parts.video import concat_videos

        c = self.config
        bounds = part_starts(total, workers) + [c.max_frames]
        self.detector_for(reader.size)  # made once, shared by the parts
        if c.parts:
            _ = self.landmarker
        parts = [self._part_converter() for _ in range(workers)]
        remove_stale_part_folders()  # left by conversions that were killed
        with tempfile.TemporaryDirectory(prefix=f"{PART_FOLDER_PREFIX}{os.getpid()}-") as tmp:
            files = [Path(tmp) / f"part{k}.mp4" for k in range(workers)]

            def work(k: int, count: Callable[[int], None], stop: threading.Event) -> tuple[int, int]:
                # ffmpeg decodes and x264 encodes with as many threads as the part has torch threads:
                # one each on two cores, about 15 % less CPU than their own choice (no frame threads to sync)
                threads = torch.get_num_threads()
                part_reader = reader.part(max(0, bounds[k] - PART_WARMUP_FRAMES), bounds[k + 1], threads)
                parts[k]._frame_index = part_reader.first_frame  # detect on the same frames as one pipeline
                return parts[k]._convert_part(part_reader, files[k], size, None, bounds[k], count, stop,
                                              encoder_threads=threads)

            results = run_parts(work, workers, report)
            done = sum(frames for frames, _ in results)
            written = [file for file, (frames, _) in zip(files, results) if frames]
            if written:  # cut the audio half a frame after the last frame, so the cut never drops it
                concat_videos(written, path, audio, duration=(done + 0.5) / reader.fps,
                              audio_codec=reader.info.audio_codec)
        for part in parts:
            self.history += part.history
            for key, seconds in part.timings.items():
                self.timings[key] += seconds
        self._frame_index = len(self.history)
        return done, sum(faces for _, faces in results)

    def _part_converter(self) -> "VideoConverter":
        """A converter sharing this one's model, detectors and landmarker, with its own tracking state."""
        part = copy.copy(self)
        part.timings = {"detector": 0.0, "generator": 0.0}
        part.reset()
        return part
