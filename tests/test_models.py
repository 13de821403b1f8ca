"""faceswap-GAN v2.2 networks: shapes, gradients, ICNR, attention, transform API."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from faceswap_parts.config import CAPACITIES, NORMS, RESOLUTIONS, ModelConfig
from faceswap_parts.errors import FaceswapError
from faceswap_parts.models import FaceswapModel, GeneratorOutput
from faceswap_parts.models.layers import Conv2d, SelfAttention, UpscalePS, make_norm
from faceswap_parts.models.networks import Decoder, Discriminator, Encoder, widths


#: Grace Hopper's five landmarks (eye centres, nose tip, mouth corners), from dlib's 68-point model
HOPPER_POINTS5 = np.array([[224, 192], [305, 189], [267, 238], [233, 281], [300, 277]], np.float32)


@pytest.fixture(scope="module")
def lite64() -> FaceswapModel:
    torch.manual_seed(0)
    return FaceswapModel(ModelConfig(resolution=64, capacity="lite"))


def _images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# 256 px standard is the slowest combination: check it once, with the default norm.
SHAPE_CASES = [(r, c, n) for r, c, n in itertools.product(RESOLUTIONS, CAPACITIES, NORMS)
               if not (r == 256 and c == "standard" and n != "layernorm")]


@pytest.mark.parametrize("resolution,capacity,norm", SHAPE_CASES)
def test_network_shapes(resolution, capacity, norm):
    arch = dict(resolution=resolution, norm=norm, self_attention=True)
    x = _images(1, resolution)
    with torch.no_grad():
        z = Encoder(capacity=capacity, **arch)(x)
        outputs = Decoder(capacity=capacity, **arch)(z)
        scores = Discriminator(**arch)(torch.cat([x, x], 1))
    assert z.shape == (1, widths(capacity).latent, 8, 8)
    sizes = [64 * 2 ** i for i in range(RESOLUTIONS.index(resolution) + 1)]
    assert [(m.shape, c.shape) for m, c in outputs] == [((1, 1, s, s), (1, 3, s, s)) for s in sizes]
    mask, color = outputs[-1]
    assert 0 <= mask.min() and mask.max() <= 1 and -1 <= color.min() and color.max() <= 1
    assert scores.shape == (1, 1, 8, 8)


def test_quick_is_lite_halved_without_the_full_resolution_attention():
    counts = {c: FaceswapModel(ModelConfig(capacity=c)).parameter_counts()["total"] for c in CAPACITIES}
    # lite and standard keep their layouts (and old checkpoints load); quick is the narrow one (docs/model.md)
    assert counts == {"quick": 10_214_638, "lite": 35_844_128, "standard": 73_236_464}
    quick = FaceswapModel(ModelConfig(capacity="quick"))
    attention = [name for name, m in quick.named_modules() if isinstance(m, SelfAttention)]
    assert attention and not any(name.startswith("decoders.") and name.endswith("trunk.5") for name in attention)
    assert any(name.endswith("trunk.5") for name, m in FaceswapModel(ModelConfig(capacity="lite")).named_modules()
               if isinstance(m, SelfAttention))


def test_lite_is_smaller_and_counts_are_reported():
    lite = FaceswapModel(ModelConfig(capacity="lite")).parameter_counts()
    standard = FaceswapModel(ModelConfig(capacity="standard")).parameter_counts()
    assert lite["encoder"] < standard["encoder"] and lite["decoder"] < standard["decoder"]
    assert lite["discriminator"] == standard["discriminator"]
    assert standard["total"] == standard["encoder"] + 2 * standard["decoder"] + 2 * standard["discriminator"]


def test_generate_combines_mask_color_and_input(lite64):
    x = _images(2, 64)
    with torch.no_grad():
        out = lite64.generate(x, "A")
    assert isinstance(out, GeneratorOutput) and out.aux == []
    torch.testing.assert_close(out.result, out.mask * out.color + (1 - out.mask) * x)


def test_generate_and_discriminate_reject_unknown_identity(lite64):
    with pytest.raises(FaceswapError, match="identity"):
        lite64.generate(_images(1, 64), "C")
    with pytest.raises(FaceswapError, match="identity"):
        lite64.discriminate(_images(1, 64), _images(1, 64), "C")


@pytest.mark.parametrize("resolution,norm", [(128, "layernorm"), (64, "batchnorm"), (64, "hybrid")])
def test_gradients_reach_every_parameter(resolution, norm):
    torch.manual_seed(0)
    model = FaceswapModel(ModelConfig(resolution=resolution, capacity="lite", norm=norm))
    for module in model.modules():  # at gamma = 0 the attention projections get no gradient by design
        if isinstance(module, SelfAttention):
            nn.init.constant_(module.gamma, 0.1)
    x = _images(2, resolution)
    for identity in "AB":
        out = model.generate(x, identity)
        fake = model.discriminate(out.result, x, identity)
        loss = out.color.mean() + out.mask.mean() + fake.mean() + sum(m.mean() + c.mean() for m, c in out.aux)
        loss.backward()
    no_grad = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert no_grad == []


@pytest.mark.parametrize("size, kernel, stride, padding, channels_last",
                         [(4, 3, 1, 1, True), (4, 3, 1, 1, False), (8, 3, 2, 1, True), (8, 4, 2, 1, False),
                          (16, 3, 1, 1, True)])  # the last one is above the GEMM limit: oneDNN's conv
def test_gemm_conv_equals_conv2d_forward_and_backward(size, kernel, stride, padding, channels_last):
    torch.manual_seed(0)
    conv = Conv2d(24, 40, kernel, stride, padding)
    x = torch.randn(3, 24, size, size)
    if channels_last:
        conv, x = conv.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    x.requires_grad_(True)
    ours = conv(x)
    grads = torch.autograd.grad(ours.square().sum(), (x, conv.weight, conv.bias))
    reference = F.conv2d(x, conv.weight, conv.bias, stride, padding)
    expected = torch.autograd.grad(reference.square().sum(), (x, conv.weight, conv.bias))
    assert ours.shape == reference.shape and torch.allclose(ours, reference, atol=1e-4)
    for got, want in zip(grads, expected):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("norm", ["layernorm", "batchnorm"])
def test_generate_all_equals_one_call_per_identity(norm):
    torch.manual_seed(0)
    model = FaceswapModel(ModelConfig(resolution=64, capacity="lite", norm=norm)).eval()
    inputs = {"A": torch.rand(2, 3, 64, 64) * 2 - 1, "B": torch.rand(3, 3, 64, 64) * 2 - 1}
    together = model.generate_all(inputs)
    for identity, x in inputs.items():
        alone = model.generate(x, identity)
        for got, want in zip(together[identity][:3], alone[:3]):
            assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)
    with pytest.raises(FaceswapError):
        model.generate_all({"C": inputs["A"]})


def test_self_attention_starts_as_identity():
    torch.manual_seed(0)
    attn = SelfAttention(16)
    assert attn.gamma.item() == 0
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(attn(x), x)
    model = FaceswapModel(ModelConfig(capacity="lite"))
    gammas = [m.gamma.item() for m in model.modules() if isinstance(m, SelfAttention)]
    assert len(gammas) == 2 + 2 * 2 + 2 * 1 and set(gammas) == {0.0}


def test_self_attention_matches_softmax_formula():
    torch.manual_seed(0)
    attn = SelfAttention(16)
    nn.init.constant_(attn.gamma, 0.5)
    x = torch.randn(1, 16, 3, 4)
    w, b = attn.qkv.weight[:, :, 0, 0], attn.qkv.bias
    q, k, v = (w[rows] @ x[0].flatten(1) + b[rows, None] for rows in (slice(0, 2), slice(2, 4), slice(4, 20)))
    weights = torch.softmax(q.T @ k, dim=-1)  # each position attends over all positions
    expected = x + 0.5 * (v @ weights.T).reshape(1, 16, 3, 4)
    torch.testing.assert_close(attn(x), expected)


def test_self_attention_can_be_switched_off():
    model = FaceswapModel(ModelConfig(capacity="lite", self_attention=False))
    assert not any(isinstance(m, SelfAttention) for m in model.modules())


@pytest.mark.parametrize("norm", ["none", "layernorm", "instancenorm"])
def test_icnr_upscale_equals_nearest_upsampling_of_subkernel(norm):
    torch.manual_seed(0)
    up = UpscalePS(8, 5, norm)
    x = torch.randn(2, 8, 6, 7)
    sub = nn.Conv2d(8, 5, 3, padding=1)
    with torch.no_grad():
        sub.weight.copy_(up.conv.weight[::4])  # channel c*4 of PixelShuffle's layout feeds output channel c
        sub.bias.copy_(up.conv.bias[::4])
        expected = up.norm(F.interpolate(F.leaky_relu(sub(x), 0.2), scale_factor=2, mode="nearest"))
        got = up(x)
    torch.testing.assert_close(got, expected)
    # no checkerboard: each 2x2 output block is one value
    assert torch.equal(got[..., ::2, ::2], got[..., 1::2, 1::2])


def test_norms_compute_what_they_are_named_for():
    x = torch.randn(2, 4, 5, 5) * 3 + 1
    inst = make_norm("instancenorm", 4)(x)
    torch.testing.assert_close(inst.mean((2, 3)), torch.zeros(2, 4), atol=1e-5, rtol=0)
    layer = make_norm("layernorm", 4)(x)
    torch.testing.assert_close(layer.mean((1, 2, 3)), torch.zeros(2), atol=1e-5, rtol=0)
    assert layer.mean((2, 3)).abs().max() > 1e-2  # channels are not normalised one by one
    assert isinstance(make_norm("none", 4), nn.Identity)
    with pytest.raises(ValueError):
        make_norm("hybrid", 5)


def test_invalid_config_is_a_faceswap_error():
    with pytest.raises(FaceswapError, match="resolution"):
        ModelConfig(resolution=96)
    with pytest.raises(FaceswapError, match="norm"):
        ModelConfig(norm="spectral")


def test_atob_and_btoa_use_different_decoders(lite64):
    x = _images(2, 64)
    a_out, b_out = lite64.transform(x, "BtoA"), lite64.transform(x, "AtoB")
    with torch.no_grad():
        expect_a, expect_b = lite64.generate(x, "A"), lite64.generate(x, "B")
    torch.testing.assert_close(a_out[1], expect_a.color)
    torch.testing.assert_close(b_out[1], expect_b.color)
    assert not torch.allclose(a_out[1], b_out[1])


def test_transform_numpy_single_and_batch(lite64, astronaut):
    import cv2

    face = cv2.resize(astronaut[0:220, 150:370], (64, 64), interpolation=cv2.INTER_AREA)
    result, raw, mask = lite64.transform(face, "AtoB")
    assert result.shape == raw.shape == (64, 64, 3) and result.dtype == raw.dtype == np.uint8
    assert mask.shape == (64, 64) and mask.dtype == np.float32 and 0 <= mask.min() and mask.max() <= 1
    batch = np.stack([face, face[:, ::-1]])
    b_result, b_raw, b_mask = lite64.transform(batch, "AtoB", batch_size=1)
    assert b_result.shape == (2, 64, 64, 3) and b_mask.shape == (2, 64, 64)
    np.testing.assert_array_equal(b_raw[0], raw)
    # result is the mask-weighted blend of the raw face and the input (up to uint8 rounding)
    blend = mask[..., None] * raw.astype(np.float32) + (1 - mask[..., None]) * face.astype(np.float32)
    assert np.abs(blend - result.astype(np.float32)).max() <= 2


def test_transform_resizes_other_sizes_back(lite64, grace_hopper):
    face = grace_hopper[100:300, 150:350]  # 200x200
    result, raw, mask = lite64.transform(face)
    assert result.shape == raw.shape == face.shape and mask.shape == face.shape[:2]
    tensor_out = lite64.transform(_images(3, 100), "BtoA")
    assert [t.shape for t in tensor_out] == [(3, 3, 100, 100), (3, 3, 100, 100), (3, 1, 100, 100)]


def test_transform_rejects_bad_input(lite64):
    with pytest.raises(FaceswapError, match="uint8"):
        lite64.transform(np.zeros((64, 64), np.uint8))
    with pytest.raises(FaceswapError, match="float"):
        lite64.transform(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    with pytest.raises(FaceswapError, match="direction"):
        lite64.transform(np.zeros((64, 64, 3), np.uint8), "AtoC")


def test_transform_keeps_training_mode_and_batchnorm_statistics():
    model = FaceswapModel(ModelConfig(capacity="lite", norm="batchnorm"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    model.transform(_images(2, 64))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_swap_decoders_swaps_weights(lite64):
    x = _images(1, 64)
    with torch.no_grad():
        before_a, before_b = lite64.generate(x, "A").color, lite64.generate(x, "B").color
        d_before = lite64.discriminate(x, x, "A")
        a_weights = {k: v.clone() for k, v in lite64.decoders["A"].state_dict().items()}
        lite64.swap_decoders()
        try:
            assert all(torch.equal(a_weights[k], v) for k, v in lite64.decoders["B"].state_dict().items())
            torch.testing.assert_close(lite64.generate(x, "A").color, before_b)
            torch.testing.assert_close(lite64.generate(x, "B").color, before_a)
            assert not torch.allclose(lite64.discriminate(x, x, "A"), d_before)
        finally:
            lite64.swap_decoders()
    torch.testing.assert_close(lite64.generate(x, "A").color, before_a)


def test_state_dict_round_trip(lite64, tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"config": lite64.config.to_dict(), "model": lite64.state_dict()}, path)
    saved = torch.load(path, weights_only=True)
    clone = FaceswapModel(ModelConfig.from_dict(saved["config"]))
    clone.load_state_dict(saved["model"])
    x = _images(1, 64)
    with torch.no_grad():
        torch.testing.assert_close(clone.generate(x, "B").result, lite64.generate(x, "B").result)


def test_bf16_autocast_forward_backward(lite64):
    x = _images(2, 64)
    lite64.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = lite64.generate(x, "B")
        score = lite64.discriminate(out.result, x, "B")
        # no layer should silently promote activations back to fp32
        assert out.color.dtype == out.mask.dtype == score.dtype == torch.bfloat16
        loss = (out.color.float() - x).abs().mean() + score.float().pow(2).mean()
    loss.backward()
    grads = [p.grad for p in lite64.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)
    lite64.zero_grad()


def test_gflops_per_sample_counts_forward_and_backward(lite64):
    """benchmarks/flops.py, which train_speed and data_speed count utilisation with."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from flops import gflops_per_sample

    fwd = gflops_per_sample(lite64, "generator", backward=False)
    both = gflops_per_sample(lite64, "generator")
    d = gflops_per_sample(lite64, "discriminator", backward=False)
    assert 0.5 < fwd < 20 and 2.5 * fwd < both < 3.5 * fwd and 0 < d < fwd
    assert all(p.grad is None for p in lite64.parameters())


