"""Loss terms on tiny tensors whose values can be worked out by hand."""
from __future__ import annotations

import pytest
import torch

from faceswap_parts.training import losses


def t(rows) -> torch.Tensor:
    """A (1,1,H,W) tensor from nested lists."""
    return torch.tensor(rows, dtype=torch.float32)[None, None]


def test_reconstruction_is_mean_absolute_error():
    color, target = t([[1.0, -1.0], [0.5, 0.0]]), t([[0.0, 0.0], [0.0, 0.0]])
    assert losses.reconstruction_loss(color, target).item() == pytest.approx((1 + 1 + 0.5 + 0) / 4)


def test_eye_loss_only_counts_the_eye_region():
    color, target = t([[1.0, -1.0], [0.5, 0.0]]), torch.zeros(1, 1, 2, 2)
    eyes = t([[1.0, 0.0], [0.0, 0.0]])
    assert losses.eye_loss(color, target, eyes).item() == pytest.approx(1 / 4)
    # a one-channel eye mask broadcasts over three colour channels
    assert losses.eye_loss(color.expand(1, 3, 2, 2), target.expand(1, 3, 2, 2), eyes).item() == pytest.approx(1 / 4)


def test_aux_reconstruction_compares_with_downscaled_target():
    target = t([[1.0, 3.0], [5.0, 7.0]])  # area-downscaled to 1x1: 4
    aux = [(torch.zeros(1, 1, 1, 1), torch.full((1, 1, 1, 1), 2.0))]
    assert losses.aux_reconstruction_loss(aux, target).item() == pytest.approx(2.0)
    assert losses.aux_reconstruction_loss([], target).item() == 0


def test_first_order_differences():
    x = t([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    dy, dx = losses.first_order(x)
    torch.testing.assert_close(dy, t([[2.0, 1.0], [2.0, 2.0]]))
    torch.testing.assert_close(dx, t([[1.0, 2.0], [0.0, 0.0]]))


def test_edge_loss_compares_edge_magnitudes():
    target = torch.zeros(1, 1, 3, 3)
    color = t([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    # |dy| = [[2,1],[2,2]] mean 7/4; |dx| = [[1,2],[0,0]] mean 3/4
    assert losses.edge_loss(color, target).item() == pytest.approx(7 / 4 + 3 / 4)
    # a flipped sign has the same edge magnitudes: no loss
    assert losses.edge_loss(-color, color).item() == 0


def test_edge_loss_with_eye_mask_weights_by_local_eye_coverage():
    target = torch.zeros(1, 1, 3, 3)
    color = t([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    eyes = t([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    # 2x2-averaged mask: [[1, .5], [.5, .25]]; dy: (2 + .5 + 1 + .5) / 4, dx: (1 + 1) / 4
    assert losses.edge_loss(color, target, eyes).item() == pytest.approx(4 / 4 + 2 / 4)


def test_mixup_lsgan_d_targets_lambda():
    pred = torch.tensor([0.2, 0.8])
    assert losses.mixup_lsgan_d_loss(pred, 0.5).item() == pytest.approx((0.09 + 0.09) / 2)
    assert losses.lsgan_g_loss(pred).item() == pytest.approx((0.64 + 0.04) / 2)


def test_sample_mixup_lambda_is_a_seeded_beta_draw():
    torch.manual_seed(3)
    draws = [losses.sample_mixup_lambda() for _ in range(200)]
    assert all(0 <= d <= 1 for d in draws)
    # Beta(0.2, 0.2) piles up near 0 and 1
    assert sum(d < 0.1 or d > 0.9 for d in draws) > 100
    torch.manual_seed(3)
    assert losses.sample_mixup_lambda() == draws[0]


def test_relativistic_average_lsgan():
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [2.0]])
    # real - mean(fake) = [0, 2] -> (0-1)², (2-1)²; fake - mean(real) = [-2, 0] -> (-2+1)², (0+1)²
    assert losses.ralsgan_d_loss(real, fake).item() == pytest.approx((1 + 1) / 2 / 2 + (1 + 1) / 2 / 2)
    # generator: fake - mean(real) = [-2, 0] -> 9, 1; real - mean(fake) = [0, 2] -> 1, 9
    assert losses.ralsgan_g_loss(real, fake).item() == pytest.approx((5 + 5) / 2)
    # a perfect discriminator has zero loss
    assert losses.ralsgan_d_loss(torch.ones(2, 1), -torch.ones(2, 1) + 1).item() == pytest.approx(0.0)


def test_mask_regularisers():
    mask = t([[0.0, 1.0], [0.25, 0.75]])
    assert losses.mask_l1(mask).item() == pytest.approx(0.5)
    assert losses.mask_hinge(mask, 0.5).item() == pytest.approx((0.5 + 0 + 0.25 + 0) / 4)
    assert losses.mask_hinge(mask, 0.0).item() == 0
    # only the corner (0,0) has both neighbours: dy = |0.25 - 0|, dx = |1 - 0|
    assert losses.mask_total_variation(mask).item() == pytest.approx(1.25)


def test_cycle_loss_is_l1():
    assert losses.cycle_loss(t([[1.0, 0.0]]), t([[0.0, 0.0]])).item() == pytest.approx(0.5)


def test_instance_normalize_per_sample_and_channel():
    x = torch.tensor([[[[1.0, 3.0]], [[10.0, 10.0]]]])  # (1, 2, 1, 2)
    y = losses.instance_normalize(x)
    torch.testing.assert_close(y[0, 0, 0], torch.tensor([-1.0, 1.0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(y[0, 1, 0], torch.zeros(2))


def test_perceptual_loss_weights_instance_normalised_l1():
    fake = [torch.tensor([[[[1.0, 3.0]]]]), torch.tensor([[[[0.0, 5.0]]]])]
    real = [torch.tensor([[[[3.0, 1.0]]]]), torch.tensor([[[[1.0, 2.0]]]])]
    # layer 0 normalises to [-1, 1] vs [1, -1]: L1 = 2; layer 1 to [-1, 1] vs [-1, 1]: 0
    assert losses.perceptual_loss(fake, real, [0.5, 7.0]).item() == pytest.approx(1.0, abs=1e-3)
    # scale and offset of a feature map do not matter after instance norm
    assert losses.perceptual_loss(fake, [f * 4 + 2 for f in fake], [1.0, 1.0]).item() == pytest.approx(0, abs=1e-3)
    with pytest.raises(ValueError):
        losses.perceptual_loss(fake, real, [1.0])


def test_losses_give_gradients_under_bf16_autocast():
    color = torch.rand(2, 3, 8, 8, requires_grad=True)
    target, eyes = torch.rand(2, 3, 8, 8), (torch.rand(2, 1, 8, 8) > 0.5).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        c = color.bfloat16()  # what a decoder under autocast hands the losses
        total = (losses.reconstruction_loss(c, target) + losses.eye_loss(c, target, eyes)
                 + losses.edge_loss(c, target, eyes) + losses.lsgan_g_loss(c.mean((1, 2, 3)))
                 + losses.mask_total_variation(c[:, :1]))
    total.backward()
    assert torch.isfinite(color.grad).all() and color.grad.abs().sum() > 0
