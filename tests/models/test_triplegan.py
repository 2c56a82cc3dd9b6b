import pytest
import torch

from gankit.config import resolve_config
from gankit.errors import ConfigError
from gankit.models import DataInfo
from gankit.models.triplegan import TripleGAN, entropy, imbalance


def make(**model):
    cfg = resolve_config({"model": {"name": "triplegan", "z_dim": 8, "g_width": 32, "base_channels": 8, **model}})
    return TripleGAN(cfg.model, DataInfo("t", 16, 1, num_classes=4))


def semi_batch(n=8):
    return {"x": torch.rand(n, 1, 16, 16) * 2 - 1, "x_l": torch.rand(n, 1, 16, 16) * 2 - 1,
            "label_l": torch.arange(n) % 4}


def test_c_outputs_a_distribution_and_g_draws_by_label():
    model = make().eval()
    p = model.classify_batch(torch.rand(5, 1, 16, 16) * 2 - 1)
    assert p.shape == (5, 4) and (p >= 0).all() and torch.allclose(p.sum(1), torch.ones(5))
    assert model.generate(6, label=2).shape == (6, 1, 16, 16)
    images, cols = model.sample_grid(16, None, model.G, None)
    assert images.shape == (16, 1, 16, 16) and cols == 4


@pytest.mark.parametrize("supervised", [False, True])
def test_train_step_moves_c_g_and_d(supervised):
    torch.manual_seed(0)
    model = make()
    model.optimizers = model.configure_optimizers()
    assert set(model.optimizers) == {"C", "D", "G"}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = {"x": torch.rand(8, 1, 16, 16) * 2 - 1, "label": torch.arange(8) % 4} if supervised else semi_batch()
    stats = model.train_step(lambda: batch, 0)
    assert set(stats) == {"D/loss", "G/loss", "C/loss", "C/labelled"}
    assert all(torch.isfinite(v) for v in stats.values())
    for net in ("G.", "D.", "C."):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith(net))


def test_pseudo_discriminative_loss_starts_after_rp_after_epochs(monkeypatch):
    import gankit.models.triplegan as tg

    model = make(rp_after_epochs=2.5, pretrain=0.0)
    model.check(resolve_config({"model": {"name": "triplegan"}, "train": {"steps": 100, "batch_size": 8}}).train,
                n_images=16)
    assert model.rp_step == 5  # two steps per pass over the 16 images
    model.optimizers = model.configure_optimizers()
    calls = []
    real = tg.categorical_code_loss
    monkeypatch.setattr(tg, "categorical_code_loss", lambda logits, y: calls.append(len(y)) or real(logits, y))
    assert "C/pairs_of_G" not in model.train_step(lambda: semi_batch(), 4)
    assert len(calls) == 1  # R_L only
    stats = model.train_step(lambda: semi_batch(), 5)
    assert len(calls) == 3 and torch.isfinite(stats["C/pairs_of_G"])  # R_L and R_P


def test_rp_waits_for_passes_over_the_data_however_long_the_run():
    cfg = resolve_config({"model": {"name": "triplegan"}, "train": {"steps": 3000}})
    model = make()
    model.check(cfg.train, n_images=10_000)  # MNIST's 10k training images at batch 100: 100 steps a pass
    assert (model.game_step, model.rp_step) == (600, 600 + 299 * 100)  # the paper's code: R_P from game epoch 300


def test_rp_from_is_retired_with_a_pointer_and_old_models_still_load():
    from gankit.config import drop_retired

    with pytest.raises(ConfigError, match="rp_after_epochs"):
        resolve_config({"model": {"name": "triplegan", "rp_from": 0.3}})
    tree, dropped = drop_retired({"model": {"name": "triplegan", "rp_from": 0.3, "alpha_p": 0.2}})
    assert resolve_config(tree).model.alpha_p == 0.2 and len(dropped) == 1 and "rp_from" in dropped[0]
    assert drop_retired({"model": {"name": "dcgan"}}) == ({"model": {"name": "dcgan"}}, [])


