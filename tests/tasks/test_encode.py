"""gankit encode / explore: files in, codes and pictures out, the same as the Python API; bad input is one line."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main

from ..conftest import TINY


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("encode")
    small = [*TINY, "model.width=32"]
    gankit.train("bigan", "digits", overrides=small, steps=2, out=root / "bigan", device="cpu", progress=False)
    gankit.train("infogan", "digits", overrides=[*TINY, "model.hidden=32"], steps=2, out=root / "infogan",
                 device="cpu", progress=False)
    gankit.train("dcgan", "digits", overrides=TINY, steps=1, out=root / "dcgan", device="cpu", progress=False)
    return root


@pytest.fixture
def pictures(tmp_path):
    """Five grayscale digits of another size, one colour photo in a sub-folder, one file that is no image."""
    from sklearn.datasets import load_digits

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for i, img in enumerate(load_digits().images[:5]):
        Image.fromarray((img * 255 / 16).astype(np.uint8)).resize((20, 20)).save(folder / f"{i}.png")
    photo = np.random.default_rng(0).integers(0, 255, (30, 24, 3), dtype=np.uint8)
    Image.fromarray(photo).save(folder / "sub" / "c.jpg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def unit(path):
    img = Image.open(path).convert("L")
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255)[None, None]


def test_encode_files_like_the_python_api(runs, pictures, tmp_path, capsys):
    assert main(["encode", str(runs / "bigan"), str(pictures), "--out", str(tmp_path / "z.npy"), "--quiet",
                 "--reconstruct", str(tmp_path / "rec.png")]) == 0
    assert "6 images encoded" in capsys.readouterr().out
    codes = np.load(tmp_path / "z.npy")
    assert codes.shape == (6, 16) and codes.dtype == np.float32  # TINY sets model.z_dim=16
    model = gankit.load(runs / "bigan")
    files = sorted(p for p in pictures.rglob("*") if p.suffix in (".png", ".jpg"))
    expected = torch.cat([model.encode(unit(f)) for f in files]).numpy()
    assert np.allclose(codes, expected, atol=1e-5)
    grid = Image.open(tmp_path / "rec.png")
    assert grid.size == (2 + 12 * 66, 2 + 66)  # six (x, G(E(x))) pairs in one row of 64-pixel tiles


def test_encode_csv_names_the_codes(runs, pictures, tmp_path):
    assert main(["encode", str(runs / "infogan"), str(pictures / "0.png"), str(pictures / "sub"), "--out",
                 str(tmp_path / "c.csv"), "--quiet"]) == 0
    rows = list(csv.reader(open(tmp_path / "c.csv")))
    assert rows[0] == ["file", "c1", "c2", "c3"] and len(rows) == 3
    assert rows[1][0].endswith("0.png") and rows[2][0].endswith("c.jpg")
    assert rows[1][1].isdigit() and 0 <= int(rows[1][1]) < 10  # the category, an integer
    model = gankit.load(runs / "infogan")
    assert float(rows[1][2]) == pytest.approx(model.encode(unit(pictures / "0.png"))[0, 1].item(), abs=1e-5)


def test_explore_grid_sizes(runs, tmp_path):
    assert main(["explore", str(runs / "infogan"), "--code", "c1", "--n", "3", "--out", str(tmp_path / "a.png")]) == 0
    assert Image.open(tmp_path / "a.png").size == (2 + 3 * 66, 2 + 10 * 66)  # 10 categories down, 3 across
    assert main(["explore", str(runs / "infogan"), "--code", "c2", "--steps", "5", "--range", "-3", "3", "--out",
                 str(tmp_path / "b.png")]) == 0
    assert Image.open(tmp_path / "b.png").size == (2 + 5 * 66, 2 + 10 * 66)


@pytest.mark.parametrize("argv, fragment", [
    (["encode", "{dcgan}", "{pics}", "--out", "x.npy"], "dcgan does not encode images"),
    (["encode", "{bigan}", "{pics}", "--out", "x.txt"], "must end in .npy or .csv"),
    (["encode", "{bigan}", "{pics}", "--out", "x.npy", "--reconstruct", "r.jpg"], "PNG grid"),
    (["encode", "{bigan}", "/nonexistent/*.png", "--out", "x.npy"], "no such file or folder"),
    (["encode", "{bigan}", "{pics}", "--out", "x.npy", "--batch-size", "0"], "--batch-size: must be at least 1"),
    (["explore", "{bigan}", "--code", "c1", "--out", "x.png"], "bigan does not have named latent codes"),
    (["explore", "{infogan}", "--code", "c7", "--out", "x.png"], "unknown code 'c7'; infogan has c1, c2, c3"),
    (["explore", "{infogan}", "--code", "c2", "--range", "2", "-2", "--out", "x.png"], "low < high"),
    (["explore", "{infogan}", "--code", "c2", "--steps", "1", "--out", "x.png"], "--steps must be at least 2"),
])
def test_bad_input_is_one_line_and_exit_2(argv, fragment, runs, pictures, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = [a.format(dcgan=runs / "dcgan", bigan=runs / "bigan", infogan=runs / "infogan", pics=pictures)
            for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_evaluate_adds_what_the_encoder_knows(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    from gankit.evaluate import evaluate

    m = evaluate(runs / "infogan", n=200, progress=False)
    assert 0 <= m["cluster_accuracy_c1"] <= 1 and 0 <= m["reconstruction_label_kept"] <= 1
    m = evaluate(runs / "bigan", n=200, progress=False)
    for key in ("encoding_1nn_accuracy", "encoding_linear_accuracy", "reconstruction_label_kept"):
        assert 0 <= m[key] <= 1
    assert "cluster_accuracy_c1" not in m


def test_hostile_files_are_encoded_or_skipped_with_a_count(runs, tmp_path, capsys):
    from ..data.hostile import make_corpus

    expected = make_corpus(tmp_path / "corpus")
    assert main(["encode", str(runs / "bigan"), str(tmp_path / "corpus"), "--out", str(tmp_path / "c.csv"),
                 "--quiet"]) == 0
    must_skip = [n for n, (kind, _) in expected.items() if kind == "skip"]
    assert f"skipped {len(must_skip)} of" in capsys.readouterr().err
    rows = list(csv.reader(open(tmp_path / "c.csv")))[1:]
    encoded = {Path(r[0]).relative_to(tmp_path / "corpus").as_posix() for r in rows}
    assert encoded == {n for n, (kind, _) in expected.items() if kind == "load"}
    assert all(np.isfinite([float(v) for v in r[1:]]).all() for r in rows)
