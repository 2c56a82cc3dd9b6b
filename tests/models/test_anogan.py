import pytest
import torch

import gankit
from gankit.config import resolve_config
from gankit.models import DataInfo
from gankit.models.anogan import AnoGAN


def make(**model):
    cfg = resolve_config({"model": {"name": "anogan", "base_channels": 8, "z_dim": 8, "encoder_hidden": 32,
                                    **model}})
    return AnoGAN(cfg.model, DataInfo("t", 16, 1))


def test_gan_stage_then_encoder_stage_each_update_only_their_networks():
    model = make()
    model.check(resolve_config({"model": {"name": "anogan"}, "train": {"steps": 8}}).train, 1000)
    assert model.gan_steps == 6  # the last quarter trains E
    model.optimizers = model.configure_optimizers()
    batch = {"x": torch.rand(8, 1, 16, 16) * 2 - 1}

    def snapshot(prefix):
        return {k: v.clone() for k, v in model.state_dict().items() if k.startswith(prefix)}

    E0 = snapshot("E.")
    stats = model.train_step(lambda: batch, 0)
    assert set(stats) == {"D/loss", "G/loss"} and all(torch.equal(v, E0[k]) for k, v in snapshot("E.").items())
    G0, D0, E0 = snapshot("G."), snapshot("D."), snapshot("E.")
    model.train()
    stats = model.train_step(lambda: batch, 6)
    assert set(stats) == {"E/loss"} and torch.isfinite(stats["E/loss"])
    assert all(torch.equal(v, G0[k]) for k, v in snapshot("G.").items())  # batch-norm statistics included
    assert all(torch.equal(v, D0[k]) for k, v in snapshot("D.").items())
    assert any(not torch.equal(v, E0[k]) for k, v in snapshot("E.").items())


def test_latent_search_lowers_its_objective_and_treats_images_independently():
    torch.manual_seed(0)
    model = make(search_steps=60).eval()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    z0 = torch.randn(3, 8)
    with torch.no_grad():
        start = model.search_objective(x, z0, model.D.features(x))
    z, score = model.latent_search(x, z0)
    assert (score < start).all() and not torch.equal(z, z0)
    _, alone = model.latent_search(x[1:2], z0[1:2])
    assert torch.allclose(alone, score[1:2], rtol=1e-4)
    assert model.training is False


@pytest.mark.slow
def test_scores_are_higher_for_clearly_out_of_distribution_images(tmp_path):
    """A short fit (600 steps, tiny nets) on the digits' 0s and 1s; then held-out 0s and 1s against noise and the
    same digits inverted (a white background): both scorers must rank the strangers higher."""
    run = gankit.train("anogan", "digits", overrides=[
        "model.base_channels=8", "model.z_dim=8", "model.encoder_hidden=64", "data.img_size=16",
        "train.batch_size=32", "train.tensorboard=false", "data.exclude_classes=[2, 3, 4, 5, 6, 7, 8, 9]",
        "model.search_steps=100", "model.encoder_share=0.3"], steps=600, out=tmp_path / "r", device="cpu",
        progress=False).model
    test = gankit.data.load_dataset(gankit.config.DataConfig(spec="digits", img_size=16, split="test"))
    normal = (test.images.float() / 127.5 - 1)[test.labels <= 1][:20]
    strangers = {"noise": torch.rand(20, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1,
                 "inverted": -normal}
    for scorer in ("encoder", "latent"):
        base = run.anomaly_scores(normal, scorer)[0].mean()
        for name, x in strangers.items():
            assert run.anomaly_scores(x, scorer)[0].mean() > 1.5 * base, (scorer, name)


def test_residual_map_range():
    model = make()
    x = torch.ones(2, 1, 16, 16)
    assert torch.equal(model.residual_map(x, -x), torch.ones(2, 1, 16, 16))
    assert torch.equal(model.residual_map(x, x), torch.zeros(2, 1, 16, 16))


@pytest.mark.parametrize("share, steps", [(0.5, 1)])
def test_too_few_steps_for_the_gan_is_refused(share, steps):
    from gankit.errors import ConfigError

    model = make(encoder_share=share)
    with pytest.raises(ConfigError, match="no step for the GAN"):
        model.check(resolve_config({"model": {"name": "anogan"}, "train": {"steps": steps}}).train, 1000)
