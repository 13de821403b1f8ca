"""Building blocks of the faceswap-GAN v2.2 networks (NCHW, PyTorch).

Normalisation names say what is computed (see :data:`faceswap_parts.config.NORMS`):

========================  ============================================================
``none``                  identity
``batchnorm``             per channel over (N, H, W), running statistics in eval mode
``instancenorm``          per sample and channel over (H, W)  (Keras v2.2's "layernorm")
``layernorm``             per sample over (C, H, W)            (Keras v2.2's "instancenorm")
``groupnorm``             per sample over groups of channels (16 groups, fewer if C < 16)
``hybrid``                half the channels through a 1x1 conv, the other half layernorm
========================  ============================================================

All of them carry a learned per-channel scale and shift. They are built on
``nn.GroupNorm`` / ``nn.BatchNorm2d`` so that CPU bf16 autocast keeps them in
bf16 instead of bouncing through fp32.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from faceswap_parts.config import NORMS


def make_norm(kind: str, channels: int) -> nn.Module:
    """The normalisation layer called ``kind`` for ``channels`` feature maps."""
    if kind == "none":
        return nn.Identity()
    if kind == "batchnorm":
        return nn.BatchNorm2d(channels)
    if kind == "instancenorm":
        return nn.GroupNorm(channels, channels)
    if kind == "layernorm":
        return nn.GroupNorm(1, channels)
    if kind == "groupnorm":
        return nn.GroupNorm(math.gcd(16, channels), channels)
    if kind == "hybrid":
        return HybridNorm(channels)
    raise ValueError(f"unknown norm {kind!r}; expected one of {NORMS}")


class HybridNorm(nn.Module):
    """v2.2's "hybrid" norm: a learned 1x1 conv on the first half of the
    channels, layernorm (per sample over (C/2, H, W)) on the second half."""

    def __init__(self, channels: int):
        super().__init__()
        if channels % 2:
            raise ValueError(f"hybrid norm needs an even number of channels, got {channels}")
        self.half = channels // 2
        self.mix = nn.Conv2d(self.half, self.half, 1)
        nn.init.kaiming_normal_(self.mix.weight, nonlinearity="relu")
        self.norm = nn.GroupNorm(1, channels - self.half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.split([self.half, x.shape[1] - self.half], dim=1)
        return torch.cat([self.mix(a), self.norm(b)], dim=1)


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` that computes outputs of at most :attr:`GEMM_MAX_POSITIONS`
    positions as one matrix product of unfolded patches (im2col).

    The bottleneck convs of these networks (e.g. 512 → 2048 channels on a
    4x4 map) are wide and tiny: oneDNN's conv kernels, its bf16 weight-gradient
    above all, run them at a few percent of the GEMM rate, so the same
    arithmetic as a GEMM is 2x (bf16) to 3x (fp32) faster forward and backward.
    Same parameters, same results up to rounding.
    """

    GEMM_MAX_POSITIONS = 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        hout = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        wout = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if hout * wout > self.GEMM_MAX_POSITIONS or self.groups != 1 or self.padding_mode != "zeros":
            return super().forward(x)
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)  # (N, C*kh*kw, L)
        # patches in (kh, kw, C) order match a channels-last weight's memory: no weight copy
        cols = cols.view(n, c, kh * kw, -1).permute(0, 3, 2, 1).reshape(n, hout * wout, kh * kw * c)
        weight = self.weight.permute(0, 2, 3, 1).reshape(self.out_channels, -1)
        return F.linear(cols, weight, self.bias).view(n, hout, wout, -1).permute(0, 3, 1, 2)


