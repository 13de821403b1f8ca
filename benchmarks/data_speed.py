"""Can the CPU batch pipeline keep a Colab T4 busy?

    python benchmarks/data_speed.py [--batches 24] [--workers 2] [--capacity standard]

For each resolution (64, 128, 256) and batch size (8, 16): times the
training batch pipeline alone (``BatchSource.iterate``: random transform,
warp, colour match, motion blur; ``--workers`` threads, Colab's 2 CPUs),
feeding both identities as one training iteration does, and reports the
iterations per second it sustains (``data_it_per_s``).

Against it: the iterations per second a T4 would need. One training
iteration's FLOPs are counted on the CPU with
``torch.utils.flop_counter.FlopCounterMode`` (FLOPs do not depend on the
device or precision); the T4 is assumed to sustain ``--gpu-fraction`` (25 %)
of its 65 TFLOP/s fp16 tensor-core peak on this conv-heavy model:
``gpu_it_per_s = 65e12 * fraction / flop_per_it``. ``keeps_up`` is
``data_it_per_s >= gpu_it_per_s``.

Last stdout line: ``{"workers", "gpu": {...}, "runs": [{"resolution",
"batch_size", "data_it_per_s", "gflop_per_it", "gpu_it_per_s", "keeps_up",
"host_it_per_s_device_augment", "keeps_up_device_augment"}, ...]}``.

``host_it_per_s_device_augment``: what the CPU sustains when training on
CUDA augments on the GPU (``TrainConfig.augment="auto"``): only the draws and
the gathering of the uint8 faces are left on the host.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

T4_FP16_PEAK = 65e12  # FLOP/s, NVIDIA's tensor-core figure


def flop_per_iteration(folders, workdir: Path, resolution: int, capacity: str, batch_size: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    from flops import SDPA_CPU_FLOPS
    from train_speed import make_trainer

    trainer = make_trainer(folders, workdir, capacity, "fp32", batch_size, resolution=resolution)
    batches = {k: s.batch(0) for k, s in trainer.sources.items()}
    with FlopCounterMode(display=False, custom_mapping=SDPA_CPU_FLOPS) as counter:
        trainer.step(batches, trainer.config.schedule[0])
    return counter.get_total_flops()


def data_rate(folders, resolution: int, capacity: str, batch_size: int, workers: int, batches: int,
              raw: bool = False) -> float:
    """Iterations per second of batch preparation for both identities: whole
    augmentation on the CPU, or with ``raw`` the host's part when the device
    augments (draws, gathering the faces, page-locking when CUDA is there)."""
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.training.data.dataset import BatchSource
    from faceswap_parts.facesets.loading import load_faceset

    config = TrainConfig(a_dir=str(folders[0]), b_dir=str(folders[1]), batch_size=batch_size, workers=workers,
                         model=ModelConfig(resolution=resolution, capacity=capacity))
    sets = [load_faceset(str(f), label) for f, label in zip(folders, "AB")]
    import torch

    sources = [BatchSource(fs, config, i, sets, pin_memory=raw and torch.cuda.is_available())
               for i, fs in enumerate(sets)]
    streams = [s.iterate(0, raw=raw) for s in sources]
    for stream in streams:  # warm-up: the pool is filled and the first batches made
        next(stream)
    t = time.perf_counter()
    for _ in range(batches):
        for stream in streams:
            next(stream)
    seconds = time.perf_counter() - t
    for stream in streams:
        stream.close()
    return batches / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=24, help="iterations' worth of batches timed per setting")
    parser.add_argument("--workers", type=int, default=2, help="batch-preparing threads (Colab: 2 CPUs)")
    parser.add_argument("--capacity", default="standard")
    parser.add_argument("--gpu-fraction", type=float, default=0.25,
                        help="share of the T4's fp16 peak the model is assumed to sustain")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch

    from train_speed import real_face_folders

    torch.set_num_threads(2)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = real_face_folders(Path(tmp) / "faces", count=24)
        for resolution in (64, 128, 256):
            for batch_size in (8, 16):
                flop = flop_per_iteration(folders, Path(tmp) / f"w{resolution}_{batch_size}", resolution,
                                          args.capacity, batch_size)
                rate = data_rate(folders, resolution, args.capacity, batch_size, args.workers, args.batches)
                host = data_rate(folders, resolution, args.capacity, batch_size, args.workers, args.batches, raw=True)
                need = T4_FP16_PEAK * args.gpu_fraction / flop
                runs.append({"resolution": resolution, "batch_size": batch_size, "data_it_per_s": round(rate, 2),
                             "gflop_per_it": round(flop / 1e9, 1), "gpu_it_per_s": round(need, 2),
                             "keeps_up": rate >= need, "host_it_per_s_device_augment": round(host, 2),
                             "keeps_up_device_augment": host >= need})
                print(f"{resolution:3d} px batch {batch_size:2d}: data {rate:6.2f} it/s (host part when the GPU "
                      f"augments: {host:6.2f} it/s), T4 needs {need:6.2f} it/s ({flop / 1e9:.0f} GFLOP/it)",
                      flush=True)
    print(json.dumps({"workers": args.workers, "capacity": args.capacity,
                      "gpu": {"name": "T4", "fp16_peak_tflops": T4_FP16_PEAK / 1e12, "fraction": args.gpu_fraction},
                      "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
