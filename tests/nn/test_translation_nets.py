"""Shapes, structure, receptive fields and parameter counts of the pix2pix and CycleGAN networks."""

import pytest
import torch
from torch import nn

from gankit.nn import PatchDiscriminator, ResnetGenerator, UNetGenerator, receptive_field
from gankit.nn.generators import ResnetBlock


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def of_type(net: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


def conv(c_in: int, c_out: int, k: int, bias: bool) -> int:
    """Parameters of a k x k (transposed) conv: the same formula either way."""
    return c_in * c_out * k * k + (c_out if bias else 0)


def bn(c: int) -> int:
    return 2 * c  # scale and shift; running statistics are buffers


def on_meta(build):
    # Full-width nets built on the meta device: shapes and counts without allocating or initialising weights.
    with torch.device("meta"):
        return build()


# ---------------------------------------------------------------------------------------------- U-Net


@pytest.mark.parametrize(("depth", "size", "c_in", "c_out", "base"), [
    (8, (256, 256), 3, 3, 2),
    (6, (64, 64), 3, 3, 4),
    (4, (16, 16), 1, 3, 4),
    (4, (48, 32), 3, 1, 4),
    (1, (6, 4), 2, 3, 4),
])
def test_unet_output_shape_and_range(depth, size, c_in, c_out, base):
    torch.manual_seed(0)
    net = UNetGenerator(c_in, c_out, depth=depth, base_channels=base)
    assert net.multiple == 2**depth
    y = net(torch.randn(2, c_in, *size) * 3)
    assert y.shape == (2, c_out, *size)
    assert y.abs().max() <= 1


@pytest.mark.parametrize("size", [(24, 32), (32, 20), (8, 8)])
def test_unet_rejects_sizes_off_the_multiple(size):
    net = UNetGenerator(3, 3, depth=4, base_channels=4)
    with pytest.raises(ValueError, match="multiples of 16"):
        net(torch.randn(1, 3, *size))


def test_unet_rejects_bad_arguments():
    with pytest.raises(ValueError, match="depth"):
        UNetGenerator(3, 3, depth=0)
    with pytest.raises(ValueError, match="norm"):
        UNetGenerator(3, 3, depth=2, norm="layer")


def test_unet_256_layers_match_the_paper():
    net = on_meta(lambda: UNetGenerator(3, 3))
    convs = of_type(net, nn.Conv2d)
    ups = of_type(net, nn.ConvTranspose2d)
    assert len(convs) + len(ups) == 2 * 8
    # Encoder C64-C128-C256-C512-C512-C512-C512-C512, all 4x4 stride 2.
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 512, 512, 512, 512]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) and c.padding == (1, 1) for c in convs + ups)
    # Decoder: inputs double after the first layer because of the concatenated skip (the paper's C1024s).
    assert [u.in_channels for u in ups] == [512, 1024, 1024, 1024, 1024, 512, 256, 128]
    assert [u.out_channels for u in ups] == [512, 512, 512, 512, 256, 128, 64, 3]
    # No norm on the first encoder layer, on the bottleneck or on the output layer: 6 + 7 batch norms.
    assert len(of_type(net, nn.BatchNorm2d)) == 13
    assert not of_type(net.encoder[0], nn.BatchNorm2d) and not of_type(net.encoder[-1], nn.BatchNorm2d)
    assert isinstance(net.decoder[-1][-1], nn.Tanh)
    # Leaky ReLUs in the encoder, plain ones in the decoder.
    assert len(of_type(net.encoder, nn.LeakyReLU)) == 7 and len(of_type(net.decoder, nn.ReLU)) == 8


