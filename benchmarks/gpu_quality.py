"""The GPU quality proof: a swap trained and scored within one 10-minute run on a CUDA machine.

    python benchmarks/gpu_quality.py --clips benchmark_clips --out "$OUT"         # on the device machine
    python benchmarks/gpu_quality.py --device cpu --budget-s 5 --score-seconds 1 ...  # its test, on a CPU

``--clips DIR`` holds ``person_a_train.mp4`` and ``person_b_train.mp4`` (the
benchmark pair of ``../shared/data/videos``, which does not travel to the
device machine: copy them into an ignored folder of the checkout, such as
``benchmark_clips/``, and carry it). Steps:

1. extract both clips' training seconds (as ``swap_quality.py``: A 0-32 s,
   B 0-46 s);
2. time ``--probe-iterations`` training iterations of the model
   (default 64 px lite, batch 8) to learn this GPU's speed, and lay the
   short schedule over the iterations that ``--budget-s`` of training buys;
3. train that long, scoring ``--points`` times on the unseen rest of each
   clip (``swap_quality.py``: convert, then ``evaluate``);
4. write ``curves.png``, ``contact_sheet.png``, the reports and
   ``gpu_quality.json`` under ``--out``.

Without CUDA (and without ``--device cpu``) it says so in one line and exits 0.
Last stdout line: ``{"device", "it_per_s", "iterations", "budget_s", "train_wall_s",
"points": [...], "reencoded": {...}, "out"}``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import swap_quality

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=Path, default=ROOT / "benchmark_clips",
                   help="folder holding person_a_train.mp4 and person_b_train.mp4 (default: benchmark_clips/)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmark_output" / "gpu_quality")
    p.add_argument("--device", default="cuda")
    p.add_argument("--capacity", default="lite")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--budget-s", type=float, default=330.0, help="seconds of training (default 330)")
    p.add_argument("--points", type=int, default=3, help="times the unseen segments are scored (default 3)")
    p.add_argument("--probe-iterations", type=int, default=60)
    p.add_argument("--score-seconds", type=float, default=None, help="score at most this many unseen seconds")
    p.add_argument("--a-split", type=float, default=32.0)
    p.add_argument("--b-split", type=float, default=46.0)
    return p.parse_args(argv)


def probe_speed(faces: dict, device: str, capacity: str, resolution: int, batch_size: int, iterations: int) -> float:
    """Training iterations per second of this configuration (after warm-up)."""
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.training import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(TrainConfig(a_dir=str(faces["A"]), b_dir=str(faces["B"]), workdir=tmp, device=device,
                                      model=ModelConfig(resolution=resolution, capacity=capacity),
                                      batch_size=batch_size, perceptual=False, preview_interval=0, save_interval=0,
                                      backup_interval=0, progress=False))
        warmup = max(2, iterations // 5)
        trainer.train(warmup)
        t = time.perf_counter()
        trainer.train(warmup + iterations)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        return iterations / (time.perf_counter() - t)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_quality: no CUDA GPU on this machine (torch.cuda.is_available() is False); nothing to check")
        return 0
    videos = {k: args.clips / f"person_{k.lower()}_train.mp4" for k in "AB"}
    missing = [str(v) for v in videos.values() if not v.is_file()]
    if missing:
        print(f"gpu_quality: clip not found: {missing[0]} (copy ../shared/data/videos/person_[ab]_train.mp4 "
              f"into {args.clips} and carry it)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    faces = {"A": swap_quality.extract_once(str(videos["A"]), args.out / "faces_a", 0.0, args.a_split),
             "B": swap_quality.extract_once(str(videos["B"]), args.out / "faces_b", 0.0, args.b_split)}
    extract_s = time.perf_counter() - t0  # swap_quality then finds the face sets made
    rate = probe_speed(faces, args.device, args.capacity, args.resolution, args.batch_size, args.probe_iterations)
    points = max(1, args.points)
    every = max(1, int(rate * args.budget_s / points))
    iterations = every * points
    quality_args = [
        "--video-a", str(videos["A"]), "--video-b", str(videos["B"]), "--a-split", str(args.a_split),
        "--b-split", str(args.b_split), "--iterations", str(iterations), "--every", str(every),
        "--capacity", args.capacity, "--resolution", str(args.resolution), "--batch-size", str(args.batch_size),
        "--device", args.device, "--perceptual", "off", "--schedule", "short", "--out", str(args.out)]
    if args.score_seconds is not None:
        quality_args += ["--score-seconds", str(args.score_seconds)]
    result = swap_quality.run(swap_quality.parse_args(quality_args))
    if result is None:
        return 2
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    summary = {"device": name, "capacity": args.capacity, "resolution": args.resolution,
               "batch_size": args.batch_size, "it_per_s": round(rate, 2), "iterations": iterations,
               "budget_s": args.budget_s, "train_wall_s": result["points"][-1]["train_wall_s"],
               "extract_s": round(extract_s, 1), "points": result["points"],
               "reencoded": result["reencoded"], "out": str(args.out)}
    (args.out / "gpu_quality.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
