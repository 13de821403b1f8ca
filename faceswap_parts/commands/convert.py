"""`faceswap-parts convert`: swap faces in a video with a trained model."""
from __future__ import annotations

import argparse

from faceswap_parts.commands.arguments import finite_float
from faceswap_parts.options import (COLOR_MODES, CONVERT_MASKS, DEFAULT_KALMAN_NOISE, DEFAULT_MOVING_AVERAGE, DETECT_EVERY,
                                    DETECTION_THRESHOLDS, DIRECTIONS, LANDMARK_BACKENDS, MIN_FACE, OUTPUT_TYPES,
                                    PRECISIONS, RESOLUTIONS, SMOOTHING_METHODS, VIDEO_SUFFIXES)

HELP = "swap faces (or only eyes / nose / mouth...) in a video with a trained model"


def add_arguments(parser) -> None:
    # faceswap_parts.options imports nothing heavy, so --help stays quick
    parser.add_argument("video", help="input video, or a still image (jpg, png...: the output is then an image)")
    parser.add_argument("--model", required=True, metavar="WORKDIR", help="training workdir holding checkpoint.pt")
    parser.add_argument("--out", required=True, metavar="OUT.mp4",
                        help=f"output video ({', '.join(VIDEO_SUFFIXES)}: H.264), or an image file for a still image "
                             "input; an existing one is replaced only with --overwrite, and a file that is not a "
                             "video or image (a checkpoint) never")
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output video or image")
    parser.add_argument("--direction", default="AtoB", choices=tuple(DIRECTIONS),
                        help="AtoB puts identity B's face on a video of A (default: AtoB)")
    parser.add_argument("--output-type", default="result", choices=OUTPUT_TYPES,
                        help="result; input|result; input|result|mask (default: result)")
    parser.add_argument("--color-correction", default="adain", choices=COLOR_MODES,
                        help="match the generated face's colours to the frame (default: adain)")
    parser.add_argument("--smoothing", default="kalman", choices=SMOOTHING_METHODS,
                        help="temporal smoothing of the face box and landmarks (default: kalman)")
    parser.add_argument("--kalman-noise", type=finite_float, default=None, metavar="Q",
                        help="Kalman process-noise coefficient; smaller = smoother but laggier "
                             f"(default: {DEFAULT_KALMAN_NOISE})")
    parser.add_argument("--moving-average", type=finite_float, default=None, metavar="C",
                        help=f"moving-average weight of the past, in [0, 1) (default: {DEFAULT_MOVING_AVERAGE})")
    parser.add_argument("--parts", default=None, metavar="PARTS",
                        help="swap only these regions, comma separated: face, eyes, eyebrows, nose, mouth "
                             "(default: the model's whole face mask)")
    parser.add_argument("--mask", default="learned", choices=CONVERT_MASKS,
                        help="what blends the face in: learned (the model's attention mask), face (the 68-point "
                             "face hull, feathered), learned+face (the learned mask inside the hull) (default: learned)")
    parser.add_argument("--landmarks", default="auto", choices=LANDMARK_BACKENDS,
                        help="68-point landmark backend for --parts and the face masks (default: auto)")
    parser.add_argument("--start", type=finite_float, default=None, metavar="SEC", help="first second to convert")
    parser.add_argument("--end", type=finite_float, default=None, metavar="SEC", help="second to stop at")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="convert at most N frames")
    parser.add_argument("--detect-every", type=int, default=None, metavar="K",
                        help=f"run the face detector every K frames, track with optical flow between (default: {DETECT_EVERY})")
    parser.add_argument("--no-audio", action="store_true", help="do not copy the source's audio track")
    parser.add_argument("--encoder-preset", default=None, metavar="PRESET",
                        help="x264 speed preset, ultrafast ... veryslow: slower = smaller file (default: superfast)")
    parser.add_argument("--auto-downscale", action=argparse.BooleanOptionalAction, default=True,
                        help="detect faces on frames shrunk to 320 px (default: on)")
    parser.add_argument("--roi-coverage", type=finite_float, default=None, metavar="F",
                        help="fraction of the model's face crop that is pasted, 0.2-1.0 (default: 0.9)")
    parser.add_argument("--min-face", type=int, default=None, metavar="PX", help=f"smallest face to swap (default: {MIN_FACE})")
    parser.add_argument("--all-faces", action="store_true", help="swap every face, not only the largest")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N", help="frames per batch (default: 16)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="convert the video as N parts at once, sharing the CPU threads (default: 0 = 2 on a "
                             "CPU for videos of 300+ frames, else 1)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="generator arithmetic; auto = bf16 where the CPU/GPU computes it in hardware, fp16 on "
                             "older GPUs (Colab's T4), else fp32; fp16 is for GPUs (default: auto)")
    parser.add_argument("--resolution", type=int, default=None, choices=RESOLUTIONS,
                        help="fail unless the checkpoint has this resolution")
    parser.add_argument("--blend", default=None, metavar="feather|seamless",
                        help="feather (default): linear blend; seamless: Poisson blending first (v2's "
                             "use_poisson_blending), the face takes the frame's colours at its edge")
    parser.add_argument("--enhance", type=finite_float, default=None, metavar="E",
                        help="local contrast added to the generated face, 0 (default, off) to 1")
    parser.add_argument("--detect-threshold", type=finite_float, default=None, metavar="T",
                        help="face probability O-Net needs (v2.2's detec_threshold, "
                             f"default {DETECTION_THRESHOLDS[2]}): lower finds more faces, and more false ones")
    parser.add_argument("--feather", type=finite_float, default=None, metavar="F",
                        help="width of the pasted face's soft edge, fraction of the crop (default 0.15)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from dataclasses import fields

    from faceswap_parts.conversion import ConverterConfig, VideoConverter
    from faceswap_parts.io.files import check_output_path
    from faceswap_parts.errors import FaceswapError

    # Every option named like a ConverterConfig field passes through as is; left out (None), the config's
    # default applies, so no default is written twice.
    given = {f.name: getattr(args, f.name) for f in fields(ConverterConfig) if getattr(args, f.name, None) is not None}
    config = ConverterConfig(**{**given, "parts": args.parts or (), "audio": not args.no_audio,
                                "progress_bar": not args.quiet})
    from faceswap_parts.io.images import is_image_file

    still = is_image_file(args.video)
    # fail on the cheap checks (input, output folder) before loading any network
    if still:
        image = _read_still(args.video, args.out, args.overwrite)
    else:
        from faceswap_parts.io.video import VideoReader

        VideoReader(args.video, start=args.start, end=args.end, max_frames=args.max_frames)
        check_output_path(args.out, args.video, overwrite=args.overwrite, suffixes=VIDEO_SUFFIXES)
    from faceswap_parts.models import load_model

    model = load_model(args.model, device=args.device)
    if args.resolution is not None and model.config.resolution != args.resolution:
        raise FaceswapError(f"the checkpoint in {args.model} is a {model.config.resolution} px model, "
                            f"not {args.resolution} px; drop --resolution or pick the matching workdir")
    if still:
        return _convert_still(VideoConverter(model, config), image, args.out)
    result = VideoConverter(model, config).convert(args.video, args.out)
    audio = "with audio" if result.audio else "no audio"
    w, h = result.size
    size = f"{w}x{h}" if not (w % 2 or h % 2) else \
        f"{w + w % 2}x{h + h % 2} (the {w}x{h} frames with a black edge: H.264 needs even sizes)"
    print(f"wrote {result.path}: {result.frames} frames at {result.fps:g} fps, {size}, "
          f"{audio}, faces in {result.frames_with_faces} frames, {result.frames / max(result.seconds, 1e-9):.1f} "
          f"frames/s")
    if result.frames and not result.frames_with_faces:
        import sys

        print(f"faceswap-parts convert: warning: no face found in any frame of {args.video}: {result.path} is the "
              "video unchanged", file=sys.stderr)
    if args.start:
        print(f"this segment starts at {args.start:g}s of {args.video}: score it with "
              f"`faceswap-parts evaluate ... --start {args.start:g}`")
    return 0


def _read_still(path, out, overwrite: bool):
    """The still image to convert, after checking that ``out`` is an image
    file that can be written and is not the input."""
    from faceswap_parts.io.files import check_output_path
    from faceswap_parts.errors import FaceswapError
    from faceswap_parts.io.images import is_image_file, read_image

    if not is_image_file(out):
        raise FaceswapError(f"{path} is a still image, so --out must be an image file (.png, .jpg...), got {out}")
    check_output_path(out, path, overwrite=overwrite)
    return read_image(path)


def _convert_still(converter, image, out) -> int:
    from faceswap_parts.io.images import write_image

    result = converter.convert_image(image)
    write_image(out, result)
    swapped = "a face swapped" if result is not image else "no face found: the image is unchanged"
    print(f"wrote {out}: {image.shape[1]}x{image.shape[0]}, {swapped}")
    return 0
