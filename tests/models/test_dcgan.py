import pytest
import torch

import gankit
from gankit.config import resolve_config
from gankit.errors import ConfigError
from gankit.models import DataInfo
from gankit.models.dcgan import DCGAN

from ..conftest import TINY


def make(img_size=32, channels=1, base=8):
    cfg = resolve_config({"model": {"name": "dcgan", "base_channels": base, "z_dim": 10}})
    return DCGAN(cfg.model, DataInfo("t", img_size, channels))


@pytest.mark.parametrize("size, channels", [(8, 1), (16, 3), (32, 1), (64, 3)])
def test_shapes_and_range(size, channels):
    model = make(size, channels)
    x = model.generate(3)
    assert x.shape == (3, channels, size, size) and x.abs().max() <= 1
    assert model.D(x).shape == (3,)


def test_paper_architecture_64():
    """64x64, base 128: the paper's 1024-512-256-128 generator and its mirror, BN except G-out and D-in."""
    model = make(64, 3, base=128)
    convT = [m for m in model.G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [m.out_channels for m in convT] == [1024, 512, 256, 128, 3]
    conv = [m for m in model.D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in conv] == [128, 256, 512, 1024, 1]
    assert isinstance(model.D.body[1], torch.nn.LeakyReLU) and model.D.body[1].negative_slope == 0.2
    assert isinstance(model.G.net[-1], torch.nn.Tanh)
    w = torch.cat([m.weight.flatten() for m in convT])
    assert abs(w.std().item() - 0.02) < 0.001 and abs(w.mean().item()) < 0.001


def test_28_needs_a_power_of_two():
    with pytest.raises(ConfigError, match="power of two"):
        make(28)


def test_train_step_moves_both_networks_and_reports_finite_losses():
    model = make(16)
    model.optimizers = model.configure_optimizers()
    G0 = [p.clone() for p in model.G.parameters()]
    D0 = [p.clone() for p in model.D.parameters()]
    batch = {"x": torch.rand(4, 1, 16, 16) * 2 - 1}
    stats = model.train_step(lambda: batch, 0)
    assert set(stats) == {"D/loss", "G/loss"} and all(torch.isfinite(v) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(G0, model.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(D0, model.D.parameters()))
    assert all(p.grad is None or p.requires_grad for p in model.D.parameters())


def test_sample_reproducible_and_save_load_identical(tmp_path):
    run = gankit.train("dcgan", "digits", overrides=TINY, steps=2, out=tmp_path / "run", device="cpu",
                       progress=False)
    a = run.model.sample(4, seed=1)
    assert a.shape == (4, 1, 16, 16) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, run.model.sample(4, seed=1))
    gankit.export(tmp_path / "run", tmp_path / "m")
    assert torch.equal(a, gankit.load(tmp_path / "m").sample(4, seed=1))


def test_mnist_28_padded_to_32(tmp_path):
    from ..conftest import shared

    run = gankit.train("dcgan", f"mnist:{shared('mnist')}", overrides=[*TINY, "data.img_size=32",
                       "data.fit=pad"], steps=1, out=tmp_path / "run", device="cpu", progress=False)
    assert run.model.sample(2).shape == (2, 1, 32, 32)
