"""Training on several GPUs (or CPU processes) with torch's
DistributedDataParallel.

Each process holds the whole model and trains on its share of every global
batch (:class:`~faceswap_parts.training.data.BatchSource` ``shard``: the same faces and
draws one process would use), DDP averages the gradients, and process 0
alone writes checkpoints, previews and the loss history. Nothing in the
checkpoint depends on the process count, so a run resumes with any.

Two DDP wrappers, because a v2.2 iteration has two backward passes: the
generators (encoder and decoders, one forward per iteration) and the
discriminators (all of a step's discriminator inputs in one forward). The
generators' adversarial term calls the discriminators outside their wrapper,
with their weights frozen, as on one process.

This module holds what a trainer uses (the wrappers, the loss average, the
batch split); starting the processes is :mod:`faceswap_parts.training.launcher`.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from faceswap_parts.errors import FaceswapError


class _Generators(nn.Module):
    """The encoder and both decoders; forward = ``generate_all``."""

    def __init__(self, model):
        super().__init__()
        self.encoder, self.decoders = model.encoder, model.decoders
        self._model = [model]  # not a submodule: the discriminators stay out of this wrapper

    def forward(self, inputs):
        return self._model[0].generate_all(inputs)


class _Discriminators(nn.Module):
    """Both discriminators; forward scores a list of ``(image, distorted, identity)``."""

    def __init__(self, model):
        super().__init__()
        self.discriminators = model.discriminators
        self._model = [model]

    def forward(self, requests):
        return [self._model[0].discriminate(*request) for request in requests]


def wrap(model, device: torch.device) -> tuple[DistributedDataParallel, DistributedDataParallel]:
    """(generators, discriminators) DDP wrappers of ``model``; their
    construction makes every process start from process 0's weights."""
    ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    options = dict(device_ids=ids)
    _default_strides_for_size_one_kernels(model)
    return (DistributedDataParallel(_Generators(model), **options),
            DistributedDataParallel(_Discriminators(model), **options))


def _default_strides_for_size_one_kernels(model) -> None:
    """Give 1x1 convolution weights their default strides. Channels-last
    leaves them strides that differ only in the size-1 dimensions (the memory
    order is the same), autograd returns their gradients with the default
    ones, and DDP, whose bucket views copy each parameter's strides, then
    warns that they do not match and copies every such gradient."""
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 4 and param.shape[-2:] == (1, 1):
                param.data = param.data.clone(memory_format=torch.contiguous_format)


def average(values: torch.Tensor, processes: int) -> torch.Tensor:
    """``values`` averaged over all processes (in place)."""
    dist.all_reduce(values)
    return values.div_(processes)


def check_split(batch_size: int, processes: int) -> None:
    """A global batch must split evenly over the processes (one per device)."""
    if batch_size % processes:
        raise FaceswapError(f"--batch-size {batch_size} does not split over {processes} devices; "
                            f"give a multiple of {processes}")
