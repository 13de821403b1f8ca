"""Training on several GPUs (or CPU processes) with torch's
DistributedDataParallel.

Each process holds the whole model and trains on its share of every global
batch (:class:`~faceswap_parts.training.data.BatchSource` ``shard``: the same faces and
draws one process would use), DDP averages the gradients, and process 0
alone writes checkpoints, previews and the loss history. Nothing in the
checkpoint depends on the process count, so a run resumes with any.

Two DDP wrappers, because a v2.2 iteration has two backward passes: the
generators (encoder and decoders, one forward per iteration) and the
discriminators (all of a step's discriminator inputs in one forward). The
generators' adversarial term calls the discriminators outside their wrapper,
with their weights frozen, as on one process.

Launch: ``faceswap-parts train --devices N`` starts N processes itself;
``torchrun --nproc-per-node N -m faceswap_parts train ...`` works too.
"""
from __future__ import annotations

import os
import signal
import socket

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from faceswap_parts.errors import FaceswapError


class _Generators(nn.Module):
    """The encoder and both decoders; forward = ``generate_all``."""

    def __init__(self, model):
        super().__init__()
        self.encoder, self.decoders = model.encoder, model.decoders
        self._model = [model]  # not a submodule: the discriminators stay out of this wrapper

    def forward(self, inputs):
        return self._model[0].generate_all(inputs)


class _Discriminators(nn.Module):
    """Both discriminators; forward scores a list of ``(image, distorted, identity)``."""

    def __init__(self, model):
        super().__init__()
        self.discriminators = model.discriminators
        self._model = [model]

    def forward(self, requests):
        return [self._model[0].discriminate(*request) for request in requests]


def wrap(model, device: torch.device) -> tuple[DistributedDataParallel, DistributedDataParallel]:
    """(generators, discriminators) DDP wrappers of ``model``; their
    construction makes every process start from process 0's weights."""
    ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    options = dict(device_ids=ids)
    _default_strides_for_size_one_kernels(model)
    return (DistributedDataParallel(_Generators(model), **options),
            DistributedDataParallel(_Discriminators(model), **options))


def _default_strides_for_size_one_kernels(model) -> None:
    """Give 1x1 convolution weights their default strides. Channels-last
    leaves them strides that differ only in the size-1 dimensions (the memory
    order is the same), autograd returns their gradients with the default
    ones, and DDP, whose bucket views copy each parameter's strides, then
    warns that they do not match and copies every such gradient."""
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 4 and param.shape[-2:] == (1, 1):
                param.data = param.data.clone(memory_format=torch.contiguous_format)


def average(values: torch.Tensor, processes: int) -> torch.Tensor:
    """``values`` averaged over all processes (in place)."""
    dist.all_reduce(values)
    return values.div_(processes)


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


def check_split(batch_size: int, processes: int) -> None:
    """A global batch must split evenly over the processes (one per device)."""
    if batch_size % processes:
        raise FaceswapError(f"--batch-size {batch_size} does not split over {processes} devices; "
                            f"give a multiple of {processes}")


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

    def __init__(self, config: dict, requested_model: dict, iterations: int):
        self.config, self.requested_model, self.iterations = config, requested_model, iterations
        self.device = config.get("device", "auto")

    def __call__(self, rank: int, processes: int):
        from faceswap_parts.config import TrainConfig
        from faceswap_parts.training.trainer import Trainer

        config = TrainConfig.from_dict({**self.config, "device": self.device})
        trainer = Trainer(config, requested_model=self.requested_model, rank=rank, processes=processes)
        if rank == 0:
            print(f"{processes} processes, device {trainer.device} each, batch {config.batch_size // processes} "
                  f"per process ({config.batch_size} in all), from iteration {trainer.iteration}", flush=True)
        return trainer.train(self.iterations)
