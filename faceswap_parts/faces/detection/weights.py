"""Where the MTCNN weights come from.

First choice: the three files inside an installed ``facenet-pytorch`` wheel,
located with :func:`importlib.util.find_spec` so that package (which imports
torchvision) is never imported. Otherwise they are downloaded once into the
weights cache with SHA-256 verification (:func:`faceswap_parts.io.download.fetch`).
"""
from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import torch

from faceswap_parts.io.download import fetch
from faceswap_parts.errors import FaceswapError

NETS = ("pnet", "rnet", "onet")

#: SHA-256 of facenet-pytorch's ``data/<net>.pt`` (identical in 2.5.x and 2.6.0).
SHA256 = {
    "pnet": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}

#: Mirrors tried in order; ``<net>.pt`` is appended.
BASE_URLS = ["https://github.com/timesler/facenet-pytorch/raw/master/data/"]

INSTALL_HINT = "install them with: pip install --no-deps facenet-pytorch==2.6.0"


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


def weight_path(net: str) -> Path:
    """Local path of the weights of ``net`` ("pnet", "rnet" or "onet"),
    downloading them on first use when facenet-pytorch is not installed.

    Raises :class:`FaceswapError` (one line, naming the install command) when
    neither works.
    """
    if net not in NETS:
        raise ValueError(f"unknown MTCNN network {net!r}; expected one of {NETS}")
    path = installed_weight_path(net)
    if path is not None:
        return path
    urls = [base + f"{net}.pt" for base in BASE_URLS]
    try:
        return fetch(urls, f"mtcnn_{net}.pt", SHA256[net], fix=INSTALL_HINT)
    except FaceswapError as err:
        raise FaceswapError(f"MTCNN weights not found: {err}") from None


def load_state_dict(net: str) -> dict[str, torch.Tensor]:
    """State dict of ``net`` (loaded with ``weights_only=True``)."""
    path = weight_path(net)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a truncated/foreign file must not surface as a pickle traceback
        raise FaceswapError(f"cannot read MTCNN weights {path} ({type(err).__name__}); {INSTALL_HINT}") from None
