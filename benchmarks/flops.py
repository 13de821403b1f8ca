"""Counting a training step's FLOPs, for the benchmarks (utilisation against a GEMM peak).

``FlopCounterMode(custom_mapping=SDPA_CPU_FLOPS)`` also counts the CPU flash
attention kernels, which torch's own table leaves out: without them the
self-attention, the largest part of a step on the CPU, would count as zero.
"""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count


def _sdpa_cpu_flops(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)  # torch hands these over as shapes


def _sdpa_cpu_backward_flops(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


#: torch's FLOP table plus the CPU flash-attention kernels (forward and backward)
SDPA_CPU_FLOPS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flops,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: _sdpa_cpu_backward_flops,
}

_CACHE: dict = {}


def gflops_per_sample(model, part: str = "generator", backward: bool = True) -> float:
    """GFLOPs for one sample through ``part`` (counted once per model with
    ``torch.utils.flop_counter.FlopCounterMode``, then cached).

    part: ``"generator"`` (encoder + one decoder) or ``"discriminator"``
    (one discriminator call). ``backward=True`` adds the backward pass
    (gradients for the inputs and every parameter). A multiply-add counts
    as two FLOPs; only conv / matmul / attention work is counted, which
    is nearly all (self-attention's q, k are zero-padded to the value
    width for the fused kernel, and those FLOPs count too).
    """
    if part not in ("generator", "discriminator"):
        raise ValueError(f"part must be 'generator' or 'discriminator', got {part!r}")
    key = (id(model), part, backward)
    if key not in _CACHE:
        param = next(model.parameters())
        r = model.config.resolution
        was_training = model.training
        saved_grads = [(p, p.grad) for p in model.parameters()]
        model.eval()  # keep batchnorm running statistics untouched
        try:
            x = torch.zeros(1, 3 if part == "generator" else 6, r, r, device=param.device,
                            requires_grad=backward)
            with FlopCounterMode(display=False, custom_mapping=SDPA_CPU_FLOPS) as counter:
                if part == "generator":
                    out = model.generate(x, "A")
                    y = out.result.sum() + sum(m.sum() + c.sum() for m, c in out.aux)
                else:
                    y = model.discriminators["A"](x).sum()
                if backward:
                    y.backward()
        finally:
            model.train(was_training)
            for p, grad in saved_grads:  # leave the caller's gradients as they were
                p.grad = grad
        _CACHE[key] = counter.get_total_flops() / 1e9
    return _CACHE[key]
