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


#: First bytes of the files an output may replace: the videos and images this tool writes.
_MEDIA_SIGNATURES = ((4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"wide"), (4, b"free"),  # MP4 / MOV boxes
                     (0, b"\x1a\x45\xdf\xa3"),  # Matroska
                     (0, b"\x89PNG"), (0, b"\xff\xd8\xff"), (0, b"BM"), (0, b"II*\x00"), (0, b"MM\x00*"))


def is_media_file(path: str | os.PathLike) -> bool:
    """True when ``path`` starts like a video (MP4, MOV, Matroska) or an image (PNG, JPEG, BMP, TIFF,
    WebP), or is empty: the only files an output is allowed to replace."""
    with open(path, "rb") as f:
        head = f.read(16)
    if not head or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return True
    return any(head[at:at + len(sig)] == sig for at, sig in _MEDIA_SIGNATURES)


def check_output_path(output: str | os.PathLike, *inputs: str | os.PathLike | None, overwrite: bool = True,
                      suffixes: tuple[str, ...] | None = None) -> str:
    """``output`` as a string, after one-line errors for an output in a missing
    folder, a folder, one of ``inputs`` itself, or an existing file that is not
    a video or image (a checkpoint, say): these are never overwritten. An
    existing video or image is replaced only with ``overwrite`` (the CLI's
    ``--overwrite``, ffmpeg's ``-y``). ``suffixes``: the extensions the writer
    produces."""
    out = Path(output)
    if not out.parent.resolve().is_dir():
        raise FaceswapError(f"output folder does not exist: {out.parent.resolve()}")
    if out.is_dir():
        raise FaceswapError(f"output path is a folder: {out}; give a file name in it")
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise FaceswapError(f"{out}: the output must end in {', '.join(suffixes)} (the writer makes those)")
    if out.exists():
        for src in inputs:
            if src is not None and os.path.samefile(out, src):
                raise FaceswapError(f"refusing to overwrite the input {src}; choose another output path")
        if not is_media_file(out):
            raise FaceswapError(f"refusing to overwrite {out}: it is not a video or image (a checkpoint or other "
                                "work, perhaps); choose another output path")
        if not overwrite:
            raise FaceswapError(f"{out} already exists; add --overwrite (-y) to replace it")
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


def remove_dead_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of ``path`` whose writing process no longer
    runs (killed with kill -9 mid-write); a live process's stay. Returns
    what was removed."""
    removed = []
    name = Path(path).name
    for tmp in stale_temporaries(path):
        pid = tmp.name[len(name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or process_alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def process_alive(pid: int) -> bool:
    """True unless process ``pid`` is known to have ended (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or no such check here (Windows): leave its file alone
        return True
    return True


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


@contextlib.contextmanager
def errors_naming(path: str | os.PathLike) -> Iterator[None]:
    """A failed write of an open file (a full disk) raises an ``OSError`` with no file name; name ``path``
    in it, so the CLI's one-line error says which file did not fit."""
    try:
        yield
    except OSError as err:
        if err.filename is not None or err.errno is None:
            raise
        raise OSError(err.errno, err.strerror, os.fspath(path)) from None


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically. A failed write
    (a full disk) raises an ``OSError`` naming ``path``."""
    with errors_naming(path), atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Replace ``path``'s content with UTF-8 ``text`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))
