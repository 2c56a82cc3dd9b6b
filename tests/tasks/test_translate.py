"""`gankit translate`: files, folders and globs in; same names, sizes and formats out; bad input is one line."""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.errors import ConfigError
from gankit.nn import pad_to_multiple

SETTINGS = ["data.img_size=16", "data.load_size=16", "train.tensorboard=false", "train.sample_every=2",
            "model.base_channels=4", "model.d_base_channels=4", "model.n_layers=2"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny grayscale -> colour pix2pix and a tiny RGB CycleGAN, 2 steps each."""
    root = tmp_path_factory.mktemp("translate")
    rng = np.random.default_rng(0)
    for d in ("pairs/A", "pairs/B", "dom/trainA", "dom/trainB"):
        (root / d).mkdir(parents=True)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(root / "pairs/A" / f"{i}.png")
        for d in ("pairs/B", "dom/trainA", "dom/trainB"):
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / d / f"{i}.png")
    p2p = gankit.train("pix2pix", f"paired:{root / 'pairs'}", overrides=SETTINGS, steps=2, out=root / "p2p",
                       device="cpu", progress=False)
    gankit.train("cyclegan", f"unpaired:{root / 'dom'}", overrides=[*SETTINGS, "model.n_blocks=1"], steps=2,
                       out=root / "cyc", device="cpu", progress=False)
    assert p2p.model.info.in_channels == 1 and p2p.model.info.img_channels == 3
    return root


def test_translate_keeps_names_sizes_formats_and_layout(models, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)).save(src / "odd.png")  # 37 wide, 23 high
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(src / "sub" / "photo.jpg")
    Image.fromarray(rng.integers(0, 256, (40, 8), dtype=np.uint8)).save(src / "sub" / "thin.bmp")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    extra = tmp_path / "single.gif"
    Image.fromarray(rng.integers(0, 256, (9, 9, 3), dtype=np.uint8)).save(extra)
    out = tmp_path / "out"
    assert main(["translate", str(models / "p2p"), str(src), str(extra), "--out", str(out), "--grid",
                 str(tmp_path / "grid.png"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "skipped 1 of 5 files" in captured.err and "4 images written" in captured.out
    expected = {"odd.png": (37, 23), "sub/photo.jpg": (16, 16), "sub/thin.bmp": (8, 40), "single.png": (9, 9)}
    for rel, size in expected.items():
        with Image.open(out / rel) as img:
            assert img.size == size and img.mode == "RGB", rel  # the model's output: colour
    assert (tmp_path / "grid.png").is_file()


def test_translate_output_matches_the_python_api(models, tmp_path):
    rng = np.random.default_rng(2)
    arr = rng.integers(0, 256, (20, 12, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "x.png")
    assert main(["translate", str(models / "cyc"), str(tmp_path / "x.png"), "--out", str(tmp_path / "o"),
                 "--direction", "BtoA", "--quiet"]) == 0
    model = gankit.load(models / "cyc")
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255
    want = (model.translate(x, "BtoA")[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    got = np.asarray(Image.open(tmp_path / "o" / "x.png"))
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    other = np.asarray(Image.open(tmp_path / "o" / "x.png"))
    assert main(["translate", str(models / "cyc"), str(tmp_path / "x.png"), "--out", str(tmp_path / "o2"),
                 "--quiet"]) == 0
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "o2" / "x.png")), other)  # AtoB is G_AB


def test_pix2pix_test_mode_eval_is_deterministic_and_paper_mode_is_seeded(models, tmp_path):
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (16, 16), dtype=np.uint8)).save(tmp_path / "x.png")

    def run(name, *extra):
        assert main(["translate", str(models / "p2p"), str(tmp_path / "x.png"), "--out", str(tmp_path / name),
                     "--quiet", *extra]) == 0
        return np.asarray(Image.open(tmp_path / name / "x.png")).astype(int)

    paper0, paper1 = run("p0"), run("p1", "--seed", "1")  # the model's default: the paper's mode, dropout on
    eval0, eval1 = run("e0", "--test-mode", "eval"), run("e1", "--test-mode", "eval", "--seed", "1")
    assert not np.array_equal(paper0, paper1)  # a new seed, new dropout masks
    assert np.array_equal(eval0, eval1) and not np.array_equal(eval0, paper0)  # no noise left to seed
    model = gankit.load(models / "p2p")
    with pytest.raises(ConfigError, match="'model.test_mode' must be one of paper, eval, got 'noisy'"):
        model.set_test_mode("noisy")
    model.set_test_mode("eval")
    x = torch.from_numpy(np.array(Image.open(tmp_path / "x.png")))[None, None].float() / 255
    want = (model.translate(x)[0].permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(eval0 - want).max() <= 1


def test_globs_are_expanded(models, tmp_path):
    for name in ("a.png", "b.png", "c.txt"):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / name, format="PNG")
    assert main(["translate", str(models / "p2p"), str(tmp_path / "*.png"), "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.png", "b.png"]


@pytest.mark.parametrize("args, fragment", [
    (["{p2p}", "{missing}", "--out", "{out}"], "no such file or folder"),
    (["{p2p}", "{img}", "--out", "{out}", "--direction", "BtoA"], "pix2pix translates one way"),
    (["{p2p}", "{dir}", "--out", "{dir}"], "is also an input folder"),
    (["{p2p}", "{img}", "{img2}", "--out", "{out}"], "would both be written"),
    (["{p2p}", "{img}", "--out", "{out}", "--batch-size", "0"], "--batch-size: must be at least 1"),
    (["{dcgan}", "{img}", "--out", "{out}"], "does not translate images"),
    (["{p2p}", "{img}", "--out", "{out}", "--attrs", "blond=1"], "pix2pix takes no target"),
    (["{p2p}", "{img}", "--out", "{out}", "--all-domains"], "is for multi-domain models (stargan)"),
    (["{cyc}", "{img}", "--out", "{out}", "--test-mode", "eval"], "--test-mode is for pix2pix"),
])
def test_bad_translate_input_is_one_line_and_exit_2(models, tmp_path, capsys, args, fragment):
    (tmp_path / "d" / "deeper").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "d" / "x.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "d" / "deeper" / "x.png")
    if "{dcgan}" in args:
        gankit.train("dcgan", "digits", overrides=["data.img_size=16", "model.base_channels=4", "model.z_dim=4",
                                                   "train.tensorboard=false"], steps=1, out=tmp_path / "dc",
                     device="cpu", progress=False)
    names = {"p2p": models / "p2p", "missing": tmp_path / "nope.png", "out": tmp_path / "o", "img": tmp_path / "d" /
             "x.png", "img2": tmp_path / "d" / "deeper" / "x.png", "dir": tmp_path / "d", "dcgan": tmp_path / "dc",
             "cyc": models / "cyc"}
    argv = ["translate", *(a.format(**names) for a in args), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_padding_reflects_where_it_can_and_crops_back():
    x = torch.arange(2 * 5 * 3, dtype=torch.float32).view(1, 2, 5, 3)
    p = pad_to_multiple(x, 4)
    assert p.shape == (1, 2, 8, 4) and torch.equal(p[..., :5, :3], x)
    assert torch.equal(p[..., 5, :3], x[..., 3, :])  # reflection: row 5 mirrors row 3
    tiny = pad_to_multiple(torch.ones(1, 1, 2, 2), 256)  # reflection impossible: edge repeated
    assert tiny.shape == (1, 1, 256, 256) and torch.equal(tiny, torch.ones_like(tiny))


def test_hostile_files_are_translated_or_skipped_with_a_count(models, tmp_path, capsys):
    from gankit.tasks.files import WRITABLE

    from ..data.hostile import make_corpus

    root = tmp_path / "corpus"
    expected = make_corpus(root)
    out = tmp_path / "out"
    assert main(["translate", str(models / "p2p"), str(root), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    must_skip = [n for n, (kind, _) in expected.items() if kind == "skip"]
    assert f"skipped {len(must_skip)} of" in err
    for name, (kind, size) in expected.items():
        rel = name if name[name.rfind("."):].lower() in WRITABLE and "." in name else name.rsplit(".", 1)[0] + ".png"
        target = out / rel if "." in name else out / (name + ".png")
        if kind == "load":
            with Image.open(target) as img:
                assert img.size == size, name
        else:
            assert not target.exists(), name


def _pix2pix(test_mode: str):
    import gankit.models  # noqa: F401
    from gankit.models import DataInfo
    from gankit.registry import MODELS
    from gankit.tasks.translate import set_test_mode

    cls = MODELS.get("pix2pix")
    model = cls(cls.Config(base_channels=8, d_base_channels=8), DataInfo("p", 32, 3, kind="paired", in_channels=3))
    gen = torch.Generator().manual_seed(0)
    for m in model.G.modules():  # running statistics unlike the identity, so eval mode is really tested
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=gen) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 1.5 + 0.5)
    set_test_mode(model, test_mode)
    return model


def test_blended_tiles_equal_the_whole_image_where_statistics_are_local():
    from gankit.nn.tiling import receptive_radius
    from gankit.tasks.translate import translate

    model = _pix2pix("eval")
    net, multiple = model.translator()
    assert multiple == 32 and receptive_radius(net, 3, multiple) == 63  # 5 halvings: 2 * 32 - 1 pixels
    x = torch.rand(1, 3, 200, 150, generator=torch.Generator().manual_seed(1))
    whole, tiled = translate(model, x), translate(model, x, tile=64)  # 4 x 3 tiles, each with 64 pixels of context
    assert torch.allclose(tiled, whole, atol=1e-5)
    # The paper's test mode normalises by each input's own statistics and draws dropout noise per forward: tiles
    # change its output (docs/translation.md says so; --tile 0 keeps the whole image).
    paper = _pix2pix("paper")
    assert (translate(paper, x, tile=64) - translate(paper, x)).abs().mean() > 1e-3


def test_blend_weights_sum_to_one():
    from gankit.nn.tiling import run_blended

    x = torch.rand(2, 3, 37, 29)
    assert torch.allclose(run_blended(lambda t: t * 2, x, tile=8, context=0, band=3), x * 2, atol=1e-6)


def test_translate_tile_flag(tmp_path, capsys):
    assert main(["translate", "/nonexistent", str(tmp_path), "--out", str(tmp_path / "o"), "--tile", "-1"]) == 2
    assert "--tile must be 0 (whole images) or a positive size" in capsys.readouterr().err
