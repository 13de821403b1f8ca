"""Training speed on this CPU: fp32 vs bf16 autocast, 64 px quick, lite and standard, batch 8.

Prints one JSON object as the last stdout line::

    {"gemm_peak_gflops": {"fp32": .., "bf16": ..},
     "runs": [{"resolution": 64, "capacity": .., "batch_size": 8, "precision": ..,
               "it_per_s": .., "samples_per_s": .., "peak_rss_mb": .., "gflop_per_it": ..,
               "attention_gflop_per_it": .., "achieved_gflops": .., "utilisation": ..,
               "data_ms_per_batch": .., "step_ms": ..}, ...]}

``utilisation`` = achieved GFLOP/s / the GEMM peak of the same precision,
measured in the same run (2048x2048 matmuls). FLOPs of one full iteration
(both discriminators and both generators, forward and backward) are counted
with ``torch.utils.flop_counter.FlopCounterMode`` and
``benchmarks/flops.py``'s ``SDPA_CPU_FLOPS`` (torch's table has no entry for its
CPU flash-attention kernels; without it the self-attention, the largest
part of a step, would count as zero). As in ``docs/model.md``, attention
FLOPs are what the fused kernel computes, q and k zero-padded from ``C/8``
to ``C`` channels included; ``attention_gflop_per_it`` shows their share.
Each run is a fresh
subprocess so that ``peak_rss_mb`` is its own. ``samples_per_s`` counts the
faces of both identities (2 x batch size per iteration).

``--curves`` instead trains a few hundred iterations (``--curve-iterations``,
default 300) of the lite model on real faces from ``../shared/data`` in fp32
and in bf16 from the same seed and saves both reconstruction-loss curves
(``--out``/loss_curves_fp32_bf16.png, and the numbers as JSON); the last
stdout line is a JSON summary (mean loss over the first and last 5 % of
iterations per precision).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACESWAP_SHARED_DATA", ROOT.parent / "shared" / "data"))


def gemm_peak(dtype: torch.dtype, n: int = 2048, seconds: float = 2.0) -> float:
    """Best GFLOP/s of n x n matmuls in ``dtype`` over ``seconds``."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(3):
        a @ b
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return best


def real_face_folders(root: Path, count: int = 24) -> tuple[Path, Path]:
    """Face sets from the two test videos (fixed central crop of the steady
    talking heads), or from the package-shipped portraits when absent."""
    import cv2

    from faceswap_parts.io.images import write_image

    folders = (root / "a", root / "b")
    if (SHARED / "videos").is_dir():
        from faceswap_parts.io.video import VideoReader

        for folder, name in zip(folders, ("person_a_train.mp4", "person_b_train.mp4")):
            folder.mkdir(parents=True, exist_ok=True)
            reader = VideoReader(SHARED / "videos" / name, max_frames=count * 10)
            for index, _, frame in reader:
                if index % 10 == 0:
                    face = cv2.resize(frame[120:440, 110:430], (256, 256), interpolation=cv2.INTER_AREA)
                    write_image(folder / f"{index:05d}.png", face)
    else:
        from matplotlib import cbook
        from skimage import data

        from faceswap_parts.io.images import read_image

        portraits = (read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))[:512],
                     np.ascontiguousarray(data.astronaut()))
        for folder, image in zip(folders, portraits):
            folder.mkdir(parents=True, exist_ok=True)
            write_image(folder / "face.png", image)
    return folders


def make_trainer(folders, workdir, capacity: str, precision: str, batch_size: int = 8, resolution: int = 64):
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.training import Trainer

    config = TrainConfig(a_dir=str(folders[0]), b_dir=str(folders[1]), workdir=str(workdir),
                         model=ModelConfig(resolution=resolution, capacity=capacity), batch_size=batch_size,
                         precision=precision, device="cpu", perceptual=False, preview_interval=0,
                         save_interval=0, backup_interval=0, progress=False, workers=0)
    return Trainer(config)


