"""`faceswap-parts extract VIDEO --out DIR`: a video's faces as a training face set."""
from faceswap_parts.extraction_config import ExtractConfig
from faceswap_parts.settings import add_setting_arguments, given_settings

HELP = "extract aligned faces, eye masks and landmarks from a video into a face-set folder"


def add_arguments(parser):
    # The settings come from ExtractConfig's fields (their help, ranges and defaults).
    parser.add_argument("video", help="input video file")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder (new or empty; see --overwrite)")
    add_setting_arguments(parser, ExtractConfig)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    from faceswap_parts.extraction import extract_video

    config = ExtractConfig(**given_settings(args, ExtractConfig), progress=not args.quiet)
    print(extract_video(args.video, args.out, config))
    return 0
