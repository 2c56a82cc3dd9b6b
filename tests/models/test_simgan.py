"""SimGAN: the local discriminator's map and receptive field, the refiner, the schedule, the history in training,
exact resume, and the real images never bringing a label."""

import pytest
import torch
from torch import nn

import gankit
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.errors import ConfigError
from gankit.models import DataInfo
from gankit.models.simgan import LocalDiscriminator, Refiner, SimGAN, SimGANConfig

from ..conftest import assert_same_final_checkpoints
from .test_translation import StopAt

SPEC = "digits"
TINY = ["data.real=digits", "data.img_size=16", "model.width=8", "model.pretrain_r=2", "model.pretrain_d=2",
        "model.buffer_batches=2", "train.batch_size=8", "train.log_every=1", "train.sample_every=4",
        "train.checkpoint_every=4", "train.n_samples=4", "train.tensorboard=false"]


def test_the_discriminator_judges_each_23_pixel_patch_on_its_own():
    torch.manual_seed(0)
    D = LocalDiscriminator(1)
    x = torch.randn(1, 1, 28, 28)
    base = D.logits(x)
    assert D(x).shape == (1, 2, 7, 7) and base.shape == (1, 7, 7)
    # Output o sees input rows 4o - 11 .. 4o + 11 (23 pixels): a change at pixel (0, 0) reaches outputs 0..2 only,
    # one at (27, 27) outputs 4..6 only.
    for pixel, seen in ((0, slice(0, 3)), (27, slice(4, 7))):
        y = x.clone()
        y[..., pixel, pixel] += 5
        changed = (D.logits(y) - base).abs() > 0
        assert changed.any()
        outside = changed.clone()
        outside[:, seen, seen] = False
        assert not outside.any()


def test_the_discriminator_has_a_nonlinearity_between_its_convolutions_and_none_on_its_logits():
    layers = list(LocalDiscriminator(1).net)
    convs = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5 and convs[-1] == len(layers) - 1
    for i in convs[:-1]:
        assert isinstance(layers[i + 1], nn.ReLU)


def test_the_refiner_keeps_the_size_and_sees_9_pixels_each_side():
    torch.manual_seed(0)
    R = Refiner(1, width=8, blocks=4)
    assert R.receptive_radius == 9
    x = torch.rand(2, 1, 21, 34) * 2 - 1
    y = R(x)
    assert y.shape == x.shape and y.abs().max() < 1
    x2 = x.clone()
    x2[..., 10, 17] += 1
    changed = ((R(x2) - y).abs() > 0).any(0).any(0).nonzero()
    assert changed[:, 0].min() >= 1 and changed[:, 0].max() <= 19
    assert changed[:, 1].min() >= 8 and changed[:, 1].max() <= 26


def test_simgan_needs_real_images_beside_the_synthetic_ones():
    with pytest.raises(ConfigError, match="data.real"):
        SimGAN(SimGANConfig(), DataInfo(name="digits", img_size=16, img_channels=1, num_classes=10))


def test_the_real_images_come_without_labels():
    data = load_dataset(DataConfig(spec="digits", real="digits", img_size=16))
    assert data.real.labels is None and data.real.info.num_classes == 0
    batch = data.batch(torch.arange(8), torch.Generator().manual_seed(0))
    assert set(batch) == {"x", "label", "real"} and batch["real"].shape == batch["x"].shape
    assert data.info.kind == "refine" and data.info.num_classes == 10  # the synthetic side keeps its labels


def tiny_model(**cfg):
    info = DataInfo(name="digits", img_size=16, img_channels=1, num_classes=10, kind="refine")
    model = SimGAN(SimGANConfig(width=8, pretrain_r=2, pretrain_d=1, buffer_batches=3, **cfg), info)

    class Train:
        batch_size = 8

    model.check(Train, 100)
    model.optimizers = model.configure_optimizers()
    model.noise = torch.Generator().manual_seed(0)
    return model


def batches():
    g = torch.Generator().manual_seed(1)
    return lambda: {"x": torch.rand(8, 1, 16, 16, generator=g) * 2 - 1,
                    "real": torch.rand(8, 1, 16, 16, generator=g) * 2 - 1}


def test_the_schedule_pretrains_R_alone_then_D_alone_then_alternates():
    model = tiny_model(kg=2)
    D_before = [p.clone() for p in model.D.parameters()]
    stats = model.train_step(batches(), 0)
    assert "R/adv" not in stats and "D/loss" not in stats  # self-regularisation alone: no adversarial term
    assert all(torch.equal(a, b) for a, b in zip(D_before, model.D.parameters()))
    R_before = [p.clone() for p in model.R.parameters()]
    stats = model.train_step(batches(), 2)  # D alone
    assert "D/loss" in stats and "R/loss" not in stats
    assert all(torch.equal(a, b) for a, b in zip(R_before, model.R.parameters()))
    assert [model.phase(s) for s in (0, 1, 2, 3)] == ["pretrain_R", "pretrain_R", "pretrain_D", "adversarial"]
    drawn = []
    source = batches()
    model.train_step(lambda: drawn.append(1) or source(), 3)
    assert len(drawn) == 3  # kg = 2 refiner batches and one discriminator batch


def test_the_history_fills_by_half_batches_and_is_drawn_from():
    model = tiny_model()
    next_batch = batches()
    counts = []
    for step in range(2, 8):
        model.train_step(next_batch, step)
        counts.append(model.history.count)
    assert model.history.capacity == 12
    assert counts == [4, 8, 12, 12, 12, 12]


def test_resume_is_exact_including_the_history(tmp_path):
    gankit.train("simgan", SPEC, overrides=TINY, steps=7, out=tmp_path / "straight", device="cpu", progress=False)
    run = gankit.train("simgan", SPEC, overrides=TINY, steps=7, out=tmp_path / "split", device="cpu",
                       progress=False, hooks=[StopAt(5)])
    assert run.status == "interrupted" and run.step == 5
    gankit.resume(tmp_path / "split", steps=7, progress=False)
    a, _ = assert_same_final_checkpoints(tmp_path / "straight", tmp_path / "split", 7)
    assert a.tensors["/extra/history/images"].shape[0] == 8  # full: 2 batches' worth of halves
