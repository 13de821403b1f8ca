"""`faceswap-parts weights`: put the MTCNN weight files into the weights cache."""

HELP = ("fetch the MTCNN face-detector weights into $TORCH_HOME/faceswap_parts "
        "(from facenet-pytorch's wheel, SHA-256 checked; nothing is installed)")


def add_arguments(parser):
    parser.add_argument("--wheel", metavar="FILE", default=None,
                        help="a facenet_pytorch-*.whl already downloaded (default: pip downloads it)")


def run(args):
    from faceswap_parts.faces.detection.weights import fetch_from_wheel

    paths = fetch_from_wheel(args.wheel)
    print(f"MTCNN weights ready in {next(iter(paths.values())).parent} ({', '.join(p.name for p in paths.values())})")
    return 0
