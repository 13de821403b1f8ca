"""`faceswap-parts masks DIR`: (re)compute face-part masks for a face set or a folder of face images."""
from faceswap_parts.options import FACE_PARTS, LANDMARK_BACKENDS

HELP = "compute eye / nose / mouth / eyebrow / face masks for an extracted face set or a folder of faces"


def add_arguments(parser):
    parser.add_argument("folder", metavar="DIR", help="an 'extract' output folder, or a folder of face images")
    parser.add_argument("--parts", default="eyes", metavar="LIST",
                        help="comma-separated masks to write, each a part or parts joined with '+' "
                             f"({', '.join(FACE_PARTS)}, all); default eyes")
    parser.add_argument("--landmarks", default="auto", choices=LANDMARK_BACKENDS,
                        help="68-point landmark backend (default auto: fan > dlib > mtcnn)")
    parser.add_argument("--assume-aligned", action="store_true",
                        help="plain folders: take every image as an aligned face crop instead of detecting faces")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing mask files that faces.json does not list as this tool's")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda (default auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    from faceswap_parts.masking import make_masks

    summary = make_masks(args.folder, parts=args.parts, landmarks=args.landmarks, device=args.device,
                         assume_aligned=args.assume_aligned, overwrite=args.overwrite, progress=not args.quiet)
    print(summary)
    return 0
