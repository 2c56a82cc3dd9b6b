"""pix2pix and CycleGAN: they train on paired / unpaired folders, every network learns, outputs are in range,
exports translate identically, resumes are exact (CycleGAN's image pools included), and the losses do what the
papers say."""

import signal

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import gankit
from gankit.errors import ConfigError, GankitError
from gankit.models import DataInfo
from gankit.models.cyclegan import CycleGAN, CycleGANConfig
from gankit.models.pix2pix import Pix2Pix, Pix2PixConfig, unet_depth
from gankit.nn import PatchDiscriminator
from gankit.train.hooks import Hook
from gankit.trained import Model

from ..conftest import assert_same_final_checkpoints

TINY = ["data.img_size=16", "data.load_size=18", "train.log_every=1", "train.sample_every=2",
        "train.checkpoint_every=3", "train.tensorboard=false", "model.base_channels=4", "model.d_base_channels=4",
        "model.n_layers=2"]
SETTINGS = {"pix2pix": [*TINY, "train.batch_size=2"], "cyclegan": [*TINY, "model.n_blocks=1"]}
NETS = {"pix2pix": ("G", "D"), "cyclegan": ("G_AB", "G_BA", "D_A", "D_B")}


def texture(rng, h, w, c=3):
    return rng.integers(0, 256, (h, w, c), dtype=np.uint8)


@pytest.fixture
def paired_dir(tmp_path):
    """Six A|B side-by-side images (B is A's colour negative, so the pairing is learnable and checkable)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "pairs"
    root.mkdir()
    for i in range(6):
        a = texture(rng, 20 + i, 22)
        Image.fromarray(np.concatenate([a, 255 - a], 1)).save(root / f"{i}.png")
    return root


@pytest.fixture
def unpaired_dir(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "domains"
    for split, n in (("train", 6), ("test", 2)):
        for domain in "AB":
            (root / f"{split}{domain}").mkdir(parents=True)
            for i in range(n + (domain == "B")):
                Image.fromarray(texture(rng, 18 + i, 20)).save(root / f"{split}{domain}" / f"{i}.png")
    return root


def data_spec(name, paired_dir, unpaired_dir):
    return f"paired:{paired_dir}" if name == "pix2pix" else f"unpaired:{unpaired_dir}"


@pytest.mark.parametrize("name", ["pix2pix", "cyclegan"])
def test_trains_translates_and_reloads(name, tmp_path, paired_dir, unpaired_dir):
    spec = data_spec(name, paired_dir, unpaired_dir)
    before = gankit.train(name, spec, overrides=SETTINGS[name], steps=1, out=tmp_path / "a", device="cpu",
                          progress=False).model
    w0 = {k: v.clone() for k, v in before.state_dict().items()}
    run = gankit.resume(tmp_path / "a", steps=3, progress=False)
    moved = {k.split(".")[0] for k, v in run.model.state_dict().items()
             if v.is_floating_point() and not torch.equal(v, w0[k])}
    assert moved == set(NETS[name])  # every network learns
    rows = (tmp_path / "a" / "stats.jsonl").read_text().splitlines()
    assert len(rows) == 3 and "nan" not in rows[-1].lower() and "inf" not in rows[-1].lower()
    assert (tmp_path / "a" / "samples" / "latest.png").is_file()
    x = torch.rand(2, 3, 20, 28)  # not a multiple of the networks' 16 or 4: padded and cropped back
    y = run.model.translate(x, seed=0)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    gankit.export(tmp_path / "a", tmp_path / "m")
    assert torch.equal(gankit.load(tmp_path / "m").translate(x, seed=0), y)
    with pytest.raises(GankitError, match="does not draw samples"):
        run.model.sample(2)


def test_cyclegan_resume_is_exact_including_the_image_pools(tmp_path, unpaired_dir):
    spec = f"unpaired:{unpaired_dir}"
    settings = [*SETTINGS["cyclegan"], "model.pool_size=4"]  # full after 4 steps: the coin flips matter
    gankit.train("cyclegan", spec, overrides=settings, steps=7, out=tmp_path / "straight", device="cpu",
                 progress=False)
    run = gankit.train("cyclegan", spec, overrides=settings, steps=7, out=tmp_path / "split", device="cpu",
                       progress=False, hooks=[StopAt(3)])
    assert run.status == "interrupted" and run.step == 3
    gankit.resume(tmp_path / "split", steps=7, progress=False)
    a, _ = assert_same_final_checkpoints(tmp_path / "straight", tmp_path / "split", 7)
    assert "/extra/pool_A/images" in a.tensors and a.tensors["/extra/pool_A/images"].shape[0] == 4


class StopAt(Hook):
    """Asks the trainer to stop after step `n`, as a SIGINT would (a checkpoint is written there)."""

    def __init__(self, n):
        self.n = n

    def step(self, tr):
        if tr.step == self.n:
            tr._stop_signal = signal.SIGINT


class ScaledIdentity(nn.Module):
    """x * w with w = 1: an identity map that still has a parameter for the optimizer."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.multiple = 1

    def forward(self, x):
        return x * self.w


