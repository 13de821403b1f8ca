"""The training engine: v2.2 GAN training with exact resume, previews and safe stops."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from faceswap_parts.config import Phase, TrainConfig, parse_augment_parts
from faceswap_parts.faces.alignment import center_crop
from faceswap_parts.facesets import check_two_people, load_faceset, load_pool
from faceswap_parts.training.data import BatchSource
from faceswap_parts.training.data.augment_torch import augment_batch
from faceswap_parts.training.data.dataset import RawBatch, to_model_range
from faceswap_parts.device import resolve_device
from faceswap_parts.errors import FaceswapError, FaceswapWarning
from faceswap_parts.io.images import write_image
from faceswap_parts.models import FaceswapModel
from faceswap_parts.training import checkpoint as ckpt
from faceswap_parts.training import distributed
from faceswap_parts.training.lock import WorkdirLock
from faceswap_parts.models import checkpoint as model_ckpt
from faceswap_parts.training.history import CURVE_NAME, LossHistory, plot_curves
from faceswap_parts.training.objective import discriminator_losses, generator_losses
from faceswap_parts.device import DTYPES, resolve_precision
from faceswap_parts.training.preview import preview_grid, preview_images
from faceswap_parts.training.schedule import phase_index, swaps_before
from faceswap_parts.training.start import run_settings, starting_point

PREVIEW_FACES = 4
#: Fewer faces than this in a face set gets a warning: a model of a handful of pictures learns the pictures.
FEW_FACES = 10


class StopTraining(Exception):
    """Raise from a training callback to stop cleanly (a checkpoint is saved first)."""


@dataclass
class TrainingProgress:
    """What the :meth:`Trainer.train` callback receives after every iteration.

    ``previews`` maps row names of :data:`faceswap_parts.training.preview.ROWS`
    to (N,H,W,3) uint8 arrays at preview intervals and is ``None`` otherwise.
    """

    iteration: int
    total: int
    losses: dict[str, float]
    phase: int
    previews: dict[str, np.ndarray] | None = None
    preview_grid: np.ndarray | None = None


@dataclass
class TrainResult:
    """Returned by :meth:`Trainer.train`: where training stopped and why."""

    iteration: int
    total: int
    stopped_early: bool = False
    losses: dict[str, float] = field(default_factory=dict)


def _rng_state(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """faceswap-GAN v2.2 training of one A/B pair in ``config.workdir``.

    A workdir with a checkpoint is resumed exactly (iteration, weights,
    optimisers, schedule phase, RNG states); its architecture then comes from
    the checkpoint and ``requested_model`` (architecture fields the user set
    explicitly) must agree with it, and its training settings follow
    :func:`~faceswap_parts.config.resume_config`: the checkpoint's, with the
    fields named by ``given`` taken from ``config`` (by default those that
    differ from TrainConfig's defaults), the same rule as the CLI's. For a new
    workdir the architecture is ``config.model`` updated with
    ``requested_model``.

    Example::

        trainer = Trainer(TrainConfig(a_dir="faces/a", b_dir="faces/b", workdir="run"))
        trainer.train(20000, callback=lambda p: p.iteration < 500 or None)
    """

    def __init__(self, config: TrainConfig, requested_model: dict | None = None, rank: int = 0, processes: int = 1,
                 given=None):
        # With several processes (training.distributed) this is process `rank`; process 0 writes the files.
        self.rank, self.processes = rank, processes
        self.workdir = Path(config.workdir).expanduser()
        self.checkpoint_path = model_ckpt.checkpoint_path(self.workdir)
        self.config = run_settings(config, given, processes)
        self.device = resolve_device(self.config.device)
        self._lock: WorkdirLock | None = None
        if rank == 0 and self.workdir.is_dir():  # a new workdir is locked when training creates it
            self._take_workdir()
        state, init = self._starting_point(dict(requested_model or {}))
        self.precision = resolve_precision(self.config.precision, self.device)
        self.amp_dtype = DTYPES[self.precision]
        self.faces = self._load_faces()
        self.sources = self._batch_sources()
        self.preview_faces = self._preview_faces()
        self._build_model()
        self._restore(state, init)
        self._ddp = distributed.wrap(self.model, self.device) if processes > 1 else None
        self._load_given_perceptual_weights()

    # ------------------------------------------------------------------ set-up steps
    def _starting_point(self, requested_model: dict) -> tuple[dict | None, tuple | None]:
        """:func:`~faceswap_parts.training.start.starting_point`, remembering the iteration on disk."""
        state, init = starting_point(self.config, requested_model)
        #: the iteration of the checkpoint on disk that this trainer wrote or resumed (None: none yet)
        self.saved_iteration: int | None = int(state["iteration"]) if state is not None else None
        return state, init

    def _load_faces(self) -> dict:
        """Both identities' face sets (a ``--pretrain`` pool is both: each decoder learns every face)."""
        config = self.config
        if config.pretrain_dirs:
            shared = load_pool(config.pretrain_dirs)
            return {"A": shared, "B": shared}
        check_two_people(config.a_dir, config.b_dir)
        faces = {"A": load_faceset(config.a_dir, "A"), "B": load_faceset(config.b_dir, "B")}
        for name, faceset in faces.items():
            if len(faceset) < FEW_FACES:
                warnings.warn(f"face set {name} ({faceset.folder}) has only {len(faceset)} face(s): the model "
                              "would learn those pictures, not the person; extract a few hundred",
                              FaceswapWarning, stacklevel=3)
        return faces

    def _batch_sources(self) -> dict:
        """Each identity's training batches, with its look-alike swapper when parts augmentation is on."""
        cuda = self.device.type == "cuda"
        self.augment_on_device = self.config.augment == "device" or (self.config.augment == "auto" and cuda)
        if cuda:
            torch.backends.cudnn.benchmark = True  # every iteration has the same shapes
        swappers = self._lookalikes() if self.config.parts_augment else {}
        pool = list(self.faces.values())
        return {k: BatchSource(fs, self.config, i, pool, shard=(self.rank, self.processes), pin_memory=cuda,
                               lookalike=swappers.get(k))
                for i, (k, fs) in enumerate(self.faces.items())}

    def _preview_faces(self) -> dict:
        model = self.config.model
        return {k: torch.from_numpy(to_model_range(center_crop(fs.images[:PREVIEW_FACES], model.resolution,
                                                               model.coverage)))
                for k, fs in self.faces.items()}

    def _build_model(self) -> None:
        """The networks (seeded), both optimisers, the gradient scaler and the run's counters."""
        config = self.config
        # oneDNN's bf16 convolutions and the model's self-attention are fastest
        # on channels-last maps (docs/training.md, "Speed").
        self.memory_format = torch.channels_last if self.amp_dtype is not None else torch.contiguous_format
        torch.manual_seed(config.seed)  # same initial weights for the same seed
        self.model = FaceswapModel(config.model).to(self.device, memory_format=self.memory_format)
        # The fused kernel does Adam's update in one pass over the ~36M parameters
        # (the unfused step was a sizeable share of a CPU bf16 iteration: docs/training.md).
        adam = dict(betas=(config.beta1, config.beta2), fused=self.device.type in ("cpu", "cuda"))
        self.opt_g = torch.optim.Adam(self._generator_params(), lr=config.lr_g, **adam)
        self.opt_d = torch.optim.Adam(self._discriminator_params(), lr=config.lr_d, **adam)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.iteration = 0
        self.swaps_done = 0
        self.history = LossHistory(self.workdir)
        self.perceptual = None  # loaded when a phase first asks for it
        self.perceptual_net = ""  # the network the perceptual loss used ("" = none yet)
        self._perceptual_failed = False
        self._failed = False  # a non-finite loss was seen: the weights in memory are not to be trained on
        self._want_stop = False
        self._stop_votes = 0.0  # other processes' stop requests, read with the losses
        self.init_source: dict = {}  # where a new run's weights came from (saved in the checkpoint)

    def _restore(self, state: dict | None, init: tuple | None) -> None:
        if state is not None:
            self._load_state(state)
            self._check_perceptual_request()
        elif init is not None:
            self._init_weights(*init)

    def _load_given_perceptual_weights(self) -> None:
        """The user's own VGGFace2 file is loaded now, so a wrong one stops the run here, not a fifth of the way in."""
        config = self.config
        if config.perceptual and config.perceptual_weights and (self.perceptual_net or config.perceptual_net) != "dlib":
            from faceswap_parts.training.perceptual import load_perceptual

            self.perceptual_net, self.perceptual = load_perceptual("vggface2", device=self.device,
                                                                   weights_path=config.perceptual_weights)

    def _take_workdir(self) -> None:
        """Lock the workdir for this trainer (one trainer per workdir), then remove what saves that were
        killed (kill -9) left there: only under the lock, since another trainer's save may be under way."""
        self._lock = WorkdirLock.acquire(self.workdir)
        ckpt.remove_stale_temporaries(self.checkpoint_path)

    def _check_workdir(self) -> None:
        """Before writing: hold the workdir's lock, and find on disk the checkpoint this trainer knows."""
        if self.rank != 0:
            return
        if self._lock is None:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._take_workdir()
        self._lock.check()
        if self.saved_iteration is None and self.checkpoint_path.exists():
            raise FaceswapError(f"a checkpoint appeared in {self.workdir} after this trainer was made (another "
                                "training?); make a new trainer, which resumes it")

    def close(self) -> None:
        """Release the workdir's lock (the process's end does the same)."""
        if self._lock is not None:
            self._lock.release()

    def _lookalikes(self) -> dict:
        """Look-alike parts augmentation: index both face sets (cached beside
        them), pair each face with its nearest look-alikes of the other
        identity, and write a preview sheet of augmented samples (under the
        workdir's lock); each identity's swapper."""
        from faceswap_parts.training.data import lookalike

        parts = parse_augment_parts(self.config.parts_augment)
        swappers = lookalike.make_swappers(self.faces, parts, self.config.parts_knn, device=self.device)
        if self.rank == 0:
            self._check_workdir()
            lookalike.write_preview(self.workdir / "lookalike_preview.png", swappers)
        return swappers

    # ------------------------------------------------------------------ parameters
    def _generator_params(self) -> list[torch.nn.Parameter]:
        """Encoder then decoders by *current* name: kept in this order after a
        decoder swap, so optimiser state indices always follow the names."""
        m = self.model
        return [*m.encoder.parameters(), *m.decoders["A"].parameters(), *m.decoders["B"].parameters()]

    def _discriminator_params(self) -> list[torch.nn.Parameter]:
        return [*self.model.discriminators["A"].parameters(), *self.model.discriminators["B"].parameters()]

    def _swap_decoders(self) -> None:
        self.model.swap_decoders()
        self.opt_g.param_groups[0]["params"] = self._generator_params()
        self.opt_d.param_groups[0]["params"] = self._discriminator_params()
        self.swaps_done += 1

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict:
        """Everything needed to resume, as tensors and plain containers, with
        the digest of its tensors (checked when it is loaded)."""
        state = {
            "format": model_ckpt.FORMAT_VERSION,
            "model_config": self.config.model.to_dict(),
            "train_config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optim_g": self.opt_g.state_dict(),
            "optim_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "iteration": self.iteration,
            "swaps_done": self.swaps_done,
            "rng": _rng_state(self.device),
            "history": self.history.state(),
            "perceptual_net": self.perceptual_net,
            "init_source": self.init_source,
        }
        state["digest"] = model_ckpt.payload_digest(state)
        return state

    def _load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt_g.load_state_dict(state["optim_g"])
        self.opt_d.load_state_dict(state["optim_d"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.iteration = int(state["iteration"])
        self.swaps_done = int(state.get("swaps_done", 0))
        _set_rng_state(state["rng"], self.device)
        self.history.load_state(state.get("history", {}))
        self.history.truncate_after(self.iteration)
        self.perceptual_net = str(state.get("perceptual_net", ""))
        self.init_source = dict(state.get("init_source") or {})

    def _init_weights(self, init: dict, path: Path) -> None:
        """Start from another model's weights (``init_parts``: every network,
        or only the shared encoder); iteration and optimisers stay fresh."""
        weights = init["model"]
        if self.config.init_parts == "encoder":
            weights = {k: v for k, v in weights.items() if k.startswith("encoder.")}
        self.model.load_state_dict(weights, strict=self.config.init_parts == "all")
        self.init_source = {"path": str(path.resolve()), "iteration": int(init["iteration"]),
                            "parts": self.config.init_parts, "digest": str(init.get("digest", ""))}

    def _check_perceptual_request(self) -> None:
        """A run's perceptual loss keeps the network it started with: its
        features have a scale of their own, so switching mid-run would change
        the objective under the trained weights."""
        used, asked = self.perceptual_net, self.config.perceptual_net
        if used and self.config.perceptual and asked not in ("auto", used):
            raise FaceswapError(f"{self.workdir} was trained with the {used} perceptual network; resume with "
                                f"--perceptual-net {used} (or auto), or start a new workdir for {asked}")

    def save(self) -> Path:
        """Write ``checkpoint.pt`` atomically (and ``config.json``, the history CSV).

        Ctrl-C or SIGTERM during the save waits for it to finish and then
        raises ``KeyboardInterrupt``; a second one aborts it
        (:class:`~faceswap_parts.training.checkpoint.SaveInterrupted`), keeping
        the previous checkpoint."""
        self._check_workdir()
        if not model_ckpt.weights_finite(self.model.state_dict()):
            self._failed = True
            kept = (f"the checkpoint of iteration {self.saved_iteration} is kept: {self.checkpoint_path}"
                    if self.saved_iteration is not None else "nothing was saved")
            raise FaceswapError(f"the weights are no longer finite numbers (NaN or inf) at iteration "
                                f"{self.iteration}, so they were not saved; {kept}")
        with ckpt.signals_deferred():
            self.history.flush()
            state = self.state_dict()
            ckpt.atomic_save(state, self.checkpoint_path)
            ckpt.atomic_save(model_ckpt.inference_weights(state["model"], state["model_config"], self.iteration),
                             self.workdir / model_ckpt.WEIGHTS_NAME)
            ckpt.write_json(self.workdir / "config.json", {"iteration": self.iteration, "precision": self.precision,
                                                           "perceptual_net": self.perceptual_net,
                                                           "model": self.config.model.to_dict(),
                                                           "train": self.config.to_dict()})
            self.saved_iteration = self.iteration
        return self.checkpoint_path

    # ------------------------------------------------------------------ one iteration
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                              enabled=self.amp_dtype is not None)

    def _perceptual_model(self, phase: Phase):
        if not (phase.perceptual and self.config.perceptual) or self._perceptual_failed:
            return None
        if self.perceptual is None:
            from faceswap_parts.training.perceptual import load_perceptual

            asked = self.perceptual_net or self.config.perceptual_net  # a resumed run keeps its network
            try:
                self.perceptual_net, self.perceptual = load_perceptual(
                    asked, device=self.device, weights_path=self.config.perceptual_weights or None)
            except FaceswapError as err:
                if self.perceptual_net:
                    raise FaceswapError(f"{self.workdir} was trained with the {self.perceptual_net} perceptual "
                                        f"network, which cannot be loaded here: {err} (or resume with "
                                        f"--no-perceptual)") from None
                self._perceptual_failed = True
                warnings.warn(f"training without perceptual loss: {err}", FaceswapWarning, stacklevel=2)
                return None
        return self.perceptual

    def _finite(self, tensors: dict[str, torch.Tensor]) -> dict[str, float]:
        """Loss values as floats: the iteration's one host sync. FaceswapError if
        any is NaN/inf; the trainer then refuses to go on (its weights may hold
        the bad step), and the checkpoint on disk is the last good one."""
        stacked = [t.detach().float() for t in tensors.values()]
        if self.processes > 1:  # stop requests travel with the losses: no extra sync
            stacked.append(torch.full((), float(self._want_stop), device=self.device))  # a fill: no copy, no sync
        reduced = self._reduce(torch.stack(stacked)).tolist()
        if self.processes > 1:
            self._stop_votes = reduced.pop()
        values = dict(zip(tensors, reduced))
        bad = [f"{k}={v}" for k, v in values.items() if not math.isfinite(v)]
        if bad:
            self._failed = True
            saved = f"the last good checkpoint {self.checkpoint_path} is kept" if self.checkpoint_path.exists() \
                else "no checkpoint had been saved yet"
            raise FaceswapError(f"training stopped at iteration {self.iteration + 1}: loss {', '.join(bad)} "
                                f"is not finite; {saved}; try a lower learning rate or --precision fp32")
        return values

    def _reduce(self, values: torch.Tensor) -> torch.Tensor:
        """Loss values averaged over the training processes (as is, alone)."""
        if self.processes == 1:
            return values
        return distributed.average(values, self.processes)

    def _device_batch(self, batch, identity: str) -> tuple:
        """(warped, target, eyes, {part: mask}) on the training device: a raw
        batch is uploaded and augmented there, an augmented one copied."""
        if isinstance(batch, RawBatch):
            batch = augment_batch(batch.to(self.device), self.config.model.resolution)
        warped, target, eyes, parts = (
            (torch.from_numpy(a) if isinstance(a, np.ndarray) else a)
            .to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
            for a in (batch.warped, batch.target, batch.eyes, batch.parts))
        names = self.sources[identity].loss_parts
        return warped, target, eyes, {name: parts[:, i:i + 1] for i, name in enumerate(names)}

    def _discriminate(self, requests: list[tuple]) -> list[torch.Tensor]:
        """Scores of the discriminator for each ``(image, distorted, identity)``."""
        if self._ddp is not None:
            return self._ddp[1](requests)
        return [self.model.discriminate(*request) for request in requests]

    def _generate(self, inputs: dict[str, torch.Tensor]):
        return self._ddp[0](inputs) if self._ddp is not None else self.model.generate_all(inputs)

    def step(self, batches: dict, phase: Phase) -> dict[str, float]:
        """One v2.2 iteration: both discriminators, then both generators against
        the updated discriminators. One host sync: the loss values, read before
        the generators' step; a non-finite loss raises there."""
        cfg, model = self.config, self.model
        model.train()
        data = {k: self._device_batch(b, k) for k, b in batches.items()}

        # One generator forward (both identities through the encoder at once)
        # serves both steps: the discriminators train on its detached result,
        # the generators' losses backpropagate through it (the generators do
        # not change in between).
        with self._autocast():
            outs = self._generate({ident: warped for ident, (warped, *_) in data.items()})
            d_losses = discriminator_losses(
                self._discriminate, {ident: (target, outs[ident].result, warped)
                                     for ident, (warped, target, *_) in data.items()}, cfg.gan_loss)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(d_losses["A"] + d_losses["B"]).backward()
        self.scaler.step(self.opt_d)

        pl_model = self._perceptual_model(phase)
        self.model.discriminators.requires_grad_(False)  # G's loss must not leave gradients in D
        try:
            with self._autocast():
                terms = {ident: generator_losses(model, ident, warped, target, eyes, cfg, phase, pl_model,
                                                 out=outs[ident], part_masks=part_masks)
                         for ident, (warped, target, eyes, part_masks) in data.items()}
            parts = {f"D_{k}": v for k, v in d_losses.items()}
            parts.update({f"G_{k}": t.total for k, t in terms.items()})
            for ident, t in terms.items():
                parts.update({f"{name}_{ident}": v for name, v in t.parts.items()})
            self.opt_g.zero_grad(set_to_none=True)
            self.scaler.scale(terms["A"].total + terms["B"].total).backward()
        finally:
            self.model.discriminators.requires_grad_(True)
        values = self._finite(parts)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        return values

    def _apply_phase(self, total: int) -> tuple[int, Phase]:
        index = phase_index(self.config.schedule, self.iteration, total)
        phase = self.config.schedule[index]
        while self.swaps_done < swaps_before(self.config.schedule, index):
            self._swap_decoders()
        for opt, base in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * phase.lr_factor
        return index, phase

    # ------------------------------------------------------------------ outputs
    def previews(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Preview rows (see :data:`~faceswap_parts.training.preview.ROWS`) and their grid."""
        self.model.eval()
        try:
            with self._autocast():
                faces = {k: v.to(self.device).contiguous(memory_format=self.memory_format)
                         for k, v in self.preview_faces.items()}
                images = preview_images(self.model, faces["A"], faces["B"])
        finally:
            self.model.train()
        return images, preview_grid(images)

    def _write_outputs(self) -> tuple[dict, np.ndarray]:
        images, grid = self.previews()
        (self.workdir / "previews").mkdir(parents=True, exist_ok=True)
        write_image(self.workdir / "previews" / f"preview_{self.iteration:06d}.png", grid)
        write_image(self.workdir / "preview_latest.png", grid)
        columns, data = self.history.read()
        plot_curves(columns, data, self.workdir / CURVE_NAME, title=f"{self.workdir.name}: iteration {self.iteration}")
        return images, grid

    # ------------------------------------------------------------------ the loop
    def train(self, iterations: int, callback: Callable[[TrainingProgress], object] | None = None) -> TrainResult:
        """Train until the total iteration count reaches ``iterations`` (resumed
        runs continue from their checkpoint's iteration).

        ``callback(progress)`` runs after every iteration; returning ``False`` or
        raising :class:`StopTraining` stops training cleanly. A checkpoint is
        saved every ``save_interval`` iterations, at the end, on a clean stop and
        on ``KeyboardInterrupt`` (which is then re-raised). A non-finite loss
        raises :class:`FaceswapError` and keeps the last good checkpoint.
        """
        from tqdm.auto import tqdm

        cfg = self.config
        result = TrainResult(self.iteration, iterations)
        if self.iteration >= iterations:
            return result
        if self._failed:
            raise FaceswapError("this trainer stopped on a non-finite loss; make a new one, which resumes from "
                                "the last good checkpoint")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._check_workdir()
        streams = {k: src.iterate(self.iteration, raw=self.augment_on_device) for k, src in self.sources.items()}
        main = self.rank == 0
        # it/s even below one iteration a second (tqdm would switch to s/it), samples/s beside it
        bar = tqdm(total=iterations, initial=self.iteration, desc="train", disable=not (cfg.progress and main),
                   dynamic_ncols=True, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} "
                                                  "[{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]")
        samples_per_it = 2 * cfg.batch_size
        stop = False
        try:
            while self.iteration < iterations and not stop:
                index, phase = self._apply_phase(iterations)
                losses = self.step({k: next(s) for k, s in streams.items()}, phase)
                self.iteration += 1
                if main:
                    self.history.append(self.iteration, losses)
                result.losses = losses
                bar.update(1)
                rate = bar.format_dict.get("rate")
                bar.set_postfix({"samples/s": f"{rate * samples_per_it:.3g}" if rate else "?",
                                 **{k: f"{losses[k]:.3g}" for k in ("G_A", "G_B", "D_A", "D_B")}}, refresh=False)
                last = self.iteration == iterations
                progress = TrainingProgress(self.iteration, iterations, losses, index)
                if main and cfg.preview_interval and (self.iteration % cfg.preview_interval == 0 or last):
                    progress.previews, progress.preview_grid = self._write_outputs()
                if main and ((cfg.save_interval and self.iteration % cfg.save_interval == 0) or last):
                    bar.set_description("train: saving checkpoint…", refresh=True)
                    self.save()
                    bar.set_description("train", refresh=False)
                if (cfg.backup_interval and self.iteration % cfg.backup_interval == 0
                        and self.saved_iteration == self.iteration):
                    ckpt.write_backup(self.checkpoint_path, self.iteration, cfg.keep_backups)
                if callback is not None and not self._want_stop:
                    try:
                        self._want_stop = callback(progress) is False
                    except StopTraining:
                        self._want_stop = True
                # Alone, a stop request ends the run now; with several processes, all of them stop
                # together one iteration later, when the request has travelled with the losses.
                stop = self._want_stop if self.processes == 1 else self._stop_votes > 0
            if stop:
                result.stopped_early = True
        except ckpt.SaveInterrupted:
            raise
        except KeyboardInterrupt:
            if main and self.saved_iteration != self.iteration:
                self.save()
            raise
        finally:
            bar.close()
            for stream in streams.values():
                stream.close()
        if main and self.saved_iteration != self.iteration:
            self.save()
        self._want_stop, self._stop_votes = False, 0.0
        result.iteration = self.iteration
        return result
