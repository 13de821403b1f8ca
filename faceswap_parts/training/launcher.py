"""Starting a training on several processes: ``faceswap-parts train
--devices N`` spawns N itself; ``torchrun --nproc-per-node N -m
faceswap_parts train ...`` starts them instead. Each process joins the group
and runs a :class:`TrainingRun` (a :class:`~faceswap_parts.training.Trainer`
on its share, :mod:`faceswap_parts.training.distributed`). This sits above
the trainer: the trainer never imports it.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist

from faceswap_parts.config import TrainConfig
from faceswap_parts.errors import FaceswapError
from faceswap_parts.models.checkpoint import checkpoint_path, load_checkpoint
from faceswap_parts.training.start import run_settings, starting_point
from faceswap_parts.training.trainer import StopTraining, Trainer, TrainingProgress, TrainResult


#: How long process 0 may take to save its checkpoint after Ctrl-C before the processes are ended.
SAVE_WAIT_S = 120


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


def check_devices(processes: int, device: str) -> None:
    """One process per device: at least two of them, and on GPUs no more than the machine has."""
    if processes < 2:
        raise FaceswapError(f"devices must be >= 2 to start processes, got {processes}; "
                            "one device trains in this process (Trainer)")
    if _backend(device) == "nccl" and processes > torch.cuda.device_count():
        raise FaceswapError(f"{processes} devices asked for, but this machine has "
                            f"{torch.cuda.device_count()} GPU(s): give at most that")


def launch(processes: int, run, while_waiting: Callable[[], None] | None = None) -> None:
    """Run ``run(rank, processes)`` in ``processes`` new processes, one per
    device (``run.device``: ``auto``, ``cuda`` or ``cpu``; a picklable callable).
    Ctrl-C or SIGTERM reaches every process, so process 0 saves a checkpoint.
    ``while_waiting()`` runs here a few times a second until they end."""
    import torch.multiprocessing as mp

    check_devices(processes, run.device)
    context = mp.start_processes(_worker, args=(processes, _free_port(), run), nprocs=processes, join=False,
                                 start_method="spawn")
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while not context.join(timeout=None if while_waiting is None else 0.1):
            if while_waiting is not None:
                while_waiting()
    except mp.ProcessRaisedException as err:
        # The child's traceback is in the message; its last line is the error itself.
        raise FaceswapError(str(err).strip().splitlines()[-1]) from None
    except BaseException:  # Ctrl-C, or while_waiting failed: no process is left behind, and process 0 saves
        for process in context.processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)
        context.processes[0].join(SAVE_WAIT_S)
        for process in context.processes:
            # The others hold nothing to save; one may wait in a collective for a peer that has ended.
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


class TrainingRun:
    """What each process runs: a :class:`~faceswap_parts.training.Trainer` on
    its share, to ``iterations`` (picklable, for spawned processes)."""

    def __init__(self, config: dict, requested_model: dict, iterations: int, given=None, watch=None):
        self.config, self.requested_model, self.iterations = config, requested_model, iterations
        self.given = None if given is None else tuple(given)
        self.device = config.get("device", "auto")
        #: picklable ``watch(trainer)`` giving process 0's per-iteration callback (None: no callback)
        self.watch = watch

    def __call__(self, rank: int, processes: int):
        config = TrainConfig.from_dict({**self.config, "device": self.device})
        trainer = Trainer(config, requested_model=self.requested_model, rank=rank, processes=processes,
                          given=None if self.given is None else (*self.given, "device"))  # this process's
        if rank == 0:
            print(f"{processes} processes, device {trainer.device} each, batch {config.batch_size // processes} "
                  f"per process ({config.batch_size} in all), from iteration {trainer.iteration}", flush=True)
        return trainer.train(self.iterations, self.watch(trainer) if self.watch is not None and rank == 0 else None)


class _Reporter:
    """Process 0's side of a :class:`DevicesTrainer`: each iteration's progress goes to the caller's
    process, the caller's preview interval and stop request come back."""

    def __init__(self, reports, stop, preview_interval):
        self.reports, self.stop, self.preview_interval = reports, stop, preview_interval

    def __call__(self, trainer: Trainer):
        # A process that ends with unread reports (the caller was interrupted) must not wait for them.
        self.reports.cancel_join_thread()
        trainer.config.preview_interval = self.preview_interval.value

        def callback(progress: TrainingProgress):
            self.reports.put((progress.iteration, progress.total, dict(progress.losses), progress.phase,
                              progress.preview_grid))
            trainer.config.preview_interval = self.preview_interval.value
            return False if self.stop.is_set() else None
        return callback


