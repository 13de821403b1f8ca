"""One trainer per workdir: an OS lock on ``WORKDIR/train.lock``.

Two trainers on one workdir (two Colab tabs, a notebook beside the CLI) would
interleave their loss histories and delete each other's temporary files. The
lock is ``flock``'s, so it belongs to the open file and the kernel drops it
when the process ends, kill -9 included: a crash never leaves a stale lock.
The file also says who holds it, for the refusal's message.

Within one process a newer :class:`~faceswap_parts.training.Trainer` of the
same workdir (a notebook cell run again) takes the lock over; the older one
is then refused if it tries to train or save again. Where ``fcntl`` does not
exist (Windows), there is no lock.
"""
from __future__ import annotations

import json
import os
import socket
import time
import weakref
from pathlib import Path

from faceswap_parts.errors import FaceswapError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LOCK_NAME = "train.lock"

#: This process's locks by resolved workdir (the newest holder), so a newer trainer can take one over,
#: and the locked files: an older holder that was taken over still keeps its file, and so the OS lock, open.
_held: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_files: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class WorkdirLock:
    """The lock a trainer holds on its workdir while it may write there."""

    def __init__(self, workdir: Path, file):
        self.workdir = workdir
        self._file = file
        #: True once a newer trainer of this process holds the workdir.
        self.taken_over = False

    @classmethod
    def acquire(cls, workdir: str | os.PathLike) -> "WorkdirLock":
        """Lock ``workdir`` (which must exist) or raise a one-line :class:`FaceswapError` naming the holder."""
        key = Path(workdir).resolve()
        open_file = _files.get(key)
        if open_file is not None and not open_file.closed:
            earlier = _held.get(key)
            if earlier is not None:
                earlier.taken_over = True
            lock = cls(key, open_file)
        else:
            file = open(key / LOCK_NAME, "a+", encoding="utf-8")
            if fcntl is not None:
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    file.seek(0)
                    holder = _describe(file.read())
                    file.close()
                    raise FaceswapError(f"{workdir} is in use by another training ({holder}); stop that one "
                                        "first, or give another --workdir") from None
            file.seek(0)
            file.truncate()
            json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                       "since": time.strftime("%Y-%m-%d %H:%M:%S")}, file)
            file.flush()
            _files[key] = file
            lock = cls(key, file)
        _held[key] = lock
        return lock

    def check(self) -> None:
        """Raise if a newer trainer of this process has taken the workdir over."""
        if self.taken_over:
            raise FaceswapError(f"a newer Trainer in this process holds {self.workdir}; train with that one "
                                "(this one's weights are older)")

    def release(self) -> None:
        """Let other trainers have the workdir (also done when the process ends)."""
        if not self.taken_over and not self._file.closed:
            self._file.close()
            if _held.get(self.workdir) is self:
                del _held[self.workdir]


def _describe(text: str) -> str:
    try:
        info = json.loads(text)
        return f"process {info['pid']} on {info['host']}, since {info['since']}"
    except (ValueError, KeyError, TypeError):
        return "another process"
