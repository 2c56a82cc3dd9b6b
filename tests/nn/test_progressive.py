import math

import pytest
import torch
import torch.nn.functional as F

from gankit.errors import ConfigError
from gankit.nn.progressive import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStddev,
    PixelNorm,
    downscale2d,
    upscale2d,
)


def test_equalized_layers_store_unit_variance_weights_and_scale_them_at_run_time():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 32, 3)
    linear = EqualizedLinear(256, 128, gain=1.0)
    for layer in (conv, linear):
        assert abs(layer.weight.std().item() - 1) < 0.02 and abs(layer.weight.mean().item()) < 0.02
        assert torch.equal(layer.bias, torch.zeros_like(layer.bias))
        with torch.no_grad():
            layer.bias.normal_()
    assert conv.scale == math.sqrt(2) / math.sqrt(64 * 9) and linear.scale == 1 / math.sqrt(256)
    x = torch.randn(2, 64, 5, 5)
    expected = F.conv2d(x, conv.weight * math.sqrt(2 / (64 * 9)), conv.bias, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    v = torch.randn(3, 256)
    assert torch.allclose(linear(v), v @ (linear.weight / 16).T + linear.bias, atol=1e-6)


def test_bias_gradient_is_not_scaled_and_weight_gradient_is():
    layer = EqualizedLinear(400, 1)
    x = torch.randn(5, 400)
    layer(x).sum().backward()
    assert torch.allclose(layer.bias.grad, torch.tensor([5.0]))
    assert torch.allclose(layer.weight.grad, x.sum(0, keepdim=True) * math.sqrt(2 / 400), atol=1e-5)


def test_one_adam_step_changes_every_layers_effective_weight_by_the_same_relative_amount():
    """The point of the equalized learning rate: Adam's first step is lr * sign(grad) on the stored weight, so the
    effective weight moves by lr * scale, which relative to its own spread (scale) is lr for any fan-in."""
    torch.manual_seed(0)
    small, big = EqualizedConv2d(4, 8, 3), EqualizedConv2d(256, 8, 3)
    before = [(m.weight * m.scale).detach().clone() for m in (small, big)]
    opt = torch.optim.Adam([*small.parameters(), *big.parameters()], lr=1e-3, betas=(0.0, 0.99))
    (small(torch.randn(2, 4, 6, 6)).sum() + big(torch.randn(2, 256, 6, 6)).sum()).backward()
    opt.step()
    for m, w0 in zip((small, big), before):
        relative = ((m.weight * m.scale).detach() - w0).abs().max() / m.he  # the He std the layer should have
        assert torch.isclose(relative, torch.tensor(1e-3), rtol=1e-3)


def test_without_equalization_the_he_scaled_weight_is_stored():
    torch.manual_seed(0)
    layer = EqualizedConv2d(128, 64, 3, equalized=False)
    assert layer.scale == 1.0
    assert abs(layer.weight.std().item() / (math.sqrt(2) / math.sqrt(128 * 9)) - 1) < 0.02


def test_pixel_norm_gives_unit_mean_square_over_channels():
    y = PixelNorm()(torch.randn(3, 16, 4, 4) * 7)
    assert torch.allclose(y.square().mean(dim=1), torch.ones(3, 4, 4), atol=1e-5)
    z = PixelNorm()(torch.tensor([[3.0, 4.0]]))  # rms 3.5355
    assert torch.allclose(z, torch.tensor([[3.0, 4.0]]) / math.sqrt(12.5))


def test_minibatch_stddev_on_the_grouping_example_of_pytorch_gan_zoo_issue_69():
    """N = 12, groups of 4 as the official code splits them (sample i in group i mod 3), biased std: group 0 is
    {0, 0, 3, 200}, std 86.18; group 1 {0, 1, 4, 300}: 129.19; group 2 {0, 2, 100, 400}: 163.56."""
    x = torch.tensor([0, 0, 0, 0, 1, 2, 3, 4, 100, 200, 300, 400], dtype=torch.float32).view(12, 1, 1, 1)
    y = MinibatchStddev(4)(x)
    assert y.shape == (12, 2, 1, 1) and torch.equal(y[:, 0], x[:, 0])
    expected = torch.tensor([86.18, 129.19, 163.56]).repeat(4)
    assert torch.allclose(y[:, 1].flatten(), expected, atol=0.01)


def test_minibatch_stddev_averages_over_features_and_pixels_and_tiles_one_map():
    x = torch.zeros(2, 2, 2, 2)
    x[1, 0] = 2.0  # feature 0: values 0 and 2 at every pixel (std 1); feature 1: std 0 (1e-4 after the epsilon)
    y = MinibatchStddev(0)(x)  # the whole batch
    assert y.shape == (2, 3, 2, 2)
    assert torch.allclose(y[:, 2], torch.full((2, 2, 2), (1 + 1e-4) / 2), atol=1e-6)


def test_minibatch_stddev_refuses_a_batch_its_group_does_not_divide():
    with pytest.raises(ConfigError, match="divisible by its group size 4"):
        MinibatchStddev(4)(torch.randn(6, 3, 2, 2))
    assert MinibatchStddev(4)(torch.randn(3, 3, 2, 2)).shape == (3, 4, 2, 2)  # fewer samples than a group


def test_box_downscale_undoes_nearest_upscale():
    x = torch.randn(2, 3, 4, 4)
    assert torch.allclose(downscale2d(upscale2d(x, 4), 4), x, atol=1e-6)
    assert torch.equal(downscale2d(torch.tensor([[[[1.0, 2.0], [3.0, 6.0]]]])), torch.tensor([[[[3.0]]]]))
