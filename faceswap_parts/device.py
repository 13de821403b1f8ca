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


class HalfPrecision(torch.nn.Module):
    """Runs ``net`` under fp16 autocast and returns its outputs in fp32.

    For the small inference networks (MTCNN, dlib's face network) on CUDA
    GPUs: every CUDA GPU has fast fp16, and only the network runs in it, so
    the surrounding arithmetic (summed-area tables, box maths) stays fp32.
    """

    def __init__(self, net: torch.nn.Module, device_type: str = "cuda"):
        super().__init__()
        self.net, self.device_type = net, device_type

    def forward(self, *args, **kwargs):
        with torch.autocast(self.device_type, dtype=torch.float16):
            out = self.net(*args, **kwargs)
        if isinstance(out, (tuple, list)):
            return type(out)(t.float() for t in out)
        return out.float()


def half_on_cuda(net: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``net`` wrapped in :class:`HalfPrecision` on a CUDA device, as is elsewhere."""
    return HalfPrecision(net) if device.type == "cuda" else net
