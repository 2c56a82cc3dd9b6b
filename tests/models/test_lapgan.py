"""LAPGAN: the chain is a Laplacian pyramid of generators (zero residuals leave the upsampled coarsest image), the
pyramid of real images is exact, each D judges coarse + residual, the schedule is a function of the step, sampling
reads no data, `gankit sample --levels / --coarse`, the per-level evaluation, and exact resume."""

import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import gankit
from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_dataset, read_batch
from gankit.errors import ArgumentError, ConfigError
from gankit.metrics import frechet_distance, gaussian_stats
from gankit.models import DataInfo
from gankit.models.lapgan import LAPGAN, LAPGANConfig, ResidualDiscriminator, level_sizes
from gankit.nn.pyramid import blur, laplacian_pyramid, upsample
from gankit.tasks import sample as sample_task

from ..conftest import assert_same_final_checkpoints
from .test_translation import StopAt

SMALL = {"z_dim": 8, "coarse_g_hidden": 16, "coarse_d_hidden": 16, "base_channels": 4}
TINY = ["model.z_dim=8", "model.coarse_g_hidden=16", "model.coarse_d_hidden=16", "model.base_channels=4",
        "data.img_size=32", "train.batch_size=8", "train.log_every=1", "train.sample_every=4",
        "train.checkpoint_every=4", "train.n_samples=6", "train.tensorboard=false"]


def tiny(img_size=32, channels=1, classes=10, **cfg):
    torch.manual_seed(0)
    info = DataInfo(name="digits", img_size=img_size, img_channels=channels, num_classes=classes)
    return LAPGAN(LAPGANConfig(**{**SMALL, **cfg}), info).eval()


def digits(n=16, size=32):
    data = load_dataset(DataConfig(spec="digits", img_size=size))
    return read_batch(data, torch.arange(n))["x"].cpu()


def test_levels_default_to_a_coarsest_image_of_at_most_8_pixels():
    assert level_sizes(32, 0) == [32, 16, 8] and level_sizes(64, 0) == [64, 32, 16, 8]
    assert level_sizes(28, 0) == [28, 14, 7] and level_sizes(32, 1) == [32] and level_sizes(32, 2) == [32, 16]
    with pytest.raises(ConfigError, match="at least 9 pixels"):
        tiny(levels=4)  # 32, 16, 8, 4: the 8 px level's D has no room for its unpadded convs


@pytest.mark.parametrize("pyramid", ["binomial", "bilinear"])
def test_with_every_residual_zero_the_sample_is_the_coarsest_image_upsampled_twice(pyramid):
    model = tiny(pyramid=pyramid)
    z = model.chain_input(5, torch.Generator().manual_seed(1))
    coarse, mid, full = model.G.levels(z, zero_residuals=True)
    assert coarse.shape == (5, 1, 8, 8) and mid.shape == (5, 1, 16, 16) and full.shape == (5, 1, 32, 32)
    if pyramid == "binomial":
        expected = upsample(upsample(coarse, (16, 16)), (32, 32))
    else:
        up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        expected = up(up(coarse))
    assert torch.equal(full, expected)
    assert torch.equal(coarse, model.G.coarse(z[:, :8]))  # the coarsest level is G_K(z_K) alone
    # With the residual generators on, the same noise gives the same coarsest image and a different picture.
    chain = model.G.levels(z)
    assert torch.equal(chain[0], coarse) and not torch.allclose(chain[-1], full)
    assert torch.equal(chain[-1], model.G(z))  # G(z) is the whole chain
    # The chain itself (not the zero_residuals switch) adds each G_k's output to the upsampled image: silence them.
    for G_k in model.G.refine:
        nn.init.zeros_(G_k.net[-1].weight)
        nn.init.zeros_(G_k.net[-1].bias)
    assert torch.equal(model.G(z), expected)


def test_a_chain_of_K_plus_1_generators_each_fed_one_noise_plane_beside_the_upsampled_image():
    model = tiny()
    assert len(model.G.refine) == 2 and len(model.D) == 3
    for k, size in enumerate((32, 16)):
        first = model.G.refine[k].net[0]
        assert first.in_channels == 1 + 1  # noise plane + C
        assert model.G.refine[k](torch.zeros(2, 1, size, size), torch.zeros(2, 1, size, size)).shape == (2, 1, size,
                                                                                                          size)
    assert model.G.noise_dim == 8 + 16 * 16 + 32 * 32
    assert set(model.configure_optimizers()) == {"G0", "G1", "G2", "D0", "D1", "D2"}
    conditional = tiny(class_conditional=True)
    assert conditional.G.refine[0].net[0].in_channels == 3  # + the label plane
    assert isinstance(conditional, sample_task.LabelSampler) and not isinstance(model, sample_task.LabelSampler)


