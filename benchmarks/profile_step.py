"""Where one training iteration's time goes, per network and per kind of work.

    python benchmarks/profile_step.py [--capacities quick,lite,standard] [--precisions bf16] [--steps 4]
                                      [--perceptual] [--ops 8]

For each configuration (64 px, batch 8, real faces from ``../shared/data``
or the package-shipped portraits) it times ``--steps`` training iterations
(after two warm-up ones) with hooks on the networks: the forward and the
backward of the encoder, the two decoders, the two discriminators, every
self-attention block (a share of the network it sits in) and, with
``--perceptual``, the perceptual network (dlib's, offline) in a phase that
uses it; the optimiser steps; and, separately, the augmentation of a batch
pair (the work the data threads do beside the step). ``rest`` is the step's
time outside all of these: losses, casts, gradient zeroing, the loss readout.
The same steps without hooks give ``step_ms`` (hooks cost a little).

``--ops N`` adds the N most expensive operators of one iteration from
``torch.profiler`` (self CPU time).

Last stdout line: ``{"runs": [{"capacity", "precision", "perceptual", "step_ms", "hooked_step_ms",
"augment_ms", "ms": {part: ms per iteration}, "share": {part: fraction of the hooked step},
"top_ops": [[name, ms], ...]}, ...]}``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import make_trainer, real_face_folders

#: the top-level networks whose forward and backward are timed, with their names in the table
NETWORKS = {"encoder": "encoder", "decoders.A": "decoders", "decoders.B": "decoders",
            "discriminators.A": "discriminators", "discriminators.B": "discriminators"}


def _flat(value) -> list:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flat(v)]
    return []


class CallRecorder:
    """Records every call of the watched modules during one real step: the
    input's shape, dtype and layout, and whether gradients were wanted."""

    def __init__(self):
        self.calls = []
        self.handles = []

    def watch(self, module: torch.nn.Module, name: str) -> None:
        def record(mod, args):
            (x,) = args
            self.calls.append({"name": name, "module": mod, "shape": tuple(x.shape), "dtype": x.dtype,
                               "channels_last": x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last),
                               "grad": torch.is_grad_enabled(), "input_grad": x.requires_grad,
                               "params_grad": any(p.requires_grad for p in mod.parameters())})

        self.handles.append(module.register_forward_pre_hook(record))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def replay(calls: list[dict], autocast, repeats: int) -> dict[str, float]:
    """Each recorded call run alone on random inputs of its shape: forward and
    backward (where the step took gradients through it) timed apart, ms per step."""
    ms = defaultdict(float)
    for call in calls:
        module = call["module"]
        keep = [p.requires_grad for p in module.parameters()]
        module.requires_grad_(call["params_grad"])
        fwd = bwd = 0.0
        for _ in range(repeats):
            x = torch.randn(call["shape"]).to(call["dtype"])
            if call["channels_last"]:
                x = x.contiguous(memory_format=torch.channels_last)
            x.requires_grad_(call["input_grad"])
            with torch.set_grad_enabled(call["grad"]):
                t = time.perf_counter()
                with autocast():
                    outs = [o for o in _flat(module(x)) if o.requires_grad]
                fwd += time.perf_counter() - t
                if outs:
                    grads = [torch.randn_like(o) for o in outs]
                    t = time.perf_counter()
                    torch.autograd.backward(outs, grads)
                    bwd += time.perf_counter() - t
            module.zero_grad(set_to_none=True)
        for p, flag in zip(module.parameters(), keep):
            p.requires_grad_(flag)
        ms[f"{call['name']} forward"] += fwd / repeats * 1000
        if call["grad"] and (call["input_grad"] or call["params_grad"]):
            ms[f"{call['name']} backward"] += bwd / repeats * 1000
    return ms


def time_optimiser(optimizer, steps: int) -> float:
    """ms of one step of ``optimizer`` on its parameters' current gradients."""
    t = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    return (time.perf_counter() - t) / steps * 1000


def profile(capacity: str, precision: str, steps: int, perceptual: bool, ops: int) -> dict:
    from faceswap_parts.config import Phase
    from faceswap_parts.models.layers import SelfAttention

    with tempfile.TemporaryDirectory() as tmp:
        folders = real_face_folders(Path(tmp) / "faces", count=8)
        trainer = make_trainer(folders, Path(tmp) / "w", capacity, precision)
        if perceptual:
            trainer.config.perceptual, trainer.config.perceptual_net = True, "dlib"
        phase = Phase(0.0, perceptual=perceptual)
        sources = trainer.sources
        t = time.perf_counter()
        batches = [{k: s.batch(i) for k, s in sources.items()} for i in range(4)]
        augment_ms = (time.perf_counter() - t) / len(batches) * 1000
        for i in range(2):  # warm-up: oneDNN primitive caches, the perceptual network's loading
            trainer.step(batches[i], phase)
        t = time.perf_counter()
        for i in range(steps):
            trainer.step(batches[i % 4], phase)
        step_ms = (time.perf_counter() - t) / steps * 1000

        recorder = CallRecorder()
        modules = dict(trainer.model.named_modules())
        for path, name in NETWORKS.items():
            recorder.watch(modules[path], name)
        for module in modules.values():
            if isinstance(module, SelfAttention):
                recorder.watch(module, "self-attention")
        if trainer.perceptual is not None:
            recorder.watch(trainer.perceptual, "perceptual net")
        trainer.step(batches[0], phase)
        recorder.remove()
        # the step left its gradients in place: time the optimisers' updates on them (the weights are scratch now)
        optimisers = {"optimiser G": time_optimiser(trainer.opt_g, steps),
                      "optimiser D": time_optimiser(trainer.opt_d, steps)}
        ms = {**dict(sorted(replay(recorder.calls, trainer._autocast, steps).items())), **optimisers}
        counted = sum(v for k, v in ms.items() if not k.startswith("self-attention"))
        ms["rest"] = max(step_ms - counted, 0.0)

        top_ops = []
        if ops:
            from torch.profiler import ProfilerActivity
            from torch.profiler import profile as torch_profile

            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                trainer.step(batches[0], phase)
            averages = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
            top_ops = [[e.key, round(e.self_cpu_time_total / 1000, 1)] for e in averages[:ops]]
    return {"capacity": capacity, "precision": precision, "perceptual": perceptual, "steps": steps,
            "step_ms": round(step_ms, 1), "augment_ms": round(augment_ms, 1),
            "calls": {name: sum(c["name"] == name for c in recorder.calls)
                      for name in sorted({c["name"] for c in recorder.calls})},
            "ms": {k: round(v, 1) for k, v in ms.items()},
            "share": {k: round(v / step_ms, 3) for k, v in ms.items()}, "top_ops": top_ops}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--capacities", default="quick,lite,standard")
    p.add_argument("--precisions", default="bf16")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--perceptual", action="store_true", help="also profile each in a phase with the perceptual loss")
    p.add_argument("--ops", type=int, default=8, help="list the N most expensive operators (0 = none)")
    args = p.parse_args(argv)
    runs = []
    for capacity in args.capacities.split(","):
        for precision in args.precisions.split(","):
            for perceptual in ((False, True) if args.perceptual else (False,)):
                run = profile(capacity, precision, args.steps, perceptual, args.ops)
                parts = ", ".join(f"{k} {v:.0f}" for k, v in run["ms"].items())
                print(f"{capacity} {precision}{' perceptual' if perceptual else ''}: step {run['step_ms']:.0f} ms; "
                      f"{parts}; augmentation {run['augment_ms']:.0f} ms",
                      file=sys.stderr)
                runs.append(run)
    print(json.dumps({"runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
