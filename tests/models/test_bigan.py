import pytest
import torch

from gankit.config import resolve_config
from gankit.models import DataInfo
from gankit.models.bigan import BiGAN


def make(size=16, channels=1, **model):
    cfg = resolve_config({"model": {"name": "bigan", "z_dim": 8, "width": 32, "base_channels": 8, **model}})
    return BiGAN(cfg.model, DataInfo("t", size, channels))


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("size, channels", [(16, 1), (28, 1), (32, 3)])
def test_shapes(arch, size, channels):
    model = make(size, channels, arch=arch)
    x = model.generate(4)
    assert x.shape == (4, channels, size, size) and x.abs().max() <= 1
    z = model.encode_batch(x)
    assert z.shape == (4, 8)
    assert model.D(x, z).shape == (4,)


def test_joint_discriminator_sees_both_x_and_z():
    model = make().eval()
    x, z = torch.rand(4, 1, 16, 16) * 2 - 1, torch.rand(4, 8) * 2 - 1
    base = model.D(x, z)
    assert not torch.allclose(base, model.D(x, -z)) and not torch.allclose(base, model.D(-x, z))


@pytest.mark.parametrize("encoder", ["deterministic", "gaussian"])
def test_train_step_moves_every_network_and_leaves_d_grads_alone(encoder):
    torch.manual_seed(0)
    model = make(encoder=encoder)
    model.optimizers = model.configure_optimizers()
    assert set(model.optimizers) == {"D", "EG"}
    assert model.optimizers["EG"].defaults["weight_decay"] == 2.5e-5  # the paper's
    before = {k: v.clone() for k, v in model.state_dict().items()}
    stats = model.train_step(lambda: {"x": torch.rand(8, 1, 16, 16) * 2 - 1}, 0)
    assert set(stats) == {"D/loss", "EG/loss"} and all(torch.isfinite(v) for v in stats.values())
    for net in ("G.", "E.", "D."):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith(net))
    assert all(p.grad is None or p.requires_grad for p in model.D.parameters())


def test_gaussian_encoder_encodes_its_mean():
    model = make(encoder="gaussian").eval()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    assert model.E(x).shape == (3, 16)
    with torch.no_grad():
        mean = model.E(x)[:, :8]
        assert torch.equal(model.encode_batch(x), mean)
        assert not torch.equal(model.encoding(x, torch.ones(3, 8)), mean)


def test_sample_grid_shows_samples_then_reconstructions():
    model = make().eval()
    batch = {"x": torch.rand(8, 1, 16, 16) * 2 - 1}
    with torch.no_grad():
        images, nrow = model.sample_grid(64, torch.Generator().manual_seed(0), model.G, lambda: batch)
    assert nrow == 8 and images.shape == (64, 1, 16, 16)
    assert torch.equal(images[48], batch["x"][0]) and torch.equal(images[50], batch["x"][1])  # x, G(E(x)) pairs


def test_vector_data_is_refused():
    from gankit.errors import ConfigError

    cfg = resolve_config({"model": {"name": "bigan"}})
    with pytest.raises(ConfigError, match="vector data"):
        BiGAN(cfg.model, DataInfo("ring8", 0, 0, dim=2))
