import pytest
import torch

import gankit
from gankit.config import resolve_config
from gankit.errors import ConfigError, GankitError
from gankit.models import DataInfo
from gankit.models.infogan import InfoGAN
from gankit.trained import Model

from ..conftest import TINY


def make(**model):
    cfg = resolve_config({"model": {"name": "infogan", "base_channels": 8, "hidden": 32, "q_hidden": 16,
                                    "z_dim": 6, **model}})
    return InfoGAN(cfg.model, DataInfo("t", 16, 1))


def rand(seed=0):
    g = torch.Generator().manual_seed(seed)
    return lambda n, d: torch.rand(n, d, generator=g)


def test_codes_are_drawn_from_their_priors_and_laid_out_in_order():
    model = make(cat_codes=[3, 4], cont_codes=2)
    z, cat, cont = model.draw(2000, rand())
    assert z.shape == (2000, 6) and -1 <= z.min() and z.max() < 1
    assert cat.shape == (2000, 2) and cat.dtype == torch.int64
    assert set(cat[:, 0].tolist()) == {0, 1, 2} and set(cat[:, 1].tolist()) == {0, 1, 2, 3}
    assert cont.shape == (2000, 2) and -1 <= cont.min() and cont.max() < 1 and abs(cont.mean()) < 0.05
    latent = model.latent(z, cat, cont)
    assert latent.shape == (2000, 6 + 3 + 4 + 2)
    assert torch.equal(latent[:, :6], z) and torch.equal(latent[:, -2:], cont)
    assert torch.equal(latent[:, 6:9].argmax(1), cat[:, 0]) and torch.equal(latent[:, 9:13].argmax(1), cat[:, 1])
    assert torch.equal(latent[:, 6:13].sum(1), torch.full((2000,), 2.0))


def test_code_losses_are_minimal_when_q_reads_the_codes_exactly(monkeypatch):
    model = make(cat_codes=[5], cont_codes=2)
    _, cat, cont = model.draw(32, rand())
    exact = ([torch.nn.functional.one_hot(cat[:, 0], 5).float() * 60], cont.clone(), None)
    monkeypatch.setattr(model, "read_codes", lambda h: exact)
    loss_cat, loss_cont = model.code_losses(torch.zeros(32, 32), cat, cont)
    assert loss_cat < 1e-6 and loss_cont == pytest.approx(2 * 0.9189385, rel=1e-5)  # 2 x 0.5 log(2 pi)
    off = ([torch.zeros(32, 5)], cont + 0.5, None)
    monkeypatch.setattr(model, "read_codes", lambda h: off)
    worse_cat, worse_cont = model.code_losses(torch.zeros(32, 32), cat, cont)
    assert worse_cat > loss_cat + 1 and worse_cont > loss_cont + 0.2


def test_train_step_moves_g_d_and_q_and_q_learns_the_codes():
    torch.manual_seed(0)
    model = make(cat_codes=[4], lr_D=1e-3)
    model.optimizers = model.configure_optimizers()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = {"x": torch.rand(16, 1, 16, 16) * 2 - 1}
    first = model.train_step(lambda: batch, 0)
    assert set(first) == {"D/loss", "G/loss", "Q/cat", "Q/cont"} and all(torch.isfinite(v) for v in first.values())
    for net in ("G.", "D.", "Q."):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith(net))
    for step in range(1, 30):
        last = model.train_step(lambda: batch, step)
    assert last["Q/cat"] < first["Q/cat"] - 0.25  # Q (with G's help) reads the category back better than chance


def test_no_categorical_code_and_several_codes():
    model = make(cat_codes=[], cont_codes=3)
    assert model.code_names() == ["c1", "c2", "c3"] and model.categorical_codes() == {}
    images, nrow = model.explore_grid("c2", torch.linspace(-2, 2, 5), 3, None, None)
    assert images.shape == (15, 1, 16, 16) and nrow == 5
    assert make(cat_codes=[3, 4], cont_codes=0).code_names() == ["c1", "c2"]
    with pytest.raises(ConfigError, match="at least one code"):
        make(cat_codes=[], cont_codes=0)
    with pytest.raises(ConfigError, match="2 to 1000"):
        make(cat_codes=[1])


def test_explore_grids():
    model = make(cat_codes=[4], cont_codes=2).eval()
    images, nrow = model.explore_grid("c1", None, 3, torch.Generator().manual_seed(0), None)
    assert images.shape == (12, 1, 16, 16) and nrow == 3  # a row per category, three noise draws across
    images, nrow = model.explore_grid("c3", torch.linspace(-2, 2, 7), 3, torch.Generator().manual_seed(0), None)
    assert images.shape == (4 * 7, 1, 16, 16) and nrow == 7  # a row per category of c1, the values across
    with pytest.raises(GankitError, match="unknown code 'c9'"):
        model.explore_grid("c9", None, 3, None, None)


class Recorder(torch.nn.Module):
    """A stand-in G that keeps the latents it is given."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, latent):
        self.seen.append(latent)
        return torch.zeros(len(latent), 1, 16, 16)


def test_explore_varies_only_the_code_asked():
    model = make(cat_codes=[3], cont_codes=2).eval()
    G = Recorder()
    seen = G.seen
    model.explore_grid("c2", torch.tensor([-2.0, 0.0, 2.0]), 1, torch.Generator().manual_seed(0), G)
    latent = seen[-1].view(3, 3, -1)  # rows (categories) x values
    assert torch.equal(latent[:, :, 6 + 3], torch.tensor([-2.0, 0.0, 2.0]).expand(3, 3))  # c2 across each row
    assert (latent[:, :, 6 + 3 + 1] == 0).all()  # c3 held at 0
    assert torch.equal(latent[:, :, 6:9].argmax(2), torch.arange(3)[:, None].expand(3, 3))  # c1: row's category
    assert (latent[:, :1, :6] == latent[:, :, :6]).all()  # noise fixed along each row
    model.explore_grid("c1", None, 2, torch.Generator().manual_seed(0), G)
    latent = seen[-1].view(3, 2, -1)  # categories x columns
    assert (latent[:1, :, :6] == latent[:, :, :6]).all() and (latent[:1, :, 9:] == latent[:, :, 9:]).all()


def test_encode_and_decode():
    model = Model(make(cat_codes=[4], cont_codes=2).eval())
    codes = model.encode(torch.rand(5, 1, 20, 20))  # another size: resized to the model's
    assert codes.shape == (5, 3)
    assert torch.equal(codes[:, 0], codes[:, 0].round()) and 0 <= codes[:, 0].min() and codes[:, 0].max() < 4
    assert model.reconstruct(torch.rand(5, 3, 16, 16)).shape == (5, 1, 16, 16)  # colour input, grayscale model


def test_trains_from_the_api_and_reloads(tmp_path):
    run = gankit.train("infogan", "digits", overrides=[*TINY, "model.hidden=32"], steps=2, out=tmp_path / "r",
                       device="cpu", progress=False)
    gankit.export(tmp_path / "r", tmp_path / "m")
    x = torch.rand(3, 1, 16, 16)
    assert torch.equal(run.model.encode(x), gankit.load(tmp_path / "m").encode(x))
    assert (tmp_path / "r" / "samples" / "latest.png").is_file()
