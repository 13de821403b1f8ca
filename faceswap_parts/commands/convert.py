"""`faceswap-parts convert`: swap faces in a video with a trained model."""
from __future__ import annotations

from faceswap_parts.conversion.config import ConverterConfig
from faceswap_parts.options import RESOLUTIONS, VIDEO_SUFFIXES
from faceswap_parts.settings import add_setting_arguments, given_settings

HELP = "swap faces (or only eyes / nose / mouth...) in a video with a trained model"


def add_arguments(parser) -> None:
    # The conversion settings come from ConverterConfig's fields (their help, choices, ranges and defaults);
    # left out, an option stays None and the config's default applies.
    parser.add_argument("video", help="input video, or a still image (jpg, png...: the output is then an image)")
    parser.add_argument("--model", required=True, metavar="WORKDIR", help="training workdir holding checkpoint.pt")
    parser.add_argument("--out", required=True, metavar="OUT.mp4",
                        help=f"output video ({', '.join(VIDEO_SUFFIXES)}: H.264), or an image file for a still image "
                             "input; an existing one is replaced only with --overwrite, and a file that is not a "
                             "video or image (a checkpoint) never")
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output video or image")
    add_setting_arguments(parser, ConverterConfig)
    parser.add_argument("--resolution", type=int, default=None, choices=RESOLUTIONS,
                        help="fail unless the checkpoint has this resolution")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from faceswap_parts.conversion import VideoConverter
    from faceswap_parts.io.files import check_output_path
    from faceswap_parts.errors import FaceswapError

    config = ConverterConfig(**given_settings(args, ConverterConfig), progress_bar=not args.quiet)
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
    _say_signed(result.c2pa_signer)
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

    from pathlib import Path

    from faceswap_parts.io.provenance import TAGGED_IMAGE_SUFFIXES

    if not is_image_file(out):
        raise FaceswapError(f"{path} is a still image, so --out must be an image file (.png, .jpg...), got {out}")
    if Path(out).suffix.lower() not in TAGGED_IMAGE_SUFFIXES:
        raise FaceswapError(f"--out {out}: converted images carry a synthetic-media tag, which "
                            f"{Path(out).suffix} files cannot hold; write one of {', '.join(TAGGED_IMAGE_SUFFIXES)}")
    check_output_path(out, path, overwrite=overwrite)
    return read_image(path)


def _convert_still(converter, image, out) -> int:
    result = converter.convert_image(image)
    signer = converter.write_image(out, result)
    swapped = "a face swapped" if result is not image else "no face found: the image is unchanged"
    print(f"wrote {out}: {image.shape[1]}x{image.shape[0]}, {swapped}")
    _say_signed(signer)
    return 0


def _say_signed(signer: str | None) -> None:
    if signer:
        untrusted = ("; C2PA readers report it as untrusted: give --sign-cert and --sign-key to sign as yourself"
                     if signer.startswith("the local") else "")
        print(f"C2PA manifest (digital source type trainedAlgorithmicMedia) signed with {signer}{untrusted}")
