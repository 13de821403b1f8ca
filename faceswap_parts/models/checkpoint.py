"""Reading the one-file checkpoint ``WORKDIR/checkpoint.pt`` and loading the
trained model in it: what inference (conversion, evaluation) needs of a
training run. Writing it is :mod:`faceswap_parts.training.checkpoint`.

Only tensors and plain containers are stored (configs as dicts, RNG states as
tensors), so every load uses ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import torch

from faceswap_parts.errors import FaceswapError

CHECKPOINT_NAME = "checkpoint.pt"
#: The layout of the checkpoint and weights files; a file of a newer layout is refused on load.
FORMAT_VERSION = 1
#: The networks conversion runs, in fp16, without the optimiser state: to share a model or convert with it.
WEIGHTS_NAME = "weights.pt"
BACKUP_DIR = "backups"
#: The networks a weights file keeps (the discriminators only train).
INFERENCE_NETWORKS = ("encoder.", "decoders.")


def checkpoint_path(workdir: str | os.PathLike) -> Path:
    return Path(workdir) / CHECKPOINT_NAME


def load_checkpoint(path: str | os.PathLike, map_location="cpu", mmap: bool = False) -> dict:
    """Load a checkpoint file saved by :func:`atomic_save` (``weights_only=True``;
    ``mmap=True`` to peek at the configs without reading the weights)."""
    path = Path(path)
    if path.is_dir():
        raise FaceswapError(f"{path} is a folder where the checkpoint file belongs; move it away, or give "
                            "another workdir")
    if not path.is_file():
        raise FaceswapError(f"no checkpoint at {path}; train a model first "
                            f"(faceswap-parts train --workdir {path.parent} ...)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except PermissionError:
        raise FaceswapError(f"cannot read checkpoint {path}: permission denied (the file is intact; "
                            f"give this user read access)") from None
    except OSError as err:
        raise FaceswapError(f"cannot read checkpoint {path}: {err.strerror or err}") from None
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        raise FaceswapError(f"cannot read checkpoint {path}: {_why_unreadable(path, err)}; "
                            f"{_restore_hint(path)}") from None
    if not isinstance(state, dict) or "model_config" not in state or "model" not in state:
        raise FaceswapError(f"{path} is not a faceswap-parts checkpoint; {_restore_hint(path)}")
    layout = state.get("format", 1)
    if not isinstance(layout, int) or layout > FORMAT_VERSION:
        raise FaceswapError(f"{path} has checkpoint format {layout!r}, newer than this faceswap-parts reads "
                            f"({FORMAT_VERSION}); upgrade faceswap-parts to load it")
    if not mmap:  # a peek at the configs reads no weights, so it cannot check them
        verify_digest(state, path)
        if not weights_finite(state["model"]):
            raise FaceswapError(f"{path} holds non-finite weights (NaN or inf), which would paint blank faces; "
                                f"{_restore_hint(path, verify=True)}")
    return state


def weights_finite(weights: dict) -> bool:
    """True when every floating-point tensor of ``weights`` (a state dict) is free of NaN and inf: one sum
    per tensor and one over them, since either spreads through a sum (weights are far from overflowing it)."""
    sums = [t.detach().float().sum() for t in weights.values() if t.is_floating_point()]
    return not sums or bool(torch.isfinite(torch.stack(sums).sum()))


def payload_digest(state: dict) -> str:
    """SHA-256 over every tensor of ``state`` (names, dtypes, shapes and
    bytes, in a fixed order): saved in the checkpoint as ``digest`` so a file
    that loads but was silently changed (a flipped bit on a synced drive) is
    caught on load."""
    digest = hashlib.sha256()

    def visit(prefix: str, value) -> None:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            digest.update(f"{prefix}|{t.dtype}|{tuple(t.shape)}|".encode())
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(value, dict):
            for key in sorted(value, key=str):
                if not (prefix == "" and key == "digest"):
                    visit(f"{prefix}/{key}", value[key])
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(f"{prefix}/{i}", item)

    visit("", state)
    return digest.hexdigest()


def verify_digest(state: dict, path: Path) -> None:
    """Raise :class:`FaceswapError` if ``state`` (loaded from ``path``) does
    not match the digest saved with it; checkpoints without one pass."""
    saved = state.get("digest")
    if saved and payload_digest(state) != saved:
        raise FaceswapError(f"checkpoint {path} is corrupted: its weights do not match the digest saved with "
                            f"them (changed after it was written); {_restore_hint(path, verify=True)}")


def _why_unreadable(path: Path, err: Exception) -> str:
    text = str(err)
    with open(path, "rb") as f:
        head = f.read(4)
    if head != b"PK\x03\x04":  # torch.save has written zip archives since torch 1.6
        return "not a torch checkpoint file"
    if "weights_only" in text.lower() or "unpickl" in text.lower():
        return "it holds pickled Python objects, which are never loaded"
    if "central directory" in text or "unexpected pos" in text or "failed finding" in text:
        return "the file is cut short or damaged (a copy or download that did not finish?)"
    return f"the file is damaged ({type(err).__name__})"


def _restore_hint(path: Path, verify: bool = False) -> str:
    """Which backup to restore: the newest (``verify``: the newest that loads
    and matches its digest)."""
    folder = path.parent / BACKUP_DIR
    backups = sorted(folder.glob("checkpoint_*.pt"), key=lambda p: int(re.search(r"(\d+)", p.name).group(1)),
                     reverse=True) if folder.is_dir() else []
    for backup in backups:
        if verify:
            try:
                state = torch.load(backup, map_location="cpu", weights_only=True)
                if state.get("digest") and payload_digest(state) != state["digest"]:
                    continue
                if not weights_finite(state.get("model", {})):
                    continue
            except Exception:  # noqa: BLE001 - an unreadable backup is skipped
                continue
        return f"copy a backup over it (newest{' good' if verify else ''}: {backup}) or start a new workdir"
    if backups:
        return "no backup is intact either; start a new workdir"
    return "start a new workdir (there are no backups to restore)"


def inference_weights(model_state: dict, model_config: dict, iteration: int) -> dict:
    """The weights file's content (:data:`WEIGHTS_NAME`): the encoder and
    decoders of ``model_state`` in fp16, the architecture and the iteration,
    with its own digest. A quarter of a float32 checkpoint's size, or less:
    no discriminators and no Adam moments."""
    weights = {k: v.detach().half() if v.is_floating_point() else v.detach()
               for k, v in model_state.items() if k.startswith(INFERENCE_NETWORKS)}
    state = {"format": FORMAT_VERSION, "kind": "weights", "model_config": dict(model_config), "model": weights,
             "iteration": int(iteration)}
    state["digest"] = payload_digest(state)
    return state


def model_file(source: str | os.PathLike) -> Path:
    """The file a model is loaded from: a workdir's ``checkpoint.pt``, else its
    ``weights.pt``; or the ``.pt`` file given."""
    path = Path(source).expanduser()
    if path.suffix == ".pt" and not path.is_dir():
        return path
    if not (path / CHECKPOINT_NAME).is_file() and (path / WEIGHTS_NAME).is_file():
        return path / WEIGHTS_NAME
    return checkpoint_path(path)


def load_model(source: str | os.PathLike, device="auto"):
    """The trained :class:`~faceswap_parts.models.FaceswapModel` of ``source``
    (a workdir, its ``checkpoint.pt`` or a ``weights.pt``: :func:`model_file`)
    in eval mode, its architecture from the file."""
    from faceswap_parts.config import ModelConfig
    from faceswap_parts.device import resolve_device
    from faceswap_parts.models.faceswap_model import FaceswapModel

    path = model_file(source)
    state = load_checkpoint(path)
    model = FaceswapModel(ModelConfig.from_dict(state["model_config"]))
    if state.get("kind") == "weights":  # no discriminators: they stay as built, unused by inference
        missing, unexpected = model.load_state_dict(state["model"], strict=False)
        if unexpected or any(k.startswith(INFERENCE_NETWORKS) for k in missing):
            raise FaceswapError(f"{path} does not hold this architecture's encoder and decoders; "
                                f"{_restore_hint(path)}")
    else:
        model.load_state_dict(state["model"])
    # where the weights came from: what the synthetic-media tag of a conversion names
    model.source = {"file": os.fspath(path), "iteration": int(state.get("iteration", 0))}
    return model.to(resolve_device(device)).eval()
