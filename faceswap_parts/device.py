"""Choosing the torch device and the arithmetic (``--precision``) it runs in."""
from __future__ import annotations

import warnings

import torch

from faceswap_parts.errors import FaceswapError, FaceswapWarning
from faceswap_parts.options import PRECISIONS


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


DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 in hardware (AVX512-BF16 or AMX) through oneDNN."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return torch.backends.mkldnn.is_available() and any(check() for check in checks if check is not None)


def cuda_has_native_bf16(device: torch.device | None = None) -> bool:
    """True when the GPU computes bf16 in hardware (compute capability 8.0 and
    up). ``torch.cuda.is_bf16_supported()`` is also true on older GPUs that
    only emulate it (Colab's T4, 7.5), where it is far slower than fp16."""
    return torch.cuda.get_device_capability(device) >= (8, 0)


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto``: bf16 on GPUs and CPUs that compute it in hardware, fp16 (with
    a GradScaler) on older GPUs, else fp32. Explicit names are checked against
    the device; bf16 on a GPU that only emulates it is allowed with a warning."""
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if cuda_has_native_bf16(device) else "fp16"
        if device.type == "cpu":
            return "bf16" if cpu_has_native_bf16() else "fp32"
        return "fp32"
    if name not in DTYPES:
        raise FaceswapError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    if name == "fp16" and device.type == "cpu":
        raise FaceswapError("--precision fp16 is not for CPUs: they have no fast fp16 arithmetic, so it runs "
                            "many times slower than fp32; use auto, bf16 or fp32")
    if name == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        warnings.warn("this CPU has no bf16 instructions (AVX512-BF16 or AMX), so bf16 is emulated and runs many "
                      "times slower than fp32; --precision auto would use fp32", FaceswapWarning, stacklevel=2)
    if name == "bf16" and device.type == "cuda" and not cuda_has_native_bf16(device):
        if not torch.cuda.is_bf16_supported():
            raise FaceswapError("this GPU has no bf16 support; use --precision fp16 or auto")
        major, minor = torch.cuda.get_device_capability(device)
        warnings.warn(f"this GPU (compute capability {major}.{minor}) only emulates bf16, which runs far slower "
                      f"than fp16 on its tensor cores; --precision auto would use fp16", FaceswapWarning, stacklevel=2)
    return name


def inference_dtype(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for running a model (``None``: fp32) under
    ``--precision name``: ``auto`` is bf16 where the CPU or GPU computes it in
    hardware, fp16 on other CUDA GPUs, fp32 elsewhere."""
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if cuda_has_native_bf16(device) else torch.float16
        return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else None
    return DTYPES[resolve_precision(name, device)]