def test_the_pyramid_reconstructs_a_real_batch_exactly():
    x = digits()
    model = tiny()
    bands = model.laplacian_pyramid(x)
    assert [b.shape[-1] for b in bands] == [32, 16, 8]
    image = bands[-1]
    for band in reversed(bands[:-1]):
        image = band + upsample(image, band.shape[-2:])
    assert (image - x).abs().max() < 1e-6  # float32 rounding of (a - b) + b
    assert torch.equal(model.gaussian_pyramid(x)[1], blur(x)[..., ::2, ::2])  # d() is blur-and-decimate
    reference = laplacian_pyramid(x, 3)  # the metrics' float64 pyramid: the same decomposition
    for ours, theirs in zip(bands, reference):
        assert (ours.double() - theirs).abs().max() < 1e-5
    assert not torch.allclose(tiny(pyramid="bilinear").gaussian_pyramid(x)[1], model.gaussian_pyramid(x)[1])


def test_D_first_adds_the_residual_to_the_coarse_image():
    torch.manual_seed(0)
    D = ResidualDiscriminator(1, 16, width=4, dropout=0.5, num_classes=0).eval()
    steps = torch.randint(-32, 32, (3, 4, 1, 16, 16)).float() / 64  # exact in float32: sums are exact too
    low, residual, delta = steps[0], steps[1], steps[2]
    assert torch.equal(D(low, residual), D(low + delta, residual - delta))
    assert not torch.equal(D(low, residual), D(low + delta, residual))
    D.train()  # dropout really drops in training (a no-op dropout is a known reimplementation bug)
    assert not torch.equal(D(low, residual), D(low, residual))


def test_every_level_trains_on_real_pyramids_and_updates_its_own_pair():
    model = tiny()
    model.check(type("Train", (), {"batch_size": 8}), 100)
    model.optimizers = model.configure_optimizers()
    model.noise = torch.Generator().manual_seed(0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = digits(8)
    stats = model.train().train_step(lambda: {"x": x, "label": torch.zeros(8, dtype=torch.long)}, 0)
    assert set(stats) == {"D0/loss", "G0/loss", "D1/loss", "G1/loss", "D2/loss", "G2/loss"}
    assert all(np.isfinite(float(v)) for v in stats.values())
    for prefix in ("G.coarse.", "G.refine.0.", "G.refine.1.", "D.0.", "D.1.", "D.2."):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith(prefix))


def test_the_schedule_is_a_function_of_the_step_and_reaches_the_optimizers():
    model = tiny()
    model.check(type("Train", (), {"batch_size": 8}), 40)  # 5 steps a pass
    assert model.schedule(0) == (1.0, 0.5) and model.schedule(4) == (1.0, 0.5)
    factor, momentum = model.schedule(10)  # two passes
    assert factor == pytest.approx(1 / (1 + 4e-5) ** 2) and momentum == pytest.approx(0.5016)
    assert model.schedule(5 * 10_000)[1] == 0.8  # capped
    assert tiny(lr=1e-5, lr_min=1e-6).schedule(10 ** 9)[0] == pytest.approx(0.1)  # floored at lr_min
    model.optimizers = model.configure_optimizers()
    model.noise = torch.Generator().manual_seed(0)
    x = digits(8)
    model.train().train_step(lambda: {"x": x}, 10)
    group = model.optimizers["G0"].param_groups[0]
    assert group["lr"] == pytest.approx(0.02 * factor) and group["momentum"] == pytest.approx(momentum)
    assert group["dampening"] == group["momentum"]  # Torch7's optim.sgd, the official code's


def test_sgd_steps_as_torch7s_damped_momentum():
    """Torch7: buf = g on the first step, then buf = m buf + (1 - m) g; w -= lr buf."""
    model = tiny()
    opt = model.configure_optimizers()["G0"]
    w = next(model.G.refine[0].parameters())
    w0, g1, g2 = w.detach().clone(), torch.randn_like(w), torch.randn_like(w)
    for g in (g1, g2):
        opt.zero_grad()
        w.grad = g.clone()
        opt.step()
    m, lr = 0.5, 0.02
    assert torch.allclose(w.detach(), w0 - lr * g1 - lr * (m * g1 + (1 - m) * g2), atol=1e-7)


