"""Writing files so that a crash, a full disk or a Colab disconnect never
leaves a half-written one: everything is written to a hidden temporary file
beside the target and renamed over it (``os.replace`` is atomic)."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from faceswap_parts.errors import FaceswapError

#: Temporary files are ``.<name>.<pid>.tmp<suffix>``: hidden, per process, and
#: ending in the target's suffix for writers that choose the format by it.
TEMP_MARK = ".tmp"


def check_output_path(output: str | os.PathLike, *inputs: str | os.PathLike | None) -> str:
    """``output`` as a string, after one-line errors for an output in a missing
    folder, a folder, or one of ``inputs`` itself (which is never overwritten)."""
    out = Path(output)
    if not out.parent.resolve().is_dir():
        raise FaceswapError(f"output folder does not exist: {out.parent.resolve()}")
    if out.is_dir():
        raise FaceswapError(f"output path is a folder: {out}; give a file name in it")
    for src in inputs:
        if src is not None and out.exists() and os.path.samefile(out, src):
            raise FaceswapError(f"refusing to overwrite the input {src}; choose another output path")
    return os.fspath(output)


def temp_path(path: str | os.PathLike, suffix: str | None = None) -> Path:
    """The hidden temporary file a write of ``path`` goes through; it ends in
    ``suffix`` (default: ``path``'s own)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_MARK}{path.suffix if suffix is None else suffix}")


def stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Temporary files of ``path`` left by writes that were killed (any process)."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*{TEMP_MARK}*"))


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (no-op where folders cannot be opened)."""
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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = False, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to; on success
    it replaces ``path``, on any error it is removed and ``path`` is untouched.

    ``fsync``: flush the file and the rename to disk (for files whose loss
    after a power cut would cost work, such as the checkpoint). ``suffix``:
    the temporary file's, for writers that need one ``path`` lacks.
    """
    path = Path(path)
    tmp = temp_path(path, suffix)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        fsync_dir(path.parent)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Replace ``path``'s content with UTF-8 ``text`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))
