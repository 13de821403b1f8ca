"""Choosing the torch device."""
from __future__ import annotations

import torch

from faceswap_parts.errors import FaceswapError


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (CUDA, then Apple MPS, then CPU) or an explicit device name.

    Asking for CUDA where there is none is a :class:`FaceswapError`, so a
    Colab runtime without a GPU says so instead of failing deep inside torch.
    """
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise FaceswapError("device 'cuda' requested but no CUDA GPU is available "
                            "(in Colab: Runtime > Change runtime type > GPU; or use --device cpu)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise FaceswapError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