def test_unet_biases_follow_the_norm():
    batch = UNetGenerator(3, 3, depth=4, base_channels=4, norm="batch")
    # Only the convs with no batch norm after them keep a bias: first, bottleneck and output layers.
    with_bias = [m.bias is not None for m in of_type(batch, (nn.Conv2d, nn.ConvTranspose2d))]
    assert with_bias == [True, False, False, True, False, False, False, True]
    inst = UNetGenerator(3, 3, depth=4, base_channels=4, norm="instance")
    assert all(m.bias is not None for m in of_type(inst, (nn.Conv2d, nn.ConvTranspose2d)))
    norms = of_type(inst, nn.InstanceNorm2d)
    assert len(norms) == 5 and not any(n.affine or n.track_running_stats for n in norms)


def test_unet_skips_bypass_the_bottleneck():
    torch.manual_seed(0)
    net = UNetGenerator(3, 3, depth=4, base_channels=4).eval()
    bottleneck = net.encoder[-1][-1]
    assert isinstance(bottleneck, nn.Conv2d)
    with torch.no_grad():
        bottleneck.weight.zero_()
        bottleneck.bias.zero_()
        a, b = torch.randn(2, 1, 3, 16, 16)
        # The bottleneck now outputs zeros whatever the input, so any dependence on it goes through the skips.
        assert not torch.allclose(net(a), net(b))


@pytest.mark.parametrize(("depth", "n"), [(8, 3), (4, 3), (3, 2), (2, 1), (1, 0)])
def test_unet_dropout_on_the_first_decoder_layers(depth, n):
    net = UNetGenerator(3, 3, depth=depth, base_channels=2)
    assert len(of_type(net, nn.Dropout)) == n
    assert [bool(of_type(layer, nn.Dropout)) for layer in net.decoder] == [k < n for k in range(depth)]
    assert all(d.p == 0.5 for d in of_type(net, nn.Dropout))
    assert not of_type(UNetGenerator(3, 3, depth=depth, base_channels=2, dropout=0.0), nn.Dropout)


def test_unet_dropout_is_on_in_training_and_off_in_eval():
    torch.manual_seed(0)
    net = UNetGenerator(3, 3, depth=4, base_channels=8)
    x = torch.randn(2, 3, 32, 32)
    assert not torch.equal(net(x), net(x))
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(x), net(x))


# ------------------------------------------------------------------------------------------ ResNet


@pytest.mark.parametrize("n_blocks", [6, 9])
@pytest.mark.parametrize(("size", "channels"), [((32, 32), 3), ((64, 48), 1), ((8, 12), 3)])
def test_resnet_output_shape_and_range(n_blocks, size, channels):
    torch.manual_seed(0)
    net = ResnetGenerator(channels, channels, n_blocks=n_blocks, base_channels=4)
    assert net.multiple == 4
    y = net(torch.randn(2, channels, *size) * 3)
    assert y.shape == (2, channels, *size)
    assert y.abs().max() <= 1


@pytest.mark.parametrize("n_blocks", [0, 6, 9])
def test_resnet_structure(n_blocks):
    net = ResnetGenerator(3, 3, n_blocks=n_blocks, base_channels=4)
    blocks = of_type(net, ResnetBlock)
    assert len(blocks) == n_blocks
    assert all(len(of_type(b, nn.ReflectionPad2d)) == 2 for b in blocks)
    pads = of_type(net, nn.ReflectionPad2d)
    assert len(pads) == 2 + 2 * n_blocks and pads[0].padding == (3, 3, 3, 3) and pads[-1].padding == (3, 3, 3, 3)
    convs = of_type(net, nn.Conv2d)
    assert [c.kernel_size[0] for c in convs] == [7, 3, 3] + [3] * 2 * n_blocks + [7]
    assert [c.stride[0] for c in convs[:3]] == [1, 2, 2]
    assert [c.out_channels for c in convs[:3]] == [4, 8, 16] and convs[-1].out_channels == 3
    ups = of_type(net, nn.ConvTranspose2d)
    assert [(u.in_channels, u.out_channels, u.output_padding) for u in ups] == [(16, 8, (1, 1)), (8, 4, (1, 1))]
    assert len(of_type(net, nn.InstanceNorm2d)) == 5 + 2 * n_blocks
    assert isinstance(net.net[-1], nn.Tanh)


