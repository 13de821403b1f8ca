"""The settings of a conversion (:class:`ConverterConfig`, the options of
``faceswap-parts convert``) and what a conversion reports (:class:`ConversionResult`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from faceswap_parts.errors import FaceswapError
from faceswap_parts.options import (BLENDS, COLOR_MODES, CONVERT_MASKS, DEFAULT_KALMAN_NOISE, DEFAULT_MOVING_AVERAGE,
                                    DETECT_EVERY, DETECTION_THRESHOLDS, DIRECTIONS, FACE_PARTS, LANDMARK_BACKENDS,
                                    MIN_FACE, OUTPUT_TYPES, PRECISIONS, SMOOTHING_METHODS, X264_PRESETS)
from faceswap_parts.settings import check_settings, setting


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
        label: visible text in the output's lower-left corner (``""``: none). Every output carries
            the synthetic-media metadata tag (:mod:`faceswap_parts.io.provenance`) either way.
        sign_cert, sign_key: the PEM certificate chain and key that sign the C2PA manifest embedded
            where the ``provenance`` extra is installed (:mod:`faceswap_parts.io.c2pa_manifest`);
            empty: a local certificate that readers report as untrusted.
        progress_bar: show a tqdm progress bar.
    """

    direction: str = setting("AtoB", choices=tuple(DIRECTIONS), help="AtoB puts identity B's face on a video of A")
    output_type: str = setting("result", choices=OUTPUT_TYPES,
                               help="result; side-by-side: input | result; triple: input | result | mask")
    color_correction: str = setting("adain", choices=COLOR_MODES,
                                    help="match the generated face's colours to the frame")
    smoothing: str = setting("kalman", choices=SMOOTHING_METHODS,
                             help="temporal smoothing of the face box and landmarks")
    kalman_noise: float = setting(DEFAULT_KALMAN_NOISE, low=0, low_open=True, metavar="Q",
                                  help="Kalman process-noise coefficient; smaller = smoother but laggier")
    moving_average: float = setting(DEFAULT_MOVING_AVERAGE, low=0, high=1, high_open=True, metavar="C",
                                    help="moving-average weight of the past")
    parts: tuple = setting((), kind=str, metavar="PARTS",
                           help=f"swap only these regions, comma separated: {', '.join(FACE_PARTS)} "
                                "(default: the model's whole face mask)")
    mask: str = setting("learned", choices=CONVERT_MASKS,
                        help="what blends the face in: learned (the model's attention mask), face (the 68-point "
                             "face hull, feathered), learned+face (the learned mask inside the hull)")
    landmarks: str = setting("auto", choices=LANDMARK_BACKENDS,
                             help="68-point landmark backend for --parts and the face masks")
    detect_every: int = setting(DETECT_EVERY, low=1, metavar="K",
                                help="run the face detector every K frames, track with optical flow between")
    auto_downscale: bool = setting(True, help="detect faces on frames shrunk to 320 px")
    roi_coverage: float = setting(0.9, low=0.2, high=1.0, metavar="F",
                                  help="fraction of the model's face crop that is pasted")
    feather: float = setting(0.15, low=0, high=0.5, metavar="F",
                             help="width of the pasted face's soft edge, fraction of the crop")
    blend: str = setting("feather", choices=BLENDS,
                         help="feather: linear blend; seamless: Poisson blending first (v2's use_poisson_blending), "
                              "the face takes the frame's colours at its edge")
    enhance: float = setting(0.0, low=0, high=1, metavar="E", help="local contrast added to the generated face (0: off)")
    detect_threshold: float = setting(DETECTION_THRESHOLDS[2], low=0, high=1, low_open=True, high_open=True,
                                      metavar="T", help="face probability O-Net needs (v2.2's detec_threshold): "
                                                        "lower finds more faces, and more false ones")
    min_face: int = setting(MIN_FACE, low=12, metavar="PX", help="smallest face to swap, in pixels")
    all_faces: bool = setting(False, help="swap every face, not only the largest")
    batch_size: int = setting(16, low=1, metavar="N", help="frames per batch")
    device: str = setting("auto", help="auto, cpu, cuda, cuda:N")
    precision: str = setting("auto", choices=PRECISIONS,
                             help="generator arithmetic; auto = bf16 where the CPU/GPU computes it in hardware, "
                                  "fp16 on older GPUs (Colab's T4), else fp32; fp16 is for GPUs")
    start: float | None = setting(None, kind=float, metavar="SEC", help="first second to convert")
    end: float | None = setting(None, kind=float, metavar="SEC", help="second to stop at")
    max_frames: int | None = setting(None, kind=int, low=1, metavar="N", help="convert at most N frames")
    audio: bool = setting(True, help="copy the source's audio track")
    encoder_preset: str = setting("superfast", choices=X264_PRESETS, metavar="PRESET",
                                  help="x264 speed preset: slower = smaller file at the same quality")
    workers: int = setting(0, low=0, metavar="N",
                           help="convert the video as N parts at once, sharing the CPU threads (0 = 2 on a CPU for "
                                "videos of 300+ frames, else 1)")
    label: str = setting("", metavar="TEXT", help="a visible label in the frame's lower-left corner, e.g. "
                         "'AI-generated' (default: none; the metadata tag is written either way)")
    sign_cert: str = setting("", metavar="CHAIN.pem", help="sign the C2PA manifest (provenance extra) with this "
                             "PEM certificate chain, with --sign-key (default: a local certificate, reported untrusted)")
    sign_key: str = setting("", metavar="KEY.pem", help="the private key of --sign-cert (PEM)")
    progress_bar: bool = setting(True, cli=False)

    def __post_init__(self):
        if self.parts:
            from faceswap_parts.faces.masks import parse_parts  # (OpenCV: kept out of the CLI's start)

            self.parts = parse_parts(self.parts)
        self.parts = tuple(self.parts or ())
        check_settings(self)
        if bool(self.sign_cert) != bool(self.sign_key):
            raise FaceswapError("--sign-cert and --sign-key go together: the certificate chain and its private key")


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
    c2pa_signer: str | None = None  # who signed the embedded C2PA manifest; None: no manifest (no provenance extra)
