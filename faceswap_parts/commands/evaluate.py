"""`faceswap-parts evaluate`: score a swapped video against its original."""
from faceswap_parts.settings import finite_float
from faceswap_parts.options import EMBEDDERS, LANDMARK_BACKENDS

HELP = "score a face swap: identity transfer, expression kept, stability, flicker, face coverage"


def add_arguments(parser):
    parser.add_argument("original", help="the original video (identity A)")
    parser.add_argument("swapped", help="the converted video (A's video with B's face)")
    parser.add_argument("--a", required=True, metavar="FACES_A",
                        help="face folder of identity A (an extract output or a folder of face images)")
    parser.add_argument("--b", required=True, metavar="FACES_B", help="face folder of identity B")
    parser.add_argument("--out", required=True, metavar="REPORT_DIR", help="folder for report.json and report.html")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="evaluate at most N sampled frames")
    parser.add_argument("--every", type=int, default=1, metavar="N", help="sample every N-th frame (default 1)")
    parser.add_argument("--start", type=finite_float, default=0.0, metavar="SECONDS",
                        help="where in the original the swapped video begins: the --start it was converted with "
                             "(default 0)")
    parser.add_argument("--max-faces", type=int, default=100, metavar="N",
                        help="use at most N images of each face folder (default 100)")
    parser.add_argument("--model", default=None, metavar="WORKDIR",
                        help="also score the model's A->A and B->B reconstructions (SSIM/PSNR) on the face folders")
    parser.add_argument("--landmarks", default="auto", choices=LANDMARK_BACKENDS,
                        help="68-point landmark backend (default auto)")
    parser.add_argument("--embedder", default=EMBEDDERS[0], choices=EMBEDDERS,
                        help="identity embedder: dlib's face-recognition ResNet rebuilt in torch and batched "
                             "(default) or dlib's own (same descriptors, much slower)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")


def run(args) -> int:
    from faceswap_parts.evaluation import EvaluationConfig, evaluate_videos

    config = EvaluationConfig(max_frames=args.max_frames, every=args.every, start=args.start,
                              max_faces=args.max_faces, model=args.model, landmarks=args.landmarks,
                              embedder=args.embedder, device=args.device)
    report = evaluate_videos(args.original, args.swapped, args.a, args.b, out=args.out, config=config)

    def pct(x):
        return "n/a" if x is None else f"{100 * x:.0f}%"

    def num(x):
        return "n/a" if x is None else f"{x:.3f}"

    print(f"identity transfer {pct(report['identity_transfer_rate'])} "
          f"(original: {pct(report['baseline_identity_transfer_rate'])}; taken for B: "
          f"{pct(report['identity_match_rate'])}), "
          f"sharpness ratio {num(report['sharpness_ratio'])}, "
          f"landmark error {num(report['landmark_error'])}, stability ratio {num(report['stability_ratio'])}, "
          f"flicker ratio {num(report['flicker_ratio'])}, coverage {pct(report['coverage'])} "
          f"over {report['frame_count']} frames")
    for warning in report["warnings"]:
        print(f"warning: {warning}")
    print(f"report: {args.out}/report.html")
    return 0
