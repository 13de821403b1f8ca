"""Choosing the autocast dtype for ``--precision``."""
from __future__ import annotations

import torch

from faceswap_parts.errors import FaceswapError

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 in hardware (AVX512-BF16 or AMX) through oneDNN."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return torch.backends.mkldnn.is_available() and any(check() for check in checks if check is not None)


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto``: bf16 on GPUs and CPUs that support it, fp16 (with a GradScaler)
    on older GPUs, else fp32. Explicit names are checked against the device."""
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu":
            return "bf16" if cpu_has_native_bf16() else "fp32"
        return "fp32"
    if name not in DTYPES:
        raise FaceswapError(f"precision must be one of auto, fp32, bf16, fp16, got {name!r}")
    if name == "fp16" and device.type == "cpu":
        raise FaceswapError("--precision fp16 is not for CPUs: they have no fast fp16 arithmetic, so it runs "
                            "many times slower than fp32; use auto, bf16 or fp32")
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise FaceswapError("this GPU has no bf16 support; use --precision fp16 or auto")
    return name
