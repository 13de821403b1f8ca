"""One command that checks the GPU path on a real CUDA machine.

    python benchmarks/gpu_check.py                 # on a CUDA machine: everything below
    python benchmarks/gpu_check.py --seconds 20    # longer timing windows

On a machine without CUDA it says so in one line and exits 0. ``--device cpu``
runs the same steps on the CPU with tiny budgets (the test suite does, to keep
this script working).

Steps, each on the inputs it makes itself (the real sample clips in
``../shared/data`` when present, else the demo's clips from package portraits):

1. extraction of both clips (frames per second);
2. training, for each of 64 px lite, 64 px standard and 128 px standard, in
   fp16 and, where the GPU has native bf16 (compute capability >= 8.0), bf16:
   iterations and samples per second over ``--seconds``, peak GPU memory, and
   host syncs per iteration (torch's CUDA sync debug mode counts them);
3. 300 iterations (``--finite-iterations``) of the default schedule in the
   auto precision with finite losses (the trainer raises on a non-finite one);
4. ``faceswap-parts train`` killed with SIGKILL after its first checkpoint,
   then resumed: it must go on from the saved iteration;
5. conversion of clip A with the trained model (frames per second), and the
   fp16 generator against fp32 on the same faces (largest difference);
6. with two or more GPUs, ``train --devices 2`` for a few iterations.

Last stdout line: one JSON object with every figure and ``ok``.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACESWAP_SHARED_DATA", ROOT.parent / "shared" / "data"))
CONFIGS = ((64, "lite"), (64, "standard"), (128, "standard"))


def clips(folder: Path) -> tuple[Path, Path]:
    real = (SHARED / "videos" / "person_a_3s.mp4", SHARED / "videos" / "person_b_3s.mp4")
    if all(p.is_file() for p in real):
        return real
    from faceswap_parts.demo import make_demo_clips

    return make_demo_clips(folder)


def extract(videos, out: Path, device: str, max_frames: int | None) -> dict:
    from faceswap_parts.extraction import extract_video

    frames, seconds, folders = 0, 0.0, []
    for name, video in zip("ab", videos):
        t = time.perf_counter()
        summary = extract_video(video, out / name, device=device, max_frames=max_frames, progress=False,
                                overwrite=True)
        seconds += time.perf_counter() - t
        frames += summary.frames_processed
        folders.append(out / name)
    return {"frames": frames, "fps": round(frames / seconds, 2), "folders": folders}


def sync_counter(device):
    """A context manager counting host syncs (CUDA's sync debug mode), or None on the CPU."""
    import contextlib

    import torch

    if device.type != "cuda":
        return None

    @contextlib.contextmanager
    def counting(box):
        torch.cuda.set_sync_debug_mode("warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                torch.cuda.set_sync_debug_mode(0)
        box.append(sum("synchroniz" in str(w.message) for w in caught))
    return counting


def train_speed(folders, work: Path, device: str, resolution: int, capacity: str, precision: str, seconds: float,
                batch_size: int, warmup: int) -> dict:
    import torch

    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.training import Trainer

    config = TrainConfig(a_dir=str(folders[0]), b_dir=str(folders[1]), workdir=str(work), batch_size=batch_size,
                         model=ModelConfig(resolution=resolution, capacity=capacity), device=device,
                         precision=precision, perceptual=False, preview_interval=0, save_interval=0,
                         backup_interval=0, progress=False)
    trainer = Trainer(config)
    cuda = trainer.device.type == "cuda"
    streams = {k: s.iterate(0, raw=trainer.augment_on_device) for k, s in trainer.sources.items()}
    phase = config.schedule[0]
    try:
        for _ in range(warmup):  # cudnn.benchmark picks its kernels here
            trainer.step({k: next(s) for k, s in streams.items()}, phase)
        syncs = []
        counter = sync_counter(trainer.device)
        if counter is not None:
            with counter(syncs):
                trainer.step({k: next(s) for k, s in streams.items()}, phase)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        done, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds or done < 2:
            trainer.step({k: next(s) for k, s in streams.items()}, phase)
            done += 1
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - t
    finally:
        for stream in streams.values():
            stream.close()
    result = {"resolution": resolution, "capacity": capacity, "precision": trainer.precision,
              "batch_size": batch_size, "augment_on_device": trainer.augment_on_device,
              "iterations": done, "seconds": float(f"{elapsed:.6g}"),
              "it_per_s": float(f"{done / elapsed:.4g}"), "samples_per_s": float(f"{2 * batch_size * done / elapsed:.4g}")}
    if cuda:
        result["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        result["host_syncs_per_iteration"] = syncs[0] if syncs else None
    return result


def finite_run(folders, work: Path, device: str, iterations: int) -> dict:
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.errors import FaceswapError
    from faceswap_parts.training import Trainer

    config = TrainConfig(a_dir=str(folders[0]), b_dir=str(folders[1]), workdir=str(work), device=device,
                         model=ModelConfig(resolution=64, capacity="lite"), perceptual=False,
                         preview_interval=0, save_interval=0, backup_interval=0, progress=False)
    trainer = Trainer(config)
    t = time.perf_counter()
    try:
        result = trainer.train(iterations)
    except FaceswapError as err:
        return {"iterations": trainer.iteration, "finite": False, "error": str(err)}
    return {"iterations": result.iteration, "precision": trainer.precision, "finite": True,
            "seconds": round(time.perf_counter() - t, 1), "last_losses": {k: round(v, 4) for k, v in result.losses.items()
                                                                         if k in ("G_A", "G_B", "D_A", "D_B")}}


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "faceswap_parts", "train", *map(str, args)]


def kill_and_resume(folders, work: Path, device: str, timeout: float) -> dict:
    from faceswap_parts.models.checkpoint import load_checkpoint

    common = ["--a", folders[0], "--b", folders[1], "--workdir", work, "--resolution", 64, "--capacity", "lite",
              "--no-perceptual", "--device", device, "--preview-interval", 0, "--save-interval", 5, "--no-progress"]
    checkpoint = work / "checkpoint.pt"
    proc = subprocess.Popen(_cli(*common, "--iterations", 100000), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)  # no chance to save: what a lost Colab runtime does
    proc.wait()
    if not checkpoint.exists():
        return {"ok": False, "error": "no checkpoint before the kill: " + proc.stderr.read().decode()[-300:]}
    saved = int(load_checkpoint(checkpoint)["iteration"])
    resumed = subprocess.run(_cli(*common, "--iterations", saved + 5), capture_output=True, text=True,
                             timeout=timeout)
    after = int(load_checkpoint(checkpoint)["iteration"])
    ok = resumed.returncode == 0 and f"resuming {checkpoint} at iteration {saved}" in resumed.stdout \
        and after == saved + 5
    return {"ok": ok, "killed_after": saved, "resumed_to": after,
            **({} if ok else {"output": (resumed.stdout + resumed.stderr)[-500:]})}


def convert(workdir: Path, video: Path, out: Path, device: str, max_frames: int | None) -> dict:
    import numpy as np
    import torch

    from faceswap_parts.conversion import ConverterConfig, VideoConverter
    from faceswap_parts.models import load_model

    model = load_model(workdir, device=device)
    result = VideoConverter(model, ConverterConfig(device=device, max_frames=max_frames)).convert(video, out)
    faces = np.random.default_rng(0).integers(0, 255, (8, 64, 64, 3), dtype=np.uint8)
    with torch.no_grad():
        full, _, _ = model.transform(faces, direction="AtoB")
        dev = next(model.parameters()).device
        if dev.type == "cuda":
            with torch.autocast("cuda", dtype=torch.float16):
                half, _, _ = model.transform(faces, direction="AtoB")
        else:
            half = full
    return {"frames": result.frames, "fps": round(result.frames / result.seconds, 2),
            "frames_with_faces": result.frames_with_faces,
            "fp16_vs_fp32_max_diff": int(np.abs(np.asarray(full, np.int16) - np.asarray(half, np.int16)).max())}


def two_gpus(folders, work: Path) -> dict:
    result = subprocess.run(_cli("--a", folders[0], "--b", folders[1], "--workdir", work, "--iterations", 20,
                                 "--devices", 2, "--resolution", 64, "--capacity", "lite", "--no-perceptual",
                                 "--preview-interval", 0, "--no-progress"), capture_output=True, text=True)
    return {"ok": result.returncode == 0, **({} if result.returncode == 0 else {"output": result.stderr[-500:]})}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu for a smoke run of this script")
    parser.add_argument("--seconds", type=float, default=10.0, help="timing window per training setting")
    parser.add_argument("--finite-iterations", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--configs", default="all", help="'all' or e.g. 64:lite (comma-separated)")
    parser.add_argument("--max-frames", type=int, default=0, help="frames per clip to extract/convert (0 = all)")
    args = parser.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU on this machine (torch.cuda.is_available() is False); nothing to check")
        return 0
    from faceswap_parts.device import cuda_has_native_bf16

    cuda = args.device.startswith("cuda")
    precisions = ["fp16", *(["bf16"] if cuda and cuda_has_native_bf16(torch.device(args.device)) else [])] \
        if cuda else ["fp32"]
    configs = CONFIGS if args.configs == "all" else \
        tuple((int(r), c) for r, c in (item.split(":") for item in args.configs.split(",")))
    max_frames = args.max_frames or None
    report = {"device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__}
    if cuda:
        report["capability"] = ".".join(map(str, torch.cuda.get_device_capability()))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = clips(tmp / "clips")
        extraction = extract(videos, tmp / "faces", args.device, max_frames)
        folders = extraction.pop("folders")
        report["extraction"] = extraction
        print("extraction:", extraction, flush=True)
        report["training"] = []
        for resolution, capacity in configs:
            for precision in precisions:
                run = train_speed(folders, tmp / f"speed_{resolution}_{capacity}_{precision}", args.device,
                                  resolution, capacity, precision, args.seconds, args.batch_size, args.warmup)
                report["training"].append(run)
                print("training:", run, flush=True)
        report["finite"] = finite_run(folders, tmp / "finite", args.device, args.finite_iterations)
        print("finite:", report["finite"], flush=True)
        report["kill_resume"] = kill_and_resume(folders, tmp / "killed", args.device, timeout=300)
        print("kill and resume:", report["kill_resume"], flush=True)
        report["conversion"] = convert(tmp / "finite", videos[0], tmp / "swap.mp4", args.device, max_frames)
        print("conversion:", report["conversion"], flush=True)
        if cuda and torch.cuda.device_count() > 1:
            report["two_gpus"] = two_gpus(folders, tmp / "ddp")
    report["ok"] = bool(report["finite"]["finite"] and report["kill_resume"]["ok"]
                        and report["conversion"]["frames"] > 0 and report.get("two_gpus", {"ok": True})["ok"])
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
