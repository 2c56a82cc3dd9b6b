import pytest
import torch

import gankit
from gankit.config import resolve_config
from gankit.errors import ConfigError, GankitError
from gankit.models import DataInfo
from gankit.models.cgan import CGAN
from gankit.trained import Model


def make():
    cfg = resolve_config({"model": {"name": "cgan", "base_channels": 8, "z_dim": 4}})
    return CGAN(cfg.model, DataInfo("t", 16, 1, num_classes=10))


def test_label_reaches_both_players():
    model = make().eval()
    z = torch.randn(1, 4).repeat(2, 1)
    y = torch.tensor([1, 7])
    out = model.G(torch.cat([z, model.onehot(y)], 1))
    assert not torch.equal(out[0], out[1])  # same noise, different labels, different images
    x = torch.randn(2, 1, 16, 16)
    assert model.with_label(x, y).shape == (2, 11, 16, 16)
    assert model.with_label(x, y)[1, 1 + 7].eq(1).all() and model.with_label(x, y)[1, 1 + 1].eq(0).all()


def test_sample_by_label_and_grid_rows():
    model = Model(make())
    assert model.sample(3, seed=0, label=4).shape == (3, 1, 16, 16)
    with pytest.raises(GankitError, match="between 0 and 9"):
        model.sample(3, label=10)
    images, cols = model.sample_grid(40, torch.Generator().manual_seed(0), model.G, None)
    assert cols == 4 and images.shape[0] == 40  # ten rows (one per class) of four


def test_needs_labels():
    cfg = resolve_config({"model": {"name": "cgan"}})
    with pytest.raises(ConfigError, match="needs labelled data"):
        CGAN(cfg.model, DataInfo("ring8", 0, 0, dim=2))


def test_cli_label(tmp_path):
    from gankit.cli import main

    from ..conftest import TINY

    gankit.train("cgan", "digits", overrides=TINY, steps=1, out=tmp_path / "r", device="cpu", progress=False)
    assert main(["sample", str(tmp_path / "r"), "--label", "3", "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["sample", str(tmp_path / "r"), "--label", "12", "--out", str(tmp_path / "s.png")]) == 2
