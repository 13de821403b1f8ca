"""Time `faceswap-parts demo` (full, not fast) on the CPU.

Target: the whole demo under 10 minutes on a 2-core CPU. Prints one JSON
object as the last line: total and per-stage seconds.

    OMP_NUM_THREADS=2 python benchmarks/demo.py [--workdir DIR] [--fast]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="keep the outputs here (default: a temporary folder)")
    parser.add_argument("--fast", action="store_true", help="time the tiny test run instead")
    args = parser.parse_args()

    import torch

    from faceswap_parts.demo import run_demo

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = run_demo(args.workdir or tmp, fast=args.fast, device="cpu")
        total = time.perf_counter() - t0
    print(json.dumps({"benchmark": "demo", "fast": args.fast, "device": "cpu", "threads": torch.get_num_threads(),
                      "total_s": round(total, 1), "target_s": 600,
                      "stages_s": {k: round(v, 1) for k, v in result.seconds.items()}}))


if __name__ == "__main__":
    main()