class DevicesTrainer:
    """``train(iterations, callback)`` as :class:`~faceswap_parts.training.Trainer`'s, on ``devices``
    processes: one per GPU (NCCL), or CPU processes (gloo) with ``config.device == "cpu"``. For callers
    that watch a run from their own process, such as the notebooks' training panel.

    Only checkpoints are read here, mapped rather than loaded (:mod:`~faceswap_parts.training.start`:
    the iteration, the settings a resume trains with, the architecture of the checkpoint or of the
    ``--init-from`` model); the processes load the faces and the model. The callback runs here on process 0's
    progress, with ``preview_grid`` at ``config.preview_interval`` (which it may change) and
    ``previews`` None; returning ``False`` (or raising :class:`StopTraining`) stops every process one
    iteration later, and process 0 saves; an error the callback raises stops them the same way and
    is then raised here. Ctrl-C stops them too, with a saved checkpoint.
    """

    def __init__(self, config: TrainConfig, requested_model: dict | None = None, devices: int = 2, given=None):
        if config.device == "auto" and not torch.cuda.is_available():
            raise FaceswapError(f"{devices} devices asked for, but this machine has no GPU: train on 1")
        check_devices(devices, config.device)
        self.devices, self.requested_model = devices, dict(requested_model or {})
        self.given = None if given is None else tuple(given)
        self._config = config.to_dict()  # what the processes start from: they apply the same rule themselves
        self.checkpoint_path = checkpoint_path(Path(config.workdir).expanduser())
        self.config = run_settings(TrainConfig.from_dict(self._config), self.given, devices)
        state, _ = starting_point(self.config, self.requested_model, mmap=True)  # sets self.config.model
        self.iteration = int(state["iteration"]) if state else 0

    def train(self, iterations: int, callback: Callable[[TrainingProgress], object] | None = None) -> TrainResult:
        """Train every process until the total iteration count reaches ``iterations``."""
        result = TrainResult(self.iteration, iterations)
        if self.iteration >= iterations:
            return result
        context = multiprocessing.get_context("spawn")
        reports, stop = context.Queue(), context.Event()
        preview_interval = context.Value("i", self.config.preview_interval)

        failed: list[BaseException] = []

        def relay() -> None:
            while True:
                try:
                    iteration, total, losses, phase, grid = reports.get_nowait()
                except queue.Empty:
                    return
                result.losses = losses
                if callback is not None and not stop.is_set():
                    try:
                        wanted = callback(TrainingProgress(iteration, total, losses, phase, preview_grid=grid))
                    except StopTraining:
                        wanted = False
                    except Exception as err:  # noqa: BLE001 - raised below, once every process has stopped and saved
                        failed.append(err)
                        wanted = False
                    if wanted is False:
                        stop.set()
                preview_interval.value = self.config.preview_interval

        run = TrainingRun(self._config, self.requested_model, iterations, self.given,
                          watch=_Reporter(reports, stop, preview_interval))
        try:
            launch(self.devices, run, while_waiting=relay)
            relay()
        finally:
            if self.checkpoint_path.is_file():
                self.iteration = int(load_checkpoint(self.checkpoint_path, mmap=True)["iteration"])
        if failed:
            raise failed[0]
        result.iteration, result.stopped_early = self.iteration, self.iteration < iterations
        return result
