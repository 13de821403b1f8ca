"""Writing the one-file checkpoint ``WORKDIR/checkpoint.pt``: atomic saves
and numbered backups. Reading it (and loading its model) is
:mod:`faceswap_parts.models.checkpoint`, which inference uses without this
training code.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import torch

from faceswap_parts.errors import FaceswapError, os_error_reason
from faceswap_parts.io.files import atomic_path, stale_temporaries, write_text_atomic
from faceswap_parts.models.checkpoint import BACKUP_DIR



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


class SaveInterrupted(KeyboardInterrupt):
    """A second Ctrl-C or SIGTERM aborted a checkpoint save; the previous checkpoint is kept."""


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a checkpoint is written: the first
    one lets the save finish and is raised as ``KeyboardInterrupt`` after it;
    a second one aborts the save with :class:`SaveInterrupted` (the atomic
    write leaves the previous file). Python runs signal handlers only in the
    main thread, so elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum, frame):
        received.append(signum)
        if len(received) > 1:
            raise SaveInterrupted
        print("saving the checkpoint before stopping; interrupt again to abort the save", file=sys.stderr)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except BaseException:
        if len(received) > 1:  # torch.save turns the handler's exception into a RuntimeError
            raise SaveInterrupted from None
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
    if received:
        raise KeyboardInterrupt


def write_backup(path: str | os.PathLike, iteration: int, keep: int) -> Path | None:
    """Copy the checkpoint to ``backups/checkpoint_<iteration>.pt`` and keep only
    the newest ``keep`` backups (``keep=0``: no backups).

    Each backup is an independent copy, so it counts against the disk (a
    Google Drive quota): the copy and the next save's temporary file need a
    checkpoint's size each. When the free space would not hold both, older
    backups are dropped first (fewer than ``keep`` are kept) with a warning
    that says so; with too few to drop, no backup is added (``None``)."""
    import warnings

    from faceswap_parts.errors import FaceswapWarning

    path = Path(path)
    if keep <= 0:
        return None
    backup_dir = path.parent / BACKUP_DIR
    backup_dir.mkdir(exist_ok=True)
    target = backup_dir / f"checkpoint_{iteration:06d}.pt"
    pattern = re.compile(r"checkpoint_(\d+)\.pt$")
    backups = sorted((int(m.group(1)), p) for p in backup_dir.iterdir() if (m := pattern.match(p.name)))
    old = [p for _, p in backups if p != target]
    size, free = path.stat().st_size, _free_bytes(backup_dir)
    # The copy takes a checkpoint's size, and the next save needs as much again for its temporary file.
    # Old backups count as room: dropping one frees its bytes.
    room = free // max(size, 1) - 1 + len(old)
    wanted = min(keep, len(old) + 1)
    kept = max(min(wanted, room), 0)
    if kept < wanted:
        warnings.warn(f"the disk of {path.parent} is nearly full ({free / 1e6:.0f} MB free, a checkpoint is "
                      f"{size / 1e6:.0f} MB): " + (f"keeping {kept} backup(s) instead of {wanted}" if kept else
                                                     f"no backup at iteration {iteration}")
                      + " (free some space, or lower --keep-backups)", FaceswapWarning, stacklevel=2)
    if kept < 1:  # not even one fits: the backups there stay, none is added
        return None
    for stale in old[:len(old) - (kept - 1)]:
        stale.unlink()
    # A copy, not a hard link: a link would share the bytes, and damage done to checkpoint.pt in place
    # (a sync client, a bad sector) would reach the backup that is there to repair it.
    import shutil

    with atomic_path(target, fsync=True) as tmp:
        shutil.copyfile(path, tmp)
    return target


def _free_bytes(folder: Path) -> int:
    import shutil

    return shutil.disk_usage(folder).free


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Human-readable copy of the configs (never read back: the checkpoint is the truth)."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