def test_resnet_block_is_residual_and_takes_dropout():
    block = ResnetBlock(4, dropout=0.5)
    assert len(of_type(block, nn.Dropout)) == 1
    assert not of_type(ResnetBlock(4), nn.Dropout)
    with torch.no_grad():
        for c in of_type(block, nn.Conv2d):
            c.weight.zero_()
            c.bias.zero_()
        x = torch.randn(1, 4, 8, 8)
        assert torch.equal(block.eval()(x), x)


@pytest.mark.parametrize("size", [(30, 32), (32, 30), (4, 8)])
def test_resnet_rejects_bad_sizes(size):
    net = ResnetGenerator(3, 3, n_blocks=1, base_channels=4)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.randn(1, 3, *size))


def test_resnet_rejects_bad_arguments():
    with pytest.raises(ValueError, match="norm"):
        ResnetGenerator(3, 3, norm="group")
    with pytest.raises(ValueError, match="n_blocks"):
        ResnetGenerator(3, 3, n_blocks=-1)


# ----------------------------------------------------------------------------------------- PatchGAN


def geometry(net: nn.Module) -> tuple[int, int]:
    """(jump, offset) of the last conv's output grid: cell i's window starts at input row i * jump - offset."""
    jump, offset = 1, 0
    for m in of_type(net, nn.Conv2d):
        offset += m.padding[0] * jump
        jump *= m.stride[0]
    return jump, offset


def out_size(net: nn.Module, n: int) -> int:
    for m in of_type(net, nn.Conv2d):
        n = (n + 2 * m.padding[0] - m.kernel_size[0]) // m.stride[0] + 1
    return n


@pytest.mark.parametrize(("n_layers", "field"), [(0, 1), (1, 16), (2, 34), (3, 70), (4, 142), (5, 286)])
def test_patchgan_receptive_fields(n_layers, field):
    net = PatchDiscriminator(3, base_channels=2, n_layers=n_layers)
    assert net.receptive_field == field == receptive_field(net)


def test_receptive_field_counts_strides_and_dilations():
    net = nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2), nn.ReLU(), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3))
    assert receptive_field(net) == 1 + 2 * 2 + 2 * 1 + 2 * 2
    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, (1, 5)))) == 5


@pytest.mark.parametrize(("size", "cells"), [(256, 30), (70, 6), (286, 33)])
def test_patchgan_70_output_map(size, cells):
    net = PatchDiscriminator(6, base_channels=2)
    assert out_size(net, size) == cells  # the arithmetic: 256 -> 128 -> 64 -> 32 -> 31 -> 30
    assert net(torch.randn(2, 6, size, size)).shape == (2, 1, cells, cells)


def test_pixelgan_judges_each_pixel():
    net = PatchDiscriminator(3, base_channels=4, n_layers=0)
    convs = of_type(net, nn.Conv2d)
    assert [(c.kernel_size, c.out_channels) for c in convs] == [((1, 1), 4), ((1, 1), 8), ((1, 1), 1)]
    assert net(torch.randn(2, 3, 10, 7)).shape == (2, 1, 10, 7)


def test_patchgan_structure():
    net = PatchDiscriminator(3, base_channels=64, n_layers=5, norm="instance")
    convs = of_type(net, nn.Conv2d)
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 512, 512, 1]  # width capped at 8 * base
    assert [c.stride[0] for c in convs] == [2, 2, 2, 2, 2, 1, 1]
    assert len(of_type(net, nn.InstanceNorm2d)) == 5 and not of_type(net, nn.Sigmoid)
    with pytest.raises(ValueError, match="norm"):
        PatchDiscriminator(3, norm="none")
    with pytest.raises(ValueError, match="n_layers"):
        PatchDiscriminator(3, n_layers=-1)