def _he_conv(cin: int, cout: int, kernel: int, stride: int = 1, padding: int | None = None,
             bias: bool = False) -> nn.Conv2d:
    """Conv with Keras ``he_normal``-like init (v2.2's ``conv_init``)."""
    conv = Conv2d(cin, cout, kernel, stride, kernel // 2 if padding is None else padding, bias=bias)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    return conv


class ConvBlock(nn.Sequential):
    """3x3 conv (stride 2 halves the size) → ReLU → norm: the encoder's step."""

    def __init__(self, cin: int, cout: int, norm: str = "none", stride: int = 2):
        super().__init__(_he_conv(cin, cout, 3, stride), nn.ReLU(inplace=True), make_norm(norm, cout))


class ConvBlockD(nn.Sequential):
    """4x4 stride-2 conv → LeakyReLU(0.2) → norm: the discriminator's step."""

    def __init__(self, cin: int, cout: int, norm: str = "none"):
        super().__init__(_he_conv(cin, cout, 4, 2, padding=1), nn.LeakyReLU(0.2, inplace=True),
                         make_norm(norm, cout))


class ResBlock(nn.Module):
    """Two 3x3 convs with a skip connection, LeakyReLU(0.2) and norm after each."""

    def __init__(self, channels: int, norm: str = "none"):
        super().__init__()
        self.conv1 = _he_conv(channels, channels, 3)
        self.norm1 = make_norm(norm, channels)
        self.conv2 = _he_conv(channels, channels, 3)
        self.norm2 = make_norm(norm, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(F.leaky_relu(self.conv1(x), 0.2))
        return self.norm2(F.leaky_relu(self.conv2(y) + x, 0.2))


def icnr_(weight: torch.Tensor, scale: int = 2) -> torch.Tensor:
    """ICNR init (Aitken et al. 2017) of a conv feeding ``nn.PixelShuffle(scale)``.

    ``nn.PixelShuffle`` builds output channel ``c`` from input channels
    ``c*scale² … c*scale² + scale² - 1``, so one He-initialised subkernel per
    output channel is repeated over each such run of consecutive channels.
    Right after init the conv + shuffle then equals nearest-neighbour
    upsampling of the subkernel's output: no checkerboard.
    """
    out_channels = weight.shape[0] // (scale * scale)
    sub = torch.empty(out_channels, *weight.shape[1:], dtype=weight.dtype, device=weight.device)
    nn.init.kaiming_normal_(sub, nonlinearity="relu")
    with torch.no_grad():
        weight.copy_(sub.repeat_interleave(scale * scale, dim=0))
    return weight


class UpscalePS(nn.Module):
    """Doubles the size: 3x3 conv to 4x channels (ICNR) → LeakyReLU(0.2) →
    pixel shuffle → norm over the ``cout`` output channels."""

    def __init__(self, cin: int, cout: int, norm: str = "none"):
        super().__init__()
        self.conv = Conv2d(cin, cout * 4, 3, padding=1)
        icnr_(self.conv.weight, 2)
        nn.init.zeros_(self.conv.bias)
        self.shuffle = nn.PixelShuffle(2)
        self.norm = make_norm(norm, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.shuffle(F.leaky_relu(self.conv(x), 0.2)))


class SelfAttention(nn.Module):
    """SAGAN self-attention: ``x + gamma * softmax(q kᵀ) v`` over all positions.

    q, k are 1x1 projections to ``C/squeeze`` channels, v a 1x1 projection to
    ``C``; ``gamma`` is learned and starts at 0 so the block starts as the
    identity. The three projections share one weight (``qkv``, rows q | k | v)
    applied as one matmul (separate thin 1x1 convs were several times slower
    under CPU bf16 autocast), the attention is
    ``F.scaled_dot_product_attention`` with scale 1.
    """

    def __init__(self, channels: int, squeeze: int = 8):
        super().__init__()
        if channels // squeeze < 1:
            raise ValueError(f"self-attention needs at least {squeeze} channels, got {channels}")
        self.inner = channels // squeeze
        self.qkv = nn.Conv2d(channels, 2 * self.inner + channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        # Position-major (N, HW, C) is a free view of a channels-last map.
        tokens = x.permute(0, 2, 3, 1).reshape(n, h * w, c)
        proj = F.linear(tokens, self.qkv.weight.flatten(1), self.qkv.bias)
        q, k, v = proj.split([self.inner, self.inner, c], dim=2)
        # Zero channels leave q·kᵀ unchanged and give q, k, v one head size, so
        # torch's fused (flash) attention kernel applies: it never stores the
        # (HW x HW) attention matrix, several times faster than bmm + softmax (docs/model.md).
        pad = (0, c - self.inner)
        out = F.scaled_dot_product_attention(F.pad(q, pad)[:, None], F.pad(k, pad)[:, None], v[:, None], scale=1.0)
        out = out[:, 0].view(n, h, w, c).permute(0, 3, 1, 2)
        # gamma is an fp32 parameter: cast it, or autocast's bf16 map turns fp32
        return x + out * self.gamma.to(out.dtype)


class OutputHead(nn.Module):
    """5x5 convs to a 1-channel sigmoid attention mask and a 3-channel tanh face."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 4, 5, padding=2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x)
        return torch.sigmoid(y[:, :1]), torch.tanh(y[:, 1:])