def test_starting_from_given_coarse_images():
    model = tiny()
    start = digits(3, size=16)
    levels = model.generate_levels(3, torch.Generator().manual_seed(0), coarse=start)
    assert len(levels) == 2 and torch.equal(levels[0], start) and levels[1].shape == (3, 1, 32, 32)
    with pytest.raises(ArgumentError, match="16x16 or 8x8 pixels .a level of this model's chain., got 12x12"):
        model.generate_levels(3, coarse=torch.zeros(3, 1, 12, 12))


def test_sampling_reads_no_data(tmp_path, monkeypatch):
    gankit.train("lapgan", "digits", overrides=TINY, steps=2, out=tmp_path / "run", device="cpu", progress=False)
    gankit.export(tmp_path / "run", tmp_path / "model")

    def no_data(*args, **kwargs):
        raise AssertionError("sampling read the dataset")

    for name, module in list(sys.modules.items()):  # every gankit module's handle on the data loaders
        for loader in ("load_dataset", "read_batch"):
            if name.startswith("gankit") and hasattr(module, loader):
                monkeypatch.setattr(module, loader, no_data)
    model = gankit.load(tmp_path / "model")
    x = model.sample(4, seed=0)
    assert x.shape == (4, 1, 32, 32) and torch.equal(x, gankit.load(tmp_path / "run").sample(4, seed=0))
    images, nrow = sample_task.sample_chain(model, 4, seed=0, levels=True)
    assert images.shape == (12, 1, 32, 32) and nrow == 4
    assert torch.equal(images[8:], x)  # the last row is the sample itself


