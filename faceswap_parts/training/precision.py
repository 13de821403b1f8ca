"""Choosing the autocast dtype for ``--precision``."""
from __future__ import annotations

import warnings

import torch

from faceswap_parts.errors import FaceswapError, FaceswapWarning

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
        raise FaceswapError(f"precision must be one of auto, fp32, bf16, fp16, got {name!r}")
    if name == "fp16" and device.type == "cpu":
        raise FaceswapError("--precision fp16 is not for CPUs: they have no fast fp16 arithmetic, so it runs "
                            "many times slower than fp32; use auto, bf16 or fp32")
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
