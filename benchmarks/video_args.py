"""Command-line arguments shared by the benchmarks that time a real video."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "person_a_train.mp4"


def video_parser(description: str, verb: str) -> argparse.ArgumentParser:
    """A parser with ``--video``, ``--max-frames`` and ``--threads``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--video", default=str(DEFAULT_VIDEO))
    parser.add_argument("--max-frames", type=int, default=None, help=f"{verb} at most N frames (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    return parser


def ready(args: argparse.Namespace) -> bool:
    """Check the video exists (saying why not) and apply ``--threads``."""
    if not Path(args.video).is_file():
        print(f"video not found: {args.video} (the benchmark needs ../shared/data)", file=sys.stderr)
        return False
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return True