def one_run(capacity: str, precision: str, iters: int, batch_size: int = 8) -> dict:
    """Time ``iters`` training iterations (after warm-up) in this process."""
    from torch.utils.flop_counter import FlopCounterMode

    from flops import SDPA_CPU_FLOPS

    with tempfile.TemporaryDirectory() as tmp:
        folders = real_face_folders(Path(tmp) / "faces", count=8)
        trainer = make_trainer(folders, Path(tmp) / "w", capacity, precision, batch_size)
        phase = trainer.config.schedule[0]
        source = trainer.sources
        t = time.perf_counter()
        batches = [{k: s.batch(i) for k, s in source.items()} for i in range(4)]
        data_ms = (time.perf_counter() - t) / len(batches) * 1000
        with FlopCounterMode(display=False, custom_mapping=SDPA_CPU_FLOPS) as counter:
            trainer.step(batches[0], phase)
        gflop = counter.get_total_flops() / 1e9
        attention_gflop = sum(n for op, n in counter.get_flop_counts()["Global"].items()
                              if "flash_attention" in str(op)) / 1e9
        trainer.step(batches[1], phase)  # warm-up (oneDNN primitive caches) beyond the counted step
        t = time.perf_counter()
        for i in range(iters):
            trainer.step(batches[i % 4], phase)
        seconds = (time.perf_counter() - t) / iters
    return {"resolution": 64, "capacity": capacity, "batch_size": batch_size, "precision": precision,
            "it_per_s": 1 / seconds, "samples_per_s": 2 * batch_size / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "gflop_per_it": gflop, "attention_gflop_per_it": attention_gflop, "achieved_gflops": gflop / seconds,
            "data_ms_per_batch": data_ms, "step_ms": seconds * 1000}


def curves(iterations: int, out: Path) -> dict:
    """Train fp32 and bf16 from the same seed on real faces; save and return both curves."""
    from faceswap_parts.training.history import plot_curves

    out.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = real_face_folders(Path(tmp) / "faces")
        for precision in ("fp32", "bf16"):
            trainer = make_trainer(folders, Path(tmp) / precision, "lite", precision)
            trainer.config.workers = 2
            t = time.perf_counter()
            trainer.train(iterations)
            columns, data = trainer.history.read()
            recon = data[:, [columns.index("recon_A") + 1, columns.index("recon_B") + 1]].sum(axis=1)
            results[precision] = {"seconds": time.perf_counter() - t, "iteration": data[:, 0].tolist(),
                                  "recon": recon.tolist()}
    window = max(1, iterations // 20)
    table = np.array([results["fp32"]["iteration"], results["fp32"]["recon"], results["bf16"]["recon"]]).T
    plot_curves(["recon fp32", "recon bf16"], table, out / "loss_curves_fp32_bf16.png",
                title=f"reconstruction loss (A+B), lite 64 px, {iterations} iterations")
    summary = {p: {"first_mean": float(np.mean(r["recon"][:window])), "last_mean": float(np.mean(r["recon"][-window:])),
                   "seconds": r["seconds"]} for p, r in results.items()}
    (out / "loss_curves_fp32_bf16.json").write_text(json.dumps(results))
    return {"curves": summary, "png": str(out / "loss_curves_fp32_bf16.png")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per run")
    parser.add_argument("--curves", action="store_true", help="train fp32 and bf16 on real faces, save loss curves")
    parser.add_argument("--curve-iterations", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "faceswap_parts_curves",
                        help="where --curves writes its PNG and JSON")
    parser.add_argument("--capacities", default="quick,lite,standard", help="comma-separated (default: all three)")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated (default: fp32,bf16)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every configuration N times, alternating, and report each run (noisy machines)")
    parser.add_argument("--one", nargs=2, metavar=("CAPACITY", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(*args.one, iters=args.iters)))
        return
    if args.curves:
        print(json.dumps(curves(args.curve_iterations, args.out)))
        return
    peaks = {"fp32": gemm_peak(torch.float32), "bf16": gemm_peak(torch.bfloat16)}
    runs = []
    configs = [(c, p) for c in args.capacities.split(",") for p in args.precisions.split(",")]
    for capacity, precision in [cp for _ in range(args.repeat) for cp in configs]:
        proc = subprocess.run([sys.executable, __file__, "--one", capacity, precision, "--iters", str(args.iters)],
                              capture_output=True, text=True, check=True)
        run = json.loads(proc.stdout.strip().splitlines()[-1])
        run["utilisation"] = run["achieved_gflops"] / peaks[precision]
        print(f"{capacity:8s} {precision}: {run['it_per_s']:.2f} it/s, {run['achieved_gflops']:.0f} GFLOP/s "
              f"({run['utilisation']:.0%} of peak), data {run['data_ms_per_batch']:.0f} ms/batch", file=sys.stderr)
        runs.append(run)
    ratios = {}
    for precision in args.precisions.split(","):
        by = {c: [r["samples_per_s"] for r in runs if r["capacity"] == c and r["precision"] == precision]
              for c in args.capacities.split(",")}
        if by.get("quick") and by.get("lite"):
            ratios[f"quick_over_lite_{precision}"] = [round(q / w, 2) for q, w in zip(by["quick"], by["lite"])]
    print(json.dumps({"gemm_peak_gflops": peaks, "runs": runs, "ratios": ratios}))


if __name__ == "__main__":
    main()
