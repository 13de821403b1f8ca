"""Starting a training on several processes: ``faceswap-parts train
--devices N`` spawns N itself; ``torchrun --nproc-per-node N -m
faceswap_parts train ...`` starts them instead. Each process joins the group
and runs a :class:`TrainingRun` (a :class:`~faceswap_parts.training.Trainer`
on its share, :mod:`faceswap_parts.training.distributed`). This sits above
the trainer: the trainer never imports it.
"""
from __future__ import annotations

import os
import signal
import socket

import torch
import torch.distributed as dist

from faceswap_parts.errors import FaceswapError
from faceswap_parts.training.trainer import Trainer


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _backend(device: str) -> str:
    return "nccl" if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()) else "gloo"


def setup_process(rank: int, processes: int, local_rank: int, device: str, init_method: str = "env://") -> str:
    """Join the process group; returns the device this process trains on."""
    backend = _backend(device)
    if backend == "nccl":
        if local_rank >= torch.cuda.device_count():
            raise FaceswapError(f"process {rank} wants GPU {local_rank}, but this machine has "
                                f"{torch.cuda.device_count()}; give --devices at most that")
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    else:
        # Processes share the cores: each gets its part instead of all of them.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // processes))
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=processes)
    return device


def _run_in_group(run, rank: int, processes: int, local_rank: int, init_method: str):
    run.device = setup_process(rank, processes, local_rank, run.device, init_method=init_method)
    try:
        return run(rank, processes)
    finally:
        dist.destroy_process_group()


def _worker(rank: int, processes: int, port: int, run) -> None:
    _run_in_group(run, rank, processes, rank, f"tcp://127.0.0.1:{port}")


def run_under_torchrun(run) -> tuple[int, object]:
    """``(rank, run(rank, processes))`` in this process, one of those torchrun started."""
    rank, processes = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    return rank, _run_in_group(run, rank, processes, int(os.environ.get("LOCAL_RANK", rank)), "env://")


def launch(processes: int, run) -> None:
    """Run ``run(rank, processes)`` in ``processes`` new processes, one per
    device (``run.device``: ``auto``, ``cuda`` or ``cpu``; a picklable callable).
    Ctrl-C or SIGTERM reaches every process, so process 0 saves a checkpoint."""
    import torch.multiprocessing as mp

    if processes < 2:
        raise FaceswapError(f"--devices must be >= 2 to start processes, got {processes}")
    if _backend(run.device) == "nccl" and processes > torch.cuda.device_count():
        raise FaceswapError(f"--devices {processes}: this machine has {torch.cuda.device_count()} GPU(s)")
    context = mp.start_processes(_worker, args=(processes, _free_port(), run), nprocs=processes, join=False,
                                 start_method="spawn")
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while not context.join():
            pass
    except KeyboardInterrupt:
        for process in context.processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)
        for process in context.processes:
            process.join(60)
        raise
    except mp.ProcessRaisedException as err:
        # The child's traceback is in the message; its last line is the error itself.
        raise FaceswapError(str(err).strip().splitlines()[-1]) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


class TrainingRun:
    """What each process runs: a :class:`~faceswap_parts.training.Trainer` on
    its share, to ``iterations`` (picklable, for spawned processes)."""

    def __init__(self, config: dict, requested_model: dict, iterations: int, given=None):
        self.config, self.requested_model, self.iterations = config, requested_model, iterations
        self.given = None if given is None else tuple(given)
        self.device = config.get("device", "auto")

    def __call__(self, rank: int, processes: int):
        from faceswap_parts.config import TrainConfig

        config = TrainConfig.from_dict({**self.config, "device": self.device})
        trainer = Trainer(config, requested_model=self.requested_model, rank=rank, processes=processes,
                          given=None if self.given is None else (*self.given, "device"))  # this process's
        if rank == 0:
            print(f"{processes} processes, device {trainer.device} each, batch {config.batch_size // processes} "
                  f"per process ({config.batch_size} in all), from iteration {trainer.iteration}", flush=True)
        return trainer.train(self.iterations)