@pytest.mark.parametrize("pixel", [(30, 37), (0, 0), (63, 5)])
def test_patchgan_34_sees_exactly_its_window(pixel):
    torch.manual_seed(0)
    # Batch norm in eval mode is a per-channel affine map, so each output cell depends on its window alone
    # (instance norm or training-mode batch norm would spread the image statistics everywhere).
    net = PatchDiscriminator(2, base_channels=4, n_layers=2).double().eval()
    field, (jump, offset) = net.receptive_field, geometry(net)
    x = torch.randn(1, 2, 64, 64, dtype=torch.float64)
    y = x.clone()
    y[0, :, pixel[0], pixel[1]] += 5.0
    with torch.no_grad():
        changed = (net(x) - net(y))[0, 0].abs() > 1e-12
    assert changed.any()
    rows, cols = changed.shape
    inside = torch.tensor([[i * jump - offset <= pixel[0] < i * jump - offset + field
                            and j * jump - offset <= pixel[1] < j * jump - offset + field
                            for j in range(cols)] for i in range(rows)])
    assert torch.equal(changed, inside)


# --------------------------------------------------------------------------------- parameter counts


def test_unet_256_parameter_count():
    expected = (
        # encoder: C64 (no norm, bias), C128, C256, C512 x 4 with batch norm (no bias), bottleneck (no norm, bias)
        conv(3, 64, 4, True) + conv(64, 128, 4, False) + bn(128) + conv(128, 256, 4, False) + bn(256)
        + conv(256, 512, 4, False) + bn(512) + 3 * (conv(512, 512, 4, False) + bn(512)) + conv(512, 512, 4, True)
        # decoder: 512 -> 512, then skip-doubled inputs, output layer with a bias and tanh
        + conv(512, 512, 4, False) + bn(512) + 3 * (conv(1024, 512, 4, False) + bn(512))
        + conv(1024, 256, 4, False) + bn(256) + conv(512, 128, 4, False) + bn(128)
        + conv(256, 64, 4, False) + bn(64) + conv(128, 3, 4, True)
    )
    assert expected == 54_414_531
    assert count(on_meta(lambda: UNetGenerator(3, 3))) == expected
    # The authors' code reports 54.414 M: it drops the first and bottleneck conv biases too (576 fewer).
    assert abs(expected - 54_414e3) / 54_414e3 < 1e-3


def test_resnet_9_parameter_count():
    # Instance norm without affine has no parameters, so every conv keeps its bias.
    expected = (
        conv(3, 64, 7, True) + conv(64, 128, 3, True) + conv(128, 256, 3, True)
        + 9 * 2 * conv(256, 256, 3, True)
        + conv(256, 128, 3, True) + conv(128, 64, 3, True) + conv(64, 3, 7, True)
    )
    assert expected == 11_378_179
    assert count(on_meta(lambda: ResnetGenerator(3, 3))) == expected


@pytest.mark.parametrize(("c_in", "norm", "expected", "reported"), [
    (6, "batch", 2_768_705, 2.769e6),  # pix2pix D: condition and image concatenated
    (3, "batch", 2_765_633, 2.765e6),
    (3, "instance", 2_764_737, 2.765e6),  # CycleGAN D
])
def test_patchgan_70_parameter_count(c_in, norm, expected, reported):
    affine = norm == "batch"  # batch norm brings a scale and shift, and its convs drop their bias
    hidden = sum(conv(a, b, 4, not affine) + (bn(b) if affine else 0) for a, b in [(64, 128), (128, 256), (256, 512)])
    by_hand = conv(c_in, 64, 4, True) + hidden + conv(512, 1, 4, True)
    assert by_hand == expected
    assert count(on_meta(lambda: PatchDiscriminator(c_in, norm=norm))) == expected
    assert abs(expected - reported) / reported < 1e-3
