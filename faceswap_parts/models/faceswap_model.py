"""The whole faceswap-GAN v2.2 model: shared encoder, one decoder and one
discriminator per identity, and the face-transform API used by conversion."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from faceswap_parts.config import ModelConfig
from faceswap_parts.errors import FaceswapError
from faceswap_parts.models.networks import Decoder, Discriminator, Encoder
from faceswap_parts.options import DIRECTIONS, IDENTITIES



class GeneratorOutput(NamedTuple):
    """What :meth:`FaceswapModel.generate` returns, all (N,C,R,R) tensors.

    result: ``mask * color + (1 - mask) * input`` in [-1, 1]
    color: the decoder's raw face, tanh, in [-1, 1]
    mask: the attention mask, sigmoid, (N,1,R,R) in [0, 1]
    aux: lower-resolution ``(mask, color)`` pairs, lowest first (empty at 64 px)
    """

    result: torch.Tensor
    color: torch.Tensor
    mask: torch.Tensor
    aux: list


class FaceswapModel(nn.Module):
    """faceswap-GAN v2.2: ``encoder``, ``decoders["A"|"B"]``, ``discriminators["A"|"B"]``.

    Args:
        config: architecture (resolution, capacity, norm, self-attention, coverage).
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config = config or ModelConfig()
        arch = dict(resolution=config.resolution, norm=config.norm, self_attention=config.self_attention)
        self.encoder = Encoder(capacity=config.capacity, **arch)
        self.decoders = nn.ModuleDict({i: Decoder(capacity=config.capacity, **arch) for i in IDENTITIES})
        self.discriminators = nn.ModuleDict({i: Discriminator(**arch) for i in IDENTITIES})
        # Channels-last lets oneDNN (CPU) and cuDNN (GPU) run reduced-precision
        # convs without layout reorders (faster bf16 steps on CPU: docs/model.md).
        self.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------ training API
    def generate(self, x: torch.Tensor, identity: str) -> GeneratorOutput:
        """Encode ``x`` (N,3,R,R) in [-1,1] and decode it with ``identity``'s decoder."""
        _check_identity(identity)
        return self._decode(x, self.encoder(x.contiguous(memory_format=torch.channels_last)), identity)

    def generate_all(self, inputs: dict[str, torch.Tensor]) -> dict[str, GeneratorOutput]:
        """:meth:`generate` for several identities, ``{identity: input}``.

        The shared encoder sees all inputs as one batch: one pass over its
        weights and one weight gradient instead of one per identity, the same
        results as separate calls, except with ``batchnorm``, whose batch
        statistics would then mix identities (it encodes them one by one).
        """
        for identity in inputs:
            _check_identity(identity)
        if self.config.norm == "batchnorm" or len(inputs) < 2:
            return {identity: self.generate(x, identity) for identity, x in inputs.items()}
        xs = [x.contiguous(memory_format=torch.channels_last) for x in inputs.values()]
        codes = self.encoder(torch.cat(xs)).split([len(x) for x in xs])
        return {identity: self._decode(x, code, identity) for identity, x, code in zip(inputs, xs, codes)}

    def _decode(self, x: torch.Tensor, code: torch.Tensor, identity: str) -> GeneratorOutput:
        outputs = self.decoders[identity](code)
        mask, color = outputs[-1]
        result = mask * color + (1 - mask) * x
        return GeneratorOutput(result, color, mask, outputs[:-1])

    def discriminate(self, image: torch.Tensor, distorted: torch.Tensor, identity: str) -> torch.Tensor:
        """``identity``'s patch scores (N,1,8,8) for ``image`` seen beside the distorted input."""
        pair = torch.cat([image, distorted], dim=1).contiguous(memory_format=torch.channels_last)
        return self.discriminators[_check_identity(identity)](pair)

    def forward(self, x: torch.Tensor, identity: str = "A") -> GeneratorOutput:
        return self.generate(x, identity)

    def swap_decoders(self) -> None:
        """Exchange identities A and B: decoders and their discriminators trade
        places, so a model trained on (A, B) becomes one trained on (B, A)."""
        for pair in (self.decoders, self.discriminators):
            a, b = pair["A"], pair["B"]
            pair["A"], pair["B"] = b, a

    # ----------------------------------------------------------------- inference API
    @torch.no_grad()
    def transform(self, faces, direction: str = "AtoB", batch_size: int = 32):
        """Swap aligned face crops.

        Args:
            faces: numpy RGB uint8 (H,W,3) or (N,H,W,3), or a float tensor
                (N,3,H,W) / (3,H,W) in [-1,1]; crops made with
                ``align_face(frame, points5, size=config.resolution,
                coverage=config.coverage)``. Other sizes are resized to the
                model's resolution and the outputs resized back.
            direction: ``"AtoB"`` encodes A's face and paints B's (B's decoder),
                ``"BtoA"`` the reverse.
            batch_size: faces per forward pass.

        Returns:
            ``(result, raw, mask)``. For numpy input: uint8 arrays shaped like
            the input and a float32 mask (H,W) or (N,H,W) in [0,1]. For tensor
            input: tensors (N,3,H,W), (N,3,H,W), (N,1,H,W) (no batch axis if
            the input had none) on the input's device.
        """
        if direction not in DIRECTIONS:
            raise FaceswapError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        identity = DIRECTIONS[direction]
        if isinstance(faces, torch.Tensor):
            return self._transform_tensor(faces, identity, batch_size)
        return self._transform_numpy(faces, identity, batch_size)

    def _transform_numpy(self, faces, identity: str, batch_size: int):
        faces = np.asarray(faces)
        single = faces.ndim == 3
        if single:
            faces = faces[None]
        if faces.ndim != 4 or faces.shape[-1] != 3 or faces.dtype != np.uint8:
            raise FaceswapError(f"faces must be RGB uint8 arrays shaped (H,W,3) or (N,H,W,3), "
                                f"got {faces.dtype} {faces.shape}")
        x = torch.from_numpy(np.ascontiguousarray(faces)).permute(0, 3, 1, 2).float() / 127.5 - 1
        result, raw, mask = self._transform_tensor(x, identity, batch_size)

        def to_uint8(t):
            return (t.permute(0, 2, 3, 1).clamp(-1, 1).add(1).mul(127.5).round()
                    .to(torch.uint8).cpu().numpy())

        result, raw, mask = to_uint8(result), to_uint8(raw), mask[:, 0].float().cpu().numpy()
        return (result[0], raw[0], mask[0]) if single else (result, raw, mask)

    def _transform_tensor(self, x: torch.Tensor, identity: str, batch_size: int):
        single = x.ndim == 3
        if single:
            x = x[None]
        if x.ndim != 4 or x.shape[1] != 3 or not x.is_floating_point():
            raise FaceswapError(f"face tensors must be float (N,3,H,W) in [-1,1], got {x.dtype} {tuple(x.shape)}")
        size = self.config.resolution
        param = next(self.parameters())
        was_training = self.training
        self.eval()
        try:
            outs = []
            for start in range(0, len(x), batch_size):
                chunk = x[start:start + batch_size].to(param.device, param.dtype)
                chunk = _resize(chunk, size)
                out = self.generate(chunk, identity)
                outs.append(torch.cat([out.result, out.color, out.mask], dim=1))
        finally:
            self.train(was_training)
        y = _resize(torch.cat(outs), x.shape[-2:]).to(x.device, x.dtype) if outs else \
            x.new_zeros(0, 7, *x.shape[-2:])
        result, raw, mask = y[:, :3], y[:, 3:6], y[:, 6:].clamp(0, 1)
        return (result[0], raw[0], mask[0]) if single else (result, raw, mask)

    # ------------------------------------------------------------------ bookkeeping
    def parameter_counts(self) -> dict[str, int]:
        """Parameters of the encoder, one decoder, one discriminator, and in total."""
        def count(m):
            return sum(p.numel() for p in m.parameters())
        return {"encoder": count(self.encoder), "decoder": count(self.decoders["A"]),
                "discriminator": count(self.discriminators["A"]), "total": count(self)}


def _check_identity(identity: str) -> str:
    if identity not in IDENTITIES:
        raise FaceswapError(f"identity must be 'A' or 'B', got {identity!r}")
    return identity


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