def test_c_trains_alone_first_then_the_game_and_rp_count_from_there():
    torch.manual_seed(0)
    model = make(pretrain=0.2, rp_after_epochs=4)
    model.check(resolve_config({"model": {"name": "triplegan"}, "train": {"steps": 20, "batch_size": 8}}).train,
                n_images=16)
    assert (model.game_step, model.rp_step) == (4, 12)  # R_P after 4 passes of 2 steps from the game's start
    model.optimizers = model.configure_optimizers()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    stats = model.train_step(lambda: semi_batch(), 3)
    assert set(stats) == {"C/loss", "C/labelled"}
    moved = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert moved == {"C", "C_avg"}  # D and G wait for the game
    assert set(model.train_step(lambda: semi_batch(), 4)) == {"D/loss", "G/loss", "C/loss", "C/labelled"}


def test_classifier_is_the_running_average_of_c():
    torch.manual_seed(0)
    model = make(c_average=0.25)
    model.optimizers = model.configure_optimizers()
    start = model.C_avg.net[0].weight.clone()
    model.train_step(lambda: semi_batch(), 0)
    w, w_avg = model.C.net[0].weight, model.C_avg.net[0].weight
    assert torch.allclose(w_avg, start + 0.25 * (w - start), atol=1e-6)  # a quarter of the way to C's new weights
    model.eval()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    assert torch.allclose(model.classify_batch(x), torch.softmax(model.C_avg(x), 1))
    assert not torch.allclose(model.classify_batch(x), torch.softmax(model.C(x), 1))


def test_imbalance_closed_form():
    K = 4
    assert imbalance(torch.zeros(5, K)).item() == pytest.approx(torch.log(torch.tensor(float(K))).item())
    spread = torch.eye(K) * 50  # each image sure of a different class: the mean is uniform
    one_class = torch.zeros(K, K)
    one_class[:, 0] = 50
    assert imbalance(spread).item() == pytest.approx(imbalance(torch.zeros(5, K)).item(), abs=1e-4)
    assert imbalance(one_class).item() > 3 * imbalance(spread).item()


def test_entropy_closed_form():
    assert entropy(torch.zeros(3, 4)).item() == pytest.approx(torch.log(torch.tensor(4.0)).item())
    assert entropy(torch.tensor([[100.0, 0, 0, 0]])).item() == pytest.approx(0, abs=1e-6)


def test_needs_labelled_images():
    cfg = resolve_config({"model": {"name": "triplegan"}})
    with pytest.raises(ConfigError, match="has no labels"):
        TripleGAN(cfg.model, DataInfo("folder", 16, 1))


@pytest.mark.parametrize("weight_norm", [True, False])
def test_g_output_layer_is_the_papers_weight_normalised_one_or_a_plain_one(weight_norm):
    from gankit.nn import UnitNormLinear

    torch.manual_seed(0)
    model = make(g_weight_norm=weight_norm)
    out = model.G.out
    assert isinstance(out, UnitNormLinear) == weight_norm
    if weight_norm:  # the gain starts at 1, whatever initialisation gave the directions
        assert torch.equal(out.scale, torch.ones_like(out.scale))
    model.optimizers = model.configure_optimizers()
    for step in range(2):
        stats = model.train_step(lambda: semi_batch(), step)
    assert all(torch.isfinite(v) for v in stats.values())
    if weight_norm:  # G's optimiser trains the gain
        assert not torch.equal(out.scale, torch.ones_like(out.scale))


@pytest.mark.parametrize("unit_norm", [True, False])
def test_d_is_the_papers_unit_norm_mlp_or_a_plain_one(unit_norm):
    from gankit.nn import UnitNormLinear

    torch.manual_seed(0)
    model = make(d_unit_norm=unit_norm)
    assert isinstance(model.D.head, UnitNormLinear) == unit_norm
    model.optimizers = model.configure_optimizers()
    stats = model.train_step(lambda: semi_batch(), 0)
    assert all(torch.isfinite(v) for v in stats.values())
