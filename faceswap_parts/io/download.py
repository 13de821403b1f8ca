"""Model weights fetched on first use: a cache honouring ``TORCH_HOME`` and
SHA-256 verification.

Weights that cannot be fetched (no network, wrong checksum) raise
:class:`FaceswapError` with a message that names the fix; a partial or
corrupt download never lands in the cache.
"""
from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path
from typing import Iterable

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.files import atomic_path


def torch_home() -> Path:
    """``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch`` (torch.hub's rule)."""
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "torch"


def cache_dir() -> Path:
    """Folder where this package keeps downloaded weights."""
    return torch_home() / "faceswap_parts"


def sha256sum(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(urls: str | Iterable[str], filename: str, sha256: str | None, fix: str,
          progress: bool = True, timeout: float = 30.0) -> Path:
    """Return the cached path of ``filename``, downloading it on first use.

    Args:
        urls: one URL or mirrors tried in order (``file://`` works too).
        filename: name inside :func:`cache_dir`.
        sha256: expected hex digest; a cached file that does not match is
            downloaded again, a download that does not match is discarded.
            ``None`` skips verification (only for user-supplied files).
        fix: what the user can do when every URL fails, appended to the error.
        progress: show a ``tqdm`` bar while downloading.
        timeout: socket timeout per URL, seconds.
    """
    if isinstance(urls, str):
        urls = [urls]
    target = cache_dir() / filename
    if target.is_file() and (sha256 is None or sha256sum(target) == sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    problems = []
    for url in urls:
        try:
            with atomic_path(target) as tmp:
                _download(url, tmp, progress, timeout)
                got = sha256sum(tmp)
                if sha256 is not None and got != sha256:
                    raise ValueError(f"checksum mismatch (got {got[:12]}…, expected {sha256[:12]}…)")
            return target
        except (OSError, ValueError) as err:  # URLError, HTTPError, timeouts are OSErrors
            problems.append(f"{url}: {getattr(err, 'reason', err)}")
    raise FaceswapError(f"could not download {filename} ({'; '.join(problems)}). {fix}")


def _download(url: str, dest: str, progress: bool, timeout: float) -> None:
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=os.path.basename(dest).split(".")[1],
                  disable=not progress, leave=False) as bar:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                bar.update(len(chunk))
    if os.path.getsize(dest) == 0:
        raise ValueError("empty download")
