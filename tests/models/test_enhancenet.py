"""EnhanceNet: the paper's generator (bicubic skip, nearest upsampling), D, the per-patch texture loss, training."""

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.errors import ConfigError
from gankit.losses.perceptual import patch_grams, texture_loss
from gankit.models import DataInfo
from gankit.models.enhancenet import EnhanceNet, EnhanceNetConfig, EnhanceNetDiscriminator, EnhanceNetGenerator
from gankit.nn.resize import imresize

from ..conftest import shared

INFO = DataInfo("sr", 32, 3, kind="sr", in_channels=3, scale=4)


def test_the_papers_generator_has_852867_parameters():
    # head 3*64*9+64, 10 blocks of two 64->64 convs, two upsampling convs, a 64->64 conv and the 64->3 output conv
    G = EnhanceNetGenerator(3, 4)
    assert sum(p.numel() for p in G.parameters()) == 1792 + 20 * 36928 + 2 * 36928 + 36928 + 1731 == 852867
    assert not any(isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.PixelShuffle)) for m in G.modules())


def test_a_zero_output_conv_gives_exactly_the_bicubic_upsampling(monkeypatch):
    G = EnhanceNetGenerator(3, 4, width=8, blocks=2)
    torch.nn.init.zeros_(G.out.weight)
    torch.nn.init.zeros_(G.out.bias)
    modes = []
    interpolate = F.interpolate
    monkeypatch.setattr(F, "interpolate", lambda *a, **k: modes.append(k.get("mode")) or interpolate(*a, **k))
    x = torch.rand(2, 3, 9, 7)
    y = G(x)
    assert y.shape == (2, 3, 36, 28)
    assert torch.equal(y, imresize(x, scale=4))
    assert modes == ["nearest", "nearest"]  # each x2 stage upsamples by nearest neighbour, then convolves


def test_discriminator_takes_the_target_size():
    assert EnhanceNetDiscriminator(3, 64)(torch.rand(2, 3, 64, 64)).shape == (2,)


def test_texture_loss_compares_patches_not_whole_images():
    f = torch.rand(1, 4, 32, 32)
    swapped = torch.cat([f[..., 16:, :], f[..., :16, :]], -2)  # the same patches in other places
    gram = lambda t: t.flatten(2) @ t.flatten(2).transpose(1, 2)  # noqa: E731
    assert torch.allclose(gram(f), gram(swapped), rtol=1e-5)  # a global Gram cannot tell them apart
    assert texture_loss({"a": f}, {"a": swapped}, {"a": 1.0}, patch=16) > 0
    shuffled = f.reshape(1, 4, 2, 16, 2, 16)[:, :, :, torch.randperm(16)][:, :, :, :, :, torch.randperm(16)]
    assert texture_loss({"a": f}, {"a": shuffled.reshape(1, 4, 32, 32)}, {"a": 1.0}, patch=16) < 1e-3 * \
        texture_loss({"a": f}, {"a": swapped}, {"a": 1.0}, patch=16)  # a permutation inside each patch: same Grams
    assert patch_grams(f, 16).shape == (1, 4, 4, 4)


def test_config_checks_the_loss_letters():
    with pytest.raises(ConfigError, match="E, P, A, T"):
        EnhanceNetConfig(losses="EX")
    with pytest.raises(ConfigError, match="super-resolution data"):
        EnhanceNet(EnhanceNetConfig(losses="E"), DataInfo("digits", 32, 1))


@pytest.mark.parametrize("losses", ["E", "EA"])
def test_trains_upscales_and_evaluates(losses, tmp_path):
    root = shared("sr")
    run = gankit.train("enhancenet", f"cbsd68:{root}", overrides=[f"model.losses={losses}", "model.width=8",
                       "model.blocks=1", "data.img_size=32", "train.tensorboard=false"], steps=2, batch_size=2,
                       out=tmp_path / "r", device="cpu", progress=False)
    x = torch.rand(1, 3, 11, 13)
    y = run.model.upscale(x)
    assert y.shape == (1, 3, 44, 52) and 0 <= y.min() and y.max() <= 1
    gankit.export(tmp_path / "r", tmp_path / "m")
    assert torch.equal(gankit.load(tmp_path / "m").upscale(x), y)
    from gankit.evaluate import evaluate

    m = evaluate(tmp_path / "r", n=2, progress=False)
    assert m["images"] == 2 and m["scale"] == 4 and m["psnr_y_bicubic"] > 20


def test_pat_trains_with_the_feature_net(tmp_path):
    # The random feature net: the same network without ImageNet weights, so this runs without the package.
    run = gankit.train("enhancenet", f"cbsd68:{shared('sr')}", overrides=[
        "model.losses=PAT", "model.feature_net=random", "model.width=8", "model.blocks=1", "data.img_size=64",
        "train.tensorboard=false"], steps=2, batch_size=2, out=tmp_path / "r", device="cpu", progress=False)
    row = (tmp_path / "r" / "stats.jsonl").read_text().splitlines()[-1]
    assert all(f'"G/{k}"' in row for k in "PAT") and "nan" not in row
    assert all(k.startswith(("G.", "D.")) for k in run.model.state_dict())  # the feature net is not saved


def test_a_crop_the_texture_patches_do_not_tile_is_refused():
    with pytest.raises(ConfigError, match="multiple of 64"):
        EnhanceNet(EnhanceNetConfig(losses="PAT"), DataInfo("sr", 96, 3, kind="sr", in_channels=3, scale=4))
    EnhanceNet(EnhanceNetConfig(losses="EA"), DataInfo("sr", 96, 3, kind="sr", in_channels=3, scale=4))  # no T
