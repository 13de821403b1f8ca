"""Drive <-> local disk: datasets copied once to fast local disk, and the
training checkpoint synced back to Drive after each save (atomically, so a
disconnect mid-copy never damages the copy on Drive)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.files import atomic_path


def _up_to_date(src: Path, dst: Path) -> bool:
    if not dst.exists():
        return False
    a, b = src.stat(), dst.stat()
    return a.st_size == b.st_size and int(a.st_mtime) <= int(b.st_mtime)


def copy_to_local(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy a file or folder (e.g. a face set on Drive) to local disk, skipping
    files that are already there and up to date. Returns ``dst``.

    Reading thousands of small images from Drive during training is slow;
    copying once is not.
    """
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise FaceswapError(f"not found: {src}; check the path (is Google Drive mounted?)")
    if src.resolve() == dst.resolve():
        return dst
    files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file()]
    for file in files:
        target = dst if src.is_file() else dst / file.relative_to(src)
        if _up_to_date(file, target):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
    return dst


def _copy_atomic(src: Path, dst: Path) -> None:
    """Copy so that ``dst`` is never half-written (a disconnect mid-copy
    leaves the previous file intact)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as partial:
        shutil.copy2(src, partial)


class CheckpointSync:
    """Keep a training workdir on fast local disk and its checkpoint on Drive.

    ``restore()`` copies the checkpoint from Drive to the local workdir before
    training (so running all cells again resumes); ``push()`` copies it back
    after each save. Copies are atomic, so an interrupted sync never damages
    the checkpoint on Drive. When both folders are the same (outside Colab)
    both are no-ops.
    """

    #: Copied to Drive after each save; the checkpoint last, so the files
    #: beside it are never newer than it (the trainer trims the loss history
    #: to the checkpoint's iteration on resume).
    FILES = ("loss_history.csv", "loss_curve.png", "preview_latest.png", "checkpoint.pt")
    #: Brought back to local disk to resume.
    RESUME_FILES = ("loss_history.csv", "checkpoint.pt")
    CHECKPOINT = "checkpoint.pt"

    def __init__(self, local_workdir: str | os.PathLike, drive_workdir: str | os.PathLike):
        self.local = Path(local_workdir)
        self.drive = Path(drive_workdir)
        self.local.mkdir(parents=True, exist_ok=True)
        self.drive.mkdir(parents=True, exist_ok=True)

    @property
    def same_place(self) -> bool:
        return self.local.resolve() == self.drive.resolve()

    def restore(self) -> bool:
        """Bring Drive's checkpoint (and loss history) to local disk when it is
        newer; True if there is a checkpoint to resume."""
        src, dst = self.drive / self.CHECKPOINT, self.local / self.CHECKPOINT
        if not self.same_place and src.is_file() and (not dst.is_file() or src.stat().st_mtime > dst.stat().st_mtime):
            for name in self.RESUME_FILES:
                if (self.drive / name).is_file():
                    _copy_atomic(self.drive / name, self.local / name)
        return dst.is_file()

    def push(self) -> bool:
        """Copy the checkpoint and the files beside it to Drive; False when there is no checkpoint yet."""
        if not (self.local / self.CHECKPOINT).is_file():
            return False
        if not self.same_place:
            for name in self.FILES:
                if (self.local / name).is_file():
                    _copy_atomic(self.local / name, self.drive / name)
        return True