def test_cli_levels_and_coarse(tmp_path, capsys):
    gankit.train("lapgan", "digits", overrides=TINY, steps=1, out=tmp_path / "run", device="cpu", progress=False)
    assert main(["sample", str(tmp_path / "run"), "--levels", "--n", "5", "--out", str(tmp_path / "l.png")]) == 0
    with Image.open(tmp_path / "l.png") as img:
        tiles = (img.height - 2) // 66, (img.width - 2) // 66  # 32 px tiles scaled to 64, 2 px apart
    assert tiles == (3, 5)
    (tmp_path / "small").mkdir()
    for i in range(2):
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / "small" / f"{i}.png")
    assert main(["sample", str(tmp_path / "run"), "--coarse", str(tmp_path / "small"), "--levels", "--n", "4",
                 "--out", str(tmp_path / "c.png")]) == 0
    capsys.readouterr()
    (tmp_path / "full").mkdir()
    for i in range(2):
        Image.fromarray(np.full((32, 32), 200 * i, np.uint8)).save(tmp_path / "full" / f"{i}.png")
    start = sample_task.read_coarse(gankit.load(tmp_path / "run"), tmp_path / "full")  # full size: its coarsest level
    assert start.shape == (2, 1, 8, 8) and start[0].max() == -1 and start[1].min() > 0.5
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(tmp_path / "small" / "2.png")
    for argv, fragment in (
        (["--coarse", str(tmp_path / "small")], "images must all have one size"),
        (["--levels", "--format", "npy"], "PNG grid"),
    ):
        assert main(["sample", str(tmp_path / "run"), *argv, "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert fragment in err and len(err.strip().splitlines()) == 1



def test_coarse_images_from_the_hostile_corpus(tmp_path, capsys):
    """--coarse DIR reads what it can and skips the rest with a reason; mixed sizes are one line, never a trace."""
    from ..data.hostile import make_corpus

    gankit.train("lapgan", "digits", overrides=TINY, steps=1, out=tmp_path / "run", device="cpu", progress=False)
    corpus = tmp_path / "corpus"
    expected = make_corpus(corpus)
    assert main(["sample", str(tmp_path / "run"), "--coarse", str(corpus), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "images must all have one size" in err and "Traceback" not in err
    for name, (kind, _) in expected.items():  # keep the unreadable files, add readable 8x8 ones in a sub-folder
        if kind == "load":
            (corpus / name).unlink()
    (corpus / "nested").mkdir()
    rgb = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(corpus / "nested" / "rgb.png")
    Image.fromarray(rgb).convert("CMYK").save(corpus / "nested" / "cmyk.jpg")
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(corpus / "nested" / "sixteen_bit.png")
    assert main(["sample", str(tmp_path / "run"), "--coarse", str(corpus), "--levels", "--n", "3",
                 "--out", str(tmp_path / "c.png")]) == 0
    with Image.open(tmp_path / "c.png") as img:
        assert (img.height - 2) // 66 == 3  # three levels of the three readable coarse images
    assert "skipped" in capsys.readouterr().err  # the unreadable files, counted with their reasons
    Image.fromarray(np.zeros((3000, 4000), np.uint8)).save(tmp_path / "photo.png")  # 12 megapixels
    assert main(["sample", str(tmp_path / "run"), "--coarse", str(tmp_path / "photo.png"), "--out",
                 str(tmp_path / "p.png")]) == 2
    assert "at most the model's 32x32 pixels" in capsys.readouterr().err

def test_levels_are_for_coarse_to_fine_samplers_only(tmp_path, capsys):
    from ..conftest import TINY as DCGAN_TINY

    gankit.train("dcgan", "digits", overrides=DCGAN_TINY, steps=1, out=tmp_path / "d", device="cpu", progress=False)
    assert main(["sample", str(tmp_path / "d"), "--levels", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "coarse-to-fine" in err and len(err.strip().splitlines()) == 1


class PixelReference:
    """A stand-in for metrics/reference.py's Reference: 'features' are 4x4-pooled pixels, so the test needs no
    trained classifier."""

    def __init__(self, x):
        self.real_x = x
        self.real_stats = gaussian_stats(self.classify(x)[0])

    def classify(self, x):
        feats = nn.functional.avg_pool2d(x, 8).flatten(1).double().numpy()
        return feats, np.zeros(len(x), dtype=np.int64)


def test_the_per_level_evaluation():
    model = tiny()
    ref = PixelReference(digits(64))
    m = sample_task.pyramid_evaluate(model, ref, n=64, seed=0)
    assert set(m) == {"fd_level_8px", "fd_level_16px", "fd_level_32px", "fd_zero_residuals", "fd_from_real_coarse"}
    assert all(np.isfinite(v) and v >= 0 for v in m.values())
    assert m["fd_zero_residuals"] != pytest.approx(m["fd_level_32px"])
    own = sample_task.generate(model, 64, seed=0)  # the finest level is the samples' own FD
    assert m["fd_level_32px"] == pytest.approx(frechet_distance(*gaussian_stats(ref.classify(own)[0]),
                                                                *ref.real_stats))
    with torch.no_grad():  # residual generators that output nothing: the chain is its zero-residual version
        for G in model.G.refine:
            G.net[-1].weight.zero_()
            G.net[-1].bias.zero_()
    m = sample_task.pyramid_evaluate(model, ref, n=64, seed=0)
    assert m["fd_zero_residuals"] == pytest.approx(m["fd_level_32px"])
    assert sample_task.pyramid_evaluate(tiny(levels=1), ref, n=8, seed=0) == {}  # the single-scale baseline


def test_resume_is_exact(tmp_path):
    gankit.train("lapgan", "digits", overrides=TINY, steps=6, out=tmp_path / "straight", device="cpu",
                 progress=False)
    run = gankit.train("lapgan", "digits", overrides=TINY, steps=6, out=tmp_path / "split", device="cpu",
                       progress=False, hooks=[StopAt(3)])
    assert run.status == "interrupted" and run.step == 3
    gankit.resume(tmp_path / "split", steps=6, progress=False)
    assert_same_final_checkpoints(tmp_path / "straight", tmp_path / "split", 6)


def test_the_class_conditional_variant_samples_by_label(tmp_path):
    run = gankit.train("lapgan", "digits", overrides=[*TINY, "model.class_conditional=true"], steps=1,
                       out=tmp_path / "run", device="cpu", progress=False)
    model = run.model
    threes = model.sample(4, seed=0, label=3)
    assert threes.shape == (4, 1, 32, 32) and not torch.equal(threes, model.sample(4, seed=0, label=5))
    with pytest.raises(ArgumentError, match="between 0 and 9"):
        model.sample(2, label=10)
    assert torch.equal(gankit.load(tmp_path / "run").sample(4, seed=0, label=3), threes)  # reloaded: still by label
    with pytest.raises(ArgumentError, match="class-conditional models"):
        tiny().generate(2, label=1)
