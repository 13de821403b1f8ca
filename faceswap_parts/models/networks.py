"""faceswap-GAN v2.2's encoder, decoder and patch discriminator in PyTorch.

Layouts follow shaoanlu/faceswap-GAN ``networks/faceswap_gan_model.py``
(v2.2); ``lite`` capacity halves the widest encoder layers and the decoder's
full-resolution layers; ``quick`` (for CPUs and small GPUs, after
DeepFaceLab's Quick96) halves every encoder and decoder width of ``lite``
and replaces the decoder's full-resolution self-attention with a conv block
(docs/model.md says why). Sizes below are for a ``R``-pixel model.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from faceswap_parts.models.layers import (ConvBlock, ConvBlockD, OutputHead, ResBlock,
                                          SelfAttention, UpscalePS, _he_conv)

#: the encoder hands the decoders an 8x8 map
LATENT_SIZE = 8


class Widths(NamedTuple):
    """Channel widths of one capacity."""

    encoder: tuple  #: the 5x5 stem and the three stride-2 blocks after it
    top: int  #: the encoder's last blocks and its dense bottleneck
    latent: int  #: channels of the 8x8 map the decoders get
    decoder: tuple  #: the decoder's two upscales before the full-resolution width
    full: int  #: the decoder's width from 64x64 up
    full_attention: bool  #: self-attention (True) or a conv block at the decoder's 64x64


CAPACITY_WIDTHS = {
    "standard": Widths((64, 128, 256, 512), 1024, 512, (256, 128), 64, True),
    "lite": Widths((64, 128, 256, 512), 512, 512, (256, 128), 32, True),
    "quick": Widths((32, 64, 128, 256), 256, 256, (128, 64), 32, False),
}


def widths(capacity: str) -> Widths:
    """The :class:`Widths` of ``capacity``."""
    return CAPACITY_WIDTHS[capacity]


def _maybe_attention(use: bool, channels: int) -> nn.Module:
    return SelfAttention(channels) if use else nn.Identity()


class Encoder(nn.Module):
    """(N,3,R,R) in [-1,1] → (N,latent,8,8) (512 channels; 256 for quick).

    5x5 conv, stride-2 conv blocks down to 4x4 (self-attention after the
    256- and 512-channel blocks, 128 and 256 for quick), a dense bottleneck
    (1024, 512 for lite, 256 for quick), then one pixel-shuffle upscale to 8x8.
    """

    def __init__(self, resolution: int = 64, capacity: str = "standard", norm: str = "layernorm",
                 self_attention: bool = True):
        super().__init__()
        w = widths(capacity)
        c0, c1, c2, c3 = w.encoder
        width = w.top
        layers = [
            _he_conv(3, c0, 5),
            ConvBlock(c0, c1),
            ConvBlock(c1, c2, norm),
            _maybe_attention(self_attention, c2),
            ConvBlock(c2, c3, norm),
            _maybe_attention(self_attention, c3),
            ConvBlock(c3, width, norm),
        ]
        size = resolution // 16
        while size > 4:
            layers.append(ConvBlock(width, width, norm))
            size //= 2
        self.features = nn.Sequential(*layers)
        self.width = width
        self.bottleneck = nn.Linear(width * 4 * 4, width)
        self.expand = nn.Linear(width, width * 4 * 4)
        self.upscale = UpscalePS(width, w.latent, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).flatten(1)
        x = self.expand(self.bottleneck(x)).view(-1, self.width, 4, 4)
        return self.upscale(x)


class Decoder(nn.Module):
    """(N,latent,8,8) → list of (mask, color) pairs, lowest resolution first.

    Three pixel-shuffle upscales to 64x64 (self-attention at 32x32), a
    residual block and a self-attention block (a plain conv block without
    self-attention, and always for quick); each further doubling up to ``R`` adds an upscale and a
    conv block. The last pair is the (N,1,R,R) sigmoid mask and (N,3,R,R)
    tanh colour face; the earlier ones (64 px, and 128 px for a 256 px
    model) are auxiliary outputs for the reconstruction loss.
    """

    def __init__(self, resolution: int = 64, capacity: str = "standard", norm: str = "layernorm",
                 self_attention: bool = True):
        super().__init__()
        w = widths(capacity)
        c1, c2 = w.decoder
        width = w.full
        self.trunk = nn.Sequential(
            UpscalePS(w.latent, c1, norm),
            UpscalePS(c1, c2, norm),
            _maybe_attention(self_attention, c2),
            UpscalePS(c2, width, norm),
            ResBlock(width, norm),
            SelfAttention(width) if self_attention and w.full_attention else ConvBlock(width, width, stride=1),
        )
        self.stages = nn.ModuleList()
        self.heads = nn.ModuleList()
        size = LATENT_SIZE * 8
        while size < resolution:
            self.heads.append(OutputHead(width))
            self.stages.append(nn.Sequential(UpscalePS(width, width, norm), ConvBlock(width, width, stride=1)))
            size *= 2
        self.heads.append(OutputHead(width))

    def forward(self, z: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        x = self.trunk(z)
        outputs = []
        for head, stage in zip(self.heads, self.stages):
            outputs.append(head(x))
            x = stage(x)
        outputs.append(self.heads[-1](x))
        return outputs


class Discriminator(nn.Module):
    """Patch discriminator: (N,6,R,R) image ⧺ distorted input → (N,1,8,8) scores.

    4x4 stride-2 conv blocks (64, 128, 256 channels, then 256 until the map
    is 8x8), self-attention after every 256-channel block, a final 4x4 conv.
    """

    def __init__(self, resolution: int = 64, norm: str = "layernorm", self_attention: bool = True,
                 in_channels: int = 6):
        super().__init__()
        layers = [ConvBlockD(in_channels, 64), ConvBlockD(64, 128, norm), ConvBlockD(128, 256, norm),
                  _maybe_attention(self_attention, 256)]
        size = resolution // 8
        while size > 8:
            layers += [ConvBlockD(256, 256, norm), _maybe_attention(self_attention, 256)]
            size //= 2
        # Keras "same" padding of an even kernel at stride 1: one before, two after
        layers += [nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(256, 1, 4, bias=False)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
