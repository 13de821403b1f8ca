"""Writing the one-file checkpoint ``WORKDIR/checkpoint.pt``: atomic saves
and numbered backups. Reading it (and loading its model) is
:mod:`faceswap_parts.models.checkpoint`, which inference uses without this
training code.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

from faceswap_parts.errors import FaceswapError, os_error_reason
from faceswap_parts.io.files import atomic_path, stale_temporaries, write_text_atomic
from faceswap_parts.models.checkpoint import BACKUP_DIR

FORMAT_VERSION = 1


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete what a save of ``path`` killed mid-write left behind (hidden
    ``.NAME.*.tmp*`` files beside it); returns what was removed. Call it only
    when no other process is saving to the same workdir."""
    removed = []
    for tmp in stale_temporaries(path):
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
        with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as f:
            torch.save(obj, f)
    except (OSError, RuntimeError) as err:
        kept = "the previous checkpoint is kept" if path.exists() else "nothing was saved"
        raise FaceswapError(f"cannot write {path}: {os_error_reason(err)}; {kept}") from None


def write_backup(path: str | os.PathLike, iteration: int, keep: int) -> Path | None:
    """Copy the checkpoint to ``backups/checkpoint_<iteration>.pt`` and keep only
    the newest ``keep`` backups (``keep=0``: no backups)."""
    path = Path(path)
    if keep <= 0:
        return None
    backup_dir = path.parent / BACKUP_DIR
    backup_dir.mkdir(exist_ok=True)
    target = backup_dir / f"checkpoint_{iteration:06d}.pt"
    # A hard link shares the just-written, fsynced file; copy where links are unsupported.
    with atomic_path(target) as tmp:
        try:
            os.link(path, tmp)
        except OSError:
            import shutil

            shutil.copyfile(path, tmp)
    pattern = re.compile(r"checkpoint_(\d+)\.pt$")
    backups = sorted((int(m.group(1)), p) for p in backup_dir.iterdir() if (m := pattern.match(p.name)))
    for _, old in backups[:-keep]:
        old.unlink()
    return target


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Human-readable copy of the configs (never read back: the checkpoint is the truth)."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