def test_e2e_real_face_through_fresh_model(lite64, grace_hopper):
    """A real aligned face goes through the full transform path and back."""
    from faceswap_parts.faces.alignment import align_face

    crop, _ = align_face(grace_hopper, HOPPER_POINTS5, size=64, coverage=lite64.config.coverage)
    result, raw, mask = lite64.transform(crop, "AtoB")
    assert result.shape == crop.shape and raw.std() > 0 and 0 <= mask.min() <= mask.max() <= 1
    # untrained, the mask is about 0.5 everywhere, so the result stays close to the input
    assert np.abs(result.astype(int) - crop.astype(int)).mean() < 64


def test_e2e_generator_learns_a_real_face_under_bf16(grace_hopper):
    """A few optimiser steps on one real aligned face cut the reconstruction loss."""
    from faceswap_parts.faces.alignment import align_face
    from faceswap_parts.training.losses import edge_loss, reconstruction_loss

    crop, _ = align_face(grace_hopper, HOPPER_POINTS5, size=64, coverage=0.625)
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 127.5 - 1
    torch.manual_seed(0)
    model = FaceswapModel(ModelConfig(capacity="quick"))  # quick: cheap where the CPU only emulates bf16
    params = list(model.encoder.parameters()) + list(model.decoders["A"].parameters())
    opt = torch.optim.Adam(params, lr=5e-4, betas=(0.5, 0.999))
    history = []
    for _ in range(8):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model.generate(x, "A")
            loss = reconstruction_loss(out.color.float(), x) + 0.1 * edge_loss(out.color.float(), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert history[-1] < 0.5 * history[0]
