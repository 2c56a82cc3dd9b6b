"""Every registered system, with a tiny config: it trains, its losses are finite, its weights move, it samples
in range, and save/load gives identical outputs."""

import pytest
import torch

import gankit
from gankit.config import default_config, resolve_config
from gankit.registry import MODELS

from ..conftest import TINY

VECTOR_OK = {"gan", "lsgan", "wgan", "wgan-gp"}
# Image-to-image systems take paired or unpaired images and translate rather than sample: their smoke test is
# tests/models/test_translation.py (pix2pix, CycleGAN) and tests/models/test_stargan.py; EnhanceNet's (upscale) is
# tests/models/test_enhancenet.py.
TRANSLATION = {"pix2pix", "cyclegan", "stargan"}
SAMPLERS = sorted(name for name in MODELS.names() if "sample" in MODELS.get(name).tasks)


def test_every_system_without_a_sampler_is_tested_elsewhere():
    assert set(MODELS.names()) - set(SAMPLERS) == TRANSLATION | {"enhancenet", "simgan"}


@pytest.mark.parametrize("name", SAMPLERS)
def test_trains_samples_and_reloads(name, tmp_path):
    before = gankit.train(name, "digits", overrides=TINY, steps=1, out=tmp_path / "a", device="cpu",
                          progress=False).model
    w0 = {k: v.clone() for k, v in before.state_dict().items()}
    run = gankit.resume(tmp_path / "a", steps=3, progress=False)
    moved = [k for k, v in run.model.state_dict().items() if v.is_floating_point() and not torch.equal(v, w0[k])]
    assert any(k.startswith("G.") for k in moved) and any(k.startswith("D.") for k in moved)
    rows = (tmp_path / "a" / "stats.jsonl").read_text().splitlines()
    assert rows and "nan" not in rows[-1].lower() and "inf" not in rows[-1].lower()
    x = run.model.sample(6, seed=0)
    assert x.shape == (6, 1, 16, 16) and 0 <= x.min() and x.max() <= 1
    gankit.export(tmp_path / "a", tmp_path / "m")
    assert torch.equal(gankit.load(tmp_path / "m").sample(6, seed=0), x)


def test_translation_systems_are_the_ones_tested_elsewhere():
    assert {name for name in MODELS.names() if "translate" in MODELS.get(name).tasks} == TRANSLATION


@pytest.mark.parametrize("name", MODELS.names())
def test_config_round_trip(name):
    cfg = default_config(name)
    assert resolve_config(yaml_load(cfg.to_yaml())) == cfg


def yaml_load(text):
    import yaml

    return yaml.safe_load(text)


@pytest.mark.parametrize("name", sorted(VECTOR_OK))
def test_vector_data(name, tmp_path):
    run = gankit.train(name, "ring8", overrides=["train.tensorboard=false", "model.z_dim=2", "model.g_width=16",
                       "model.d_width=16", "train.batch_size=8", "train.sample_every=2"], steps=2,
                       out=tmp_path / "r", device="cpu", progress=False)
    assert run.model.sample(5, seed=0).shape == (5, 2)
    far = torch.tensor([[4.0, -4.0]])  # grid25's corners: display must not clamp vectors to an image range
    assert torch.equal(run.model.for_display(far), far)
    assert (tmp_path / "r" / "samples" / "latest.png").is_file()