def test_cyclegan_identity_and_cycle_losses_vanish_for_identity_generators():
    info = DataInfo("t", 16, 3, kind="unpaired", in_channels=3)
    model = CycleGAN(CycleGANConfig(base_channels=4, d_base_channels=4, n_blocks=1, n_layers=2), info)
    model.G_AB, model.G_BA = ScaledIdentity(), ScaledIdentity()
    model.optimizers = model.configure_optimizers()
    batch = {"A": torch.rand(2, 3, 16, 16) * 2 - 1, "B": torch.rand(2, 3, 16, 16) * 2 - 1}
    stats = model.train_step(lambda: batch, 0)
    assert stats["G/identity"].item() == 0.0
    assert stats["G/cycle_A"].item() == 0.0 and stats["G/cycle_B"].item() == 0.0
    assert stats["G/adv_AB"].item() > 0  # the adversarial terms still see the (unchanged) images


def test_cyclegan_loss_weights_are_the_papers():
    cfg = CycleGANConfig()
    assert (cfg.lambda_cycle, cfg.lambda_identity, cfg.pool_size, cfg.gan_loss) == (10.0, 0.5, 50, "ls")
    assert (cfg.lr_G, cfg.lr_D, cfg.beta1, cfg.beta2) == (2e-4, 2e-4, 0.5, 0.999)
    assert CycleGANConfig.train_defaults["batch_size"] == 1
    info = DataInfo("t", 256, 3, kind="unpaired", in_channels=3)
    model = CycleGAN(cfg, info)
    assert sum(1 for m in model.G_AB.modules() if type(m).__name__ == "ResnetBlock") == 9
    assert model.D_A.receptive_field == 70
    assert sum(1 for m in CycleGAN(cfg, DataInfo("t", 128, 3, kind="unpaired", in_channels=3)).G_AB.modules()
               if type(m).__name__ == "ResnetBlock") == 6


