"""`faceswap-parts extract VIDEO --out DIR`: a video's faces as a training face set."""
from faceswap_parts.commands.arguments import finite_float
from faceswap_parts.options import DETECT_EVERY, LANDMARK_BACKENDS, MIN_FACE

HELP = "extract aligned faces, eye masks and landmarks from a video into a face-set folder"


def add_arguments(parser):
    parser.add_argument("video", help="input video file")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder (new or empty; see --overwrite)")
    parser.add_argument("--every", type=int, default=1, metavar="N", help="process every N-th frame (default 1)")
    parser.add_argument("--landmarks", default="auto", choices=LANDMARK_BACKENDS,
                        help="68-point landmark backend for the eye masks (default auto: fan > dlib > mtcnn)")
    parser.add_argument("--min-face", type=int, default=MIN_FACE, metavar="PX",
                        help=f"skip faces whose box is smaller than this (default {MIN_FACE})")
    parser.add_argument("--detect-every", type=int, default=DETECT_EVERY, metavar="K",
                        help="run the detector on every K-th processed frame, follow the faces with optical "
                             f"flow in between (default {DETECT_EVERY}; 1 = detect on every frame)")
    parser.add_argument("--start", type=finite_float, default=None, metavar="S", help="start at S seconds (default 0)")
    parser.add_argument("--end", type=finite_float, default=None, metavar="S", help="stop at S seconds (default: the end)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N video frames")
    parser.add_argument("--all-faces", action="store_true",
                        help="keep every face of a frame (default: only the largest)")
    parser.add_argument("--min-sharpness", type=finite_float, default=0.0, metavar="X",
                        help="skip blurry faces: variance of the Laplacian below X (default 0 = keep all; "
                             "blurry ~20, sharp 100+)")
    parser.add_argument("--size", type=int, default=256, metavar="PX", help="aligned face size (default 256)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a previous extraction in DIR (only files its faces.json lists)")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda (default auto)")
    parser.add_argument("--batch-size", type=int, default=16, metavar="N", help="frames per detector call")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    from faceswap_parts.extraction import ExtractConfig, extract_video

    config = ExtractConfig(every=args.every, landmarks=args.landmarks, min_face=args.min_face,
                           detect_every=args.detect_every, start=args.start, end=args.end,
                           max_frames=args.max_frames, all_faces=args.all_faces, min_sharpness=args.min_sharpness,
                           size=args.size, overwrite=args.overwrite, device=args.device,
                           batch_size=args.batch_size, progress=not args.quiet)
    print(extract_video(args.video, args.out, config))
    return 0
