"""faceswap-GAN v2.2's encoder, decoder and patch discriminator in PyTorch.

Layouts follow shaoanlu/faceswap-GAN ``networks/faceswap_gan_model.py``
(v2.2); ``lite`` capacity halves the widest encoder layers and the decoder's
full-resolution layers. Sizes below are for a ``R``-pixel model.
"""
from __future__ import annotations

import torch
from torch import nn

from faceswap_parts.models.layers import (ConvBlock, ConvBlockD, OutputHead, ResBlock,
                                          SelfAttention, UpscalePS, _he_conv)

#: the encoder hands the decoders an 8x8 map with this many channels
LATENT_CHANNELS = 512
LATENT_SIZE = 8


def _capacity_divisor(capacity: str) -> int:
    return 2 if capacity == "lite" else 1


def _maybe_attention(use: bool, channels: int) -> nn.Module:
    return SelfAttention(channels) if use else nn.Identity()


class Encoder(nn.Module):
    """(N,3,R,R) in [-1,1] → (N,512,8,8).

    5x5 conv, stride-2 conv blocks down to 4x4 (self-attention after the
    256- and 512-channel blocks), a dense bottleneck (1024, or 512 for lite),
    then one pixel-shuffle upscale to 8x8.
    """

    def __init__(self, resolution: int = 64, capacity: str = "standard", norm: str = "layernorm",
                 self_attention: bool = True):
        super().__init__()
        width = 1024 // _capacity_divisor(capacity)
        layers = [
            _he_conv(3, 64, 5),
            ConvBlock(64, 128),
            ConvBlock(128, 256, norm),
            _maybe_attention(self_attention, 256),
            ConvBlock(256, 512, norm),
            _maybe_attention(self_attention, 512),
            ConvBlock(512, width, norm),
        ]
        size = resolution // 16
        while size > 4:
            layers.append(ConvBlock(width, width, norm))
            size //= 2
        self.features = nn.Sequential(*layers)
        self.width = width
        self.bottleneck = nn.Linear(width * 4 * 4, width)
        self.expand = nn.Linear(width, width * 4 * 4)
        self.upscale = UpscalePS(width, LATENT_CHANNELS, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).flatten(1)
        x = self.expand(self.bottleneck(x)).view(-1, self.width, 4, 4)
        return self.upscale(x)


class Decoder(nn.Module):
    """(N,512,8,8) → list of (mask, color) pairs, lowest resolution first.

    Three pixel-shuffle upscales to 64x64 (self-attention at 32x32), a
    residual block and a self-attention block (a plain conv block without
    self-attention); each further doubling up to ``R`` adds an upscale and a
    conv block. The last pair is the (N,1,R,R) sigmoid mask and (N,3,R,R)
    tanh colour face; the earlier ones (64 px, and 128 px for a 256 px
    model) are auxiliary outputs for the reconstruction loss.
    """

    def __init__(self, resolution: int = 64, capacity: str = "standard", norm: str = "layernorm",
                 self_attention: bool = True):
        super().__init__()
        width = 64 // _capacity_divisor(capacity)
        self.trunk = nn.Sequential(
            UpscalePS(LATENT_CHANNELS, 256, norm),
            UpscalePS(256, 128, norm),
            _maybe_attention(self_attention, 128),
            UpscalePS(128, width, norm),
            ResBlock(width, norm),
            SelfAttention(width) if self_attention else ConvBlock(width, width, stride=1),
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