def test_pix2pix_defaults_and_conditional_discriminator():
    cfg = Pix2PixConfig()
    assert (cfg.lambda_L1, cfg.lambda_GAN, cfg.n_layers, cfg.dropout) == (100.0, 1.0, 3, 0.5)
    assert Pix2PixConfig.train_defaults["lr_decay"] == "linear"
    assert [unet_depth(s, None) for s in (16, 64, 256, 512)] == [4, 6, 8, 8]
    from gankit.config import default_config, resolve_config

    assert default_config("pix2pix").data.spec == "edges" and default_config("cyclegan").data.spec == "mnist2digits"
    assert resolve_config({"model": {"name": "pix2pix"}, "data": {"spec": "colorize"}}).data.spec == "colorize"
    info = DataInfo("t", 64, 3, kind="paired", in_channels=1)  # grayscale -> colour
    model = Pix2Pix(Pix2PixConfig(base_channels=4, d_base_channels=4), info)
    assert isinstance(model.D, PatchDiscriminator) and model.D.receptive_field == 70
    first_conv = next(m for m in model.D.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.in_channels == 1 + 3  # D judges (input, output) pairs
    assert model.G(torch.zeros(1, 1, 64, 64)).shape == (1, 3, 64, 64)


def test_pix2pix_without_gan_term_never_updates_D():
    info = DataInfo("t", 16, 3, kind="paired", in_channels=3)
    model = Pix2Pix(Pix2PixConfig(base_channels=4, d_base_channels=4, lambda_GAN=0.0, n_layers=2), info)
    model.optimizers = model.configure_optimizers()
    d0 = [p.clone() for p in model.D.parameters()]
    batch = {"A": torch.rand(2, 3, 16, 16) * 2 - 1, "B": torch.rand(2, 3, 16, 16) * 2 - 1}
    stats = model.train_step(lambda: batch, 0)
    assert set(stats) == {"G/L1", "G/loss"}
    assert torch.allclose(stats["G/loss"], 100 * stats["G/L1"])
    assert all(torch.equal(a, b) for a, b in zip(d0, model.D.parameters()))


def test_patchgan_too_deep_for_the_images_is_a_config_error():
    with pytest.raises(ConfigError, match="n_layers=3 needs data.img_size >= 24"):
        Pix2Pix(Pix2PixConfig(), DataInfo("t", 16, 3, kind="paired", in_channels=3))
    CycleGAN(CycleGANConfig(n_blocks=1, base_channels=4, d_base_channels=4), DataInfo("t", 24, 3, kind="unpaired",
                                                                                      in_channels=3))


def test_models_refuse_the_wrong_kind_of_data():
    paired = DataInfo("p", 16, 3, kind="paired", in_channels=3)
    unpaired = DataInfo("u", 16, 3, kind="unpaired", in_channels=3)
    with pytest.raises(ConfigError, match="try cyclegan"):
        Pix2Pix(Pix2PixConfig(), unpaired)
    with pytest.raises(ConfigError, match="try pix2pix"):
        CycleGAN(CycleGANConfig(), paired)
    with pytest.raises(ConfigError, match="not translation data"):
        CycleGAN(CycleGANConfig(), DataInfo("digits", 32, 1))
    with pytest.raises(ConfigError, match="lambda_identity=0"):
        CycleGAN(CycleGANConfig(), DataInfo("u", 16, 3, kind="unpaired", in_channels=1))


def test_pix2pix_paper_test_mode_is_seeded_and_leaves_running_stats_alone():
    info = DataInfo("t", 16, 3, kind="paired", in_channels=3)
    model = Model(Pix2Pix(Pix2PixConfig(base_channels=4, d_base_channels=4, n_layers=2), info).eval())
    stats = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(3, 3, 16, 16)
    a, b, c = model.translate(x, seed=1), model.translate(x, seed=1), model.translate(x, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)  # dropout is the noise source, seeded
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in stats.items())
    assert not model.training
    # One image per forward: an image's output does not depend on the others in the call.
    assert torch.equal(model.translate(x[:1], seed=1), a[:1])


def test_evaluate_translation_models_on_their_held_out_split(tmp_path, unpaired_dir):
    from gankit.evaluate import evaluate

    gankit.train("pix2pix", "colorize", overrides=["data.img_size=32", "model.base_channels=4",
                                                   "model.d_base_channels=4", "train.tensorboard=false"],
                 steps=1, out=tmp_path / "p", device="cpu", progress=False)
    m = evaluate(tmp_path / "p", n=40, progress=False)
    assert m["pairs"] == 40 and 0 < m["psnr_db"] < 60 and -1 <= m["ssim"] <= 1 and m["fd_lap_mean"] > 0
    gankit.train("cyclegan", f"unpaired:{unpaired_dir}", overrides=SETTINGS["cyclegan"], steps=1,
                 out=tmp_path / "c", device="cpu", progress=False)
    m = evaluate(tmp_path / "c", progress=False)
    assert m["images"] == 3 and 0 < m["cycle_l1_A"] < 1 and 0 < m["cycle_l1_B"] < 1
