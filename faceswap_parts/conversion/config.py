"""The settings of a conversion (:class:`ConverterConfig`, the options of
``faceswap-parts convert``) and what a conversion reports (:class:`ConversionResult`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from faceswap_parts.io.layouts import check_output_type
from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.masks import parse_parts
from faceswap_parts.options import (BLENDS, COLOR_MODES, CONVERT_MASKS, DEFAULT_KALMAN_NOISE, DEFAULT_MOVING_AVERAGE,
                                    DETECT_EVERY, DETECTION_THRESHOLDS, DIRECTIONS, MIN_FACE, PRECISIONS, SMOOTHING_METHODS,
                                    X264_PRESETS)


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
        mask: which mask blends the face in: ``"learned"`` (the model's
            attention mask), ``"face"`` (the 68-point face hull, feathered) or
            ``"learned+face"`` (the learned mask limited to the hull); the
            hull needs landmarks, as ``parts`` does.
        landmarks: landmark backend for ``parts`` and the ``face`` masks: ``"auto"``, ``"fan"``, ``"dlib"``, ``"mtcnn"``.
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
        encoder_preset: x264 speed preset of the output (see :data:`faceswap_parts.io.video.X264_PRESETS`);
            slower presets give smaller files at the same quality, at more CPU per frame.
        workers: convert the video as this many consecutive segments at once,
            each with an equal share of the CPU threads (``0`` = automatic:
            two on a CPU with two or more threads for videos of at least
            :data:`~faceswap_parts.conversion.segments.MIN_SEGMENT_FRAMES` frames a
            segment, else one). See :meth:`VideoConverter.convert`.
        progress_bar: show a tqdm progress bar.
    """

    direction: str = "AtoB"
    output_type: str = "result"
    color_correction: str = "adain"
    smoothing: str = "kalman"
    kalman_noise: float = DEFAULT_KALMAN_NOISE
    moving_average: float = DEFAULT_MOVING_AVERAGE
    parts: tuple = ()
    mask: str = "learned"
    landmarks: str = "auto"
    detect_every: int = DETECT_EVERY
    auto_downscale: bool = True
    roi_coverage: float = 0.9
    feather: float = 0.15
    blend: str = "feather"
    enhance: float = 0.0
    detect_threshold: float = DETECTION_THRESHOLDS[2]
    min_face: int = MIN_FACE
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
            (self.mask in CONVERT_MASKS, f"--mask must be one of {', '.join(CONVERT_MASKS)}, got {self.mask!r}"),
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
    timings: dict = field(default_factory=dict)  # seconds in "detector", "generator" (summed over the segments)
    workers: int = 1  # segments converted at once
