"""`faceswap-parts demo`: the whole pipeline on two synthetic clips, offline."""
from __future__ import annotations

HELP = ("run extract, masks, pretrain, train, convert and evaluate on two built-in synthetic clips "
        "(no data or network needed)")


def add_arguments(parser):
    parser.add_argument("--workdir", default="demo_output",
                        help="folder for the clips, face sets, model and results (default: %(default)s)")
    parser.add_argument("--fast", action="store_true",
                        help="tiny run for smoke tests (also enabled by the environment variable FACESWAP_FAST=1)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: %(default)s)")


def run(args) -> int:
    import json

    from faceswap_parts.demo import fast_mode, run_demo

    result = run_demo(args.workdir, fast=args.fast or fast_mode(), device=args.device)
    print(json.dumps({"video": str(result.video), "preview": str(result.preview), "scores": result.scores,
                      "iterations": result.iterations,
                      "seconds": {k: round(v, 1) for k, v in result.seconds.items()}}))
    return 0
