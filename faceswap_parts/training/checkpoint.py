"""The one-file checkpoint ``WORKDIR/checkpoint.pt``: atomic writes, safe loads,
numbered backups.

Only tensors and plain containers are stored (configs as dicts, RNG states as
tensors), so every load uses ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import torch

from faceswap_parts.errors import FaceswapError, os_error_reason

CHECKPOINT_NAME = "checkpoint.pt"
BACKUP_DIR = "backups"
FORMAT_VERSION = 1


def checkpoint_path(workdir: str | os.PathLike) -> Path:
    return Path(workdir) / CHECKPOINT_NAME


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; os.replace is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete what a save of ``path`` killed mid-write left behind (hidden
    ``.NAME.*.tmp`` files beside it); returns what was removed. Call it only
    when no other process is saving to the same workdir."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def atomic_save(obj, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file beside ``path``, fsync, then
    ``os.replace``: a crash at any moment leaves either the old or the new file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise FaceswapError(f"cannot write {path}: {os_error_reason(err)}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, (OSError, RuntimeError)):
            kept = "the previous checkpoint is kept" if path.exists() else "nothing was saved"
            raise FaceswapError(f"cannot write {path}: {os_error_reason(err)}; {kept}") from None
        raise
    _fsync_dir(path.parent)


def load_checkpoint(path: str | os.PathLike, map_location="cpu", mmap: bool = False) -> dict:
    """Load a checkpoint file saved by :func:`atomic_save` (``weights_only=True``;
    ``mmap=True`` to peek at the configs without reading the weights)."""
    path = Path(path)
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
    if not mmap:  # a peek at the configs reads no weights, so it cannot check them
        verify_digest(state, path)
    return state


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
            except Exception:  # noqa: BLE001 - an unreadable backup is skipped
                continue
        return f"copy a backup over it (newest{' good' if verify else ''}: {backup}) or start a new workdir"
    if backups:
        return "no backup is intact either; start a new workdir"
    return "start a new workdir (there are no backups to restore)"


def write_backup(path: str | os.PathLike, iteration: int, keep: int) -> Path | None:
    """Copy the checkpoint to ``backups/checkpoint_<iteration>.pt`` and keep only
    the newest ``keep`` backups (``keep=0``: no backups)."""
    path = Path(path)
    if keep <= 0:
        return None
    backup_dir = path.parent / BACKUP_DIR
    backup_dir.mkdir(exist_ok=True)
    target = backup_dir / f"checkpoint_{iteration:06d}.pt"
    tmp = target.with_name(f".{target.name}.tmp")
    # A hard link shares the just-written, fsynced file; copy where links are unsupported.
    try:
        if tmp.exists():
            tmp.unlink()
        os.link(path, tmp)
    except OSError:
        import shutil

        shutil.copyfile(path, tmp)
    os.replace(tmp, target)
    pattern = re.compile(r"checkpoint_(\d+)\.pt$")
    backups = sorted((int(m.group(1)), p) for p in backup_dir.iterdir() if (m := pattern.match(p.name)))
    for _, old in backups[:-keep]:
        old.unlink()
    return target


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Human-readable copy of the configs (never read back: the checkpoint is the truth)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
