"""What a training run starts from: its settings, its architecture and its first weights.

One rule for every caller that trains a workdir (:class:`~faceswap_parts.training.Trainer` in
each process, and :class:`~faceswap_parts.training.launcher.DevicesTrainer`, which only reads
the checkpoint so that a caller watching several processes sees the run they will train):

* a workdir with a checkpoint is resumed: its architecture, and the settings of
  :func:`~faceswap_parts.config.resume_config`;
* a new workdir with ``--init-from`` takes that model's architecture;
* otherwise the architecture is ``config.model`` updated with the requested fields.

Architecture fields the user set explicitly (``requested_model``) must agree with the checkpoint
or the ``--init-from`` model; a mismatch is a one-line :class:`FaceswapError`.
"""
from __future__ import annotations

from pathlib import Path

from faceswap_parts.config import ModelConfig, TrainConfig, resume_config
from faceswap_parts.errors import FaceswapError
from faceswap_parts.facesets import check_apart
from faceswap_parts.models import checkpoint as model_ckpt
from faceswap_parts.training import distributed


def run_settings(config: TrainConfig, given, processes: int = 1) -> TrainConfig:
    """The run's settings (a resume: :func:`~faceswap_parts.config.resume_config`), checked
    against the process count and the face folders before anything is loaded."""
    path = model_ckpt.checkpoint_path(Path(config.workdir).expanduser())
    if path.is_file():
        config = resume_config(model_ckpt.load_checkpoint(path, mmap=True)["train_config"], config, given)
    if processes > 1:
        distributed.check_split(config.batch_size, processes)
    check_apart(Path(config.workdir).expanduser(),
                config.pretrain_dirs or [d for d in (config.a_dir, config.b_dir) if d])
    return config


def starting_point(config: TrainConfig, requested_model: dict, mmap: bool = False) -> tuple[dict | None, tuple | None]:
    """Set ``config.model`` to the run's architecture and say what the weights start from:
    ``(state, None)`` to resume the workdir's checkpoint, ``(None, (init, path))`` to start from
    another model's (``--init-from``), ``(None, None)`` for fresh weights. ``mmap`` maps the
    checkpoints instead of reading them, for a caller that only needs their settings."""
    workdir = Path(config.workdir).expanduser()
    own = model_ckpt.checkpoint_path(workdir)
    state = model_ckpt.load_checkpoint(own, mmap=mmap) if own.exists() else None
    init = None
    if state is not None:
        model_config = ModelConfig.from_dict(state["model_config"])
        _check_model_request(model_config, requested_model, workdir)
        _check_init_on_resume(state, config, workdir)
    elif config.init_from:
        path = _init_checkpoint_path(config.init_from, own)
        init = (model_ckpt.load_checkpoint(path, mmap=mmap), path)
        if init[0].get("kind") == "weights" and config.init_parts == "all":
            raise FaceswapError(f"--init-from {path} is a weights file, without discriminators; give "
                                "its checkpoint.pt, or add --init-parts encoder")
        model_config = ModelConfig.from_dict(init[0]["model_config"])
        _check_init_request(model_config, requested_model, path)
    else:
        model_config = ModelConfig.from_dict({**config.model.to_dict(), **requested_model})
    config.model = model_config
    return state, init


def _check_model_request(saved: ModelConfig, requested: dict, workdir: Path) -> None:
    diffs = [f"{k}={v!r} (checkpoint has {getattr(saved, k)!r})" for k, v in requested.items()
             if getattr(saved, k) != v]
    if diffs:
        raise FaceswapError(f"{workdir} holds a checkpoint of another architecture: {', '.join(diffs)}; "
                            "leave these options out to resume it, or use a new --workdir")


def _init_checkpoint_path(source: str, own: Path) -> Path:
    """The checkpoint ``--init-from`` names: a workdir or a checkpoint file, never the run's own."""
    path = Path(source).expanduser()
    path = model_ckpt.checkpoint_path(path) if path.is_dir() else path
    if not path.is_file():
        raise FaceswapError(f"--init-from {source}: no checkpoint there (give a trained workdir or its checkpoint.pt)")
    if own.exists() and path.resolve() == own.resolve():
        raise FaceswapError(f"--init-from {source} is this run's own checkpoint; give another model's workdir")
    return path


def _check_init_request(source: ModelConfig, requested: dict, path: Path) -> None:
    diffs = [f"{k}={v!r} (it has {getattr(source, k)!r})" for k, v in requested.items() if getattr(source, k) != v]
    if diffs:
        raise FaceswapError(f"--init-from {path} is a model of another architecture: {', '.join(diffs)}; "
                            "leave these options out to take its architecture")


def _check_init_on_resume(state: dict, config: TrainConfig, workdir: Path) -> None:
    """``--init-from`` only starts a new run: resuming with the one it started from is fine, another is refused."""
    saved = str(state.get("train_config", {}).get("init_from", ""))
    if config.init_from and Path(config.init_from).expanduser().resolve() != (
            Path(saved).expanduser().resolve() if saved else None):
        raise FaceswapError(f"{workdir} already holds a checkpoint, so --init-from {config.init_from} cannot apply "
                            "(it starts new runs only); leave it out to resume, or use a new --workdir")
