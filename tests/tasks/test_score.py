"""gankit score and gankit classify: files in, CSV (and heat maps) out; bad input is one line."""

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main

from ..conftest import TINY


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("score")
    gankit.train("anogan", "digits", overrides=[*TINY, "model.encoder_hidden=32", "model.search_steps=5"], steps=4,
                 out=root / "anogan", device="cpu", progress=False)
    gankit.train("triplegan", "digits", overrides=[*TINY, "model.g_width=32",
                 "data.labels_per_class=3"], steps=2, out=root / "triplegan", device="cpu", progress=False)
    return root


@pytest.fixture
def pictures(tmp_path):
    from sklearn.datasets import load_digits

    for part in ("normal", "test"):
        (tmp_path / part).mkdir()
    for i, img in enumerate(load_digits().images[:12]):
        Image.fromarray((img * 255 / 16).astype(np.uint8)).save(tmp_path / ("normal" if i < 8 else "test") / f"{i}.png")
    return tmp_path


def read(path):
    return list(csv.reader(open(path)))


@pytest.mark.parametrize("scorer", ["encoder", "latent"])
def test_scores_threshold_and_maps(runs, pictures, tmp_path, scorer):
    out = tmp_path / "s.csv"
    assert main(["score", str(runs / "anogan"), str(pictures / "test"), "--out", str(out), "--scorer", scorer,
                 "--calibrate", str(pictures / "normal"), "--quantile", "0.75", "--maps", str(tmp_path / "maps"),
                 "--quiet"]) == 0
    rows = read(out)
    assert rows[0] == ["file", "score", "anomaly"] and len(rows) == 5
    # the threshold is the 0.75 quantile of the normal images' scores, scored the same way
    model = gankit.load(runs / "anogan")
    from gankit.tasks.files import load_images
    from gankit.tasks.score import score_tensor

    normal = sorted((pictures / "normal").iterdir())
    expected = np.quantile(score_tensor(model, load_images(model, normal), scorer)[0].numpy(), 0.75)
    for row in rows[1:]:
        assert row[2] == ("yes" if float(row[1]) > expected else "no")
    assert Image.open(tmp_path / "maps" / "8.png").size == (2 + 3 * 130, 2 + 130)  # x, G(z), heat map


def test_scores_do_not_depend_on_the_batch_size(runs, pictures):
    from gankit.tasks.files import load_images
    from gankit.tasks.score import score_tensor

    model = gankit.load(runs / "anogan")
    x = load_images(model, sorted((pictures / "normal").iterdir()))
    a = score_tensor(model, x, "latent", batch_size=8)[0]
    b = score_tensor(model, x, "latent", batch_size=3)[0]
    assert torch.allclose(a, b, rtol=1e-4)


def test_classify_csv(runs, pictures, tmp_path):
    assert main(["classify", str(runs / "triplegan"), str(pictures / "test"), "--out", str(tmp_path / "c.csv")]) == 0
    rows = read(tmp_path / "c.csv")
    assert rows[0] == ["file", "label", "class", *(f"p_{k}" for k in range(10))] and len(rows) == 5
    for row in rows[1:]:
        p = np.array([float(v) for v in row[3:]])
        assert abs(p.sum() - 1) < 1e-4 and int(row[2]) == p.argmax() and row[1] == str(p.argmax())


@pytest.mark.parametrize("argv, fragment", [
    (["score", "{triplegan}", "{pics}", "--out", "s.csv"], "triplegan does not score anomalies"),
    (["score", "{anogan}", "{pics}", "--out", "s.txt"], "give a FILE.csv"),
    (["score", "{anogan}", "{pics}", "--out", "s.csv", "--quantile", "1.5"], "--quantile must be between 0 and 1"),
    (["score", "{anogan}", "{pics}", "--out", "s.csv", "--calibrate", "/nonexistent"], "no such file or folder"),
    (["classify", "{anogan}", "{pics}", "--out", "c.csv"], "anogan does not classify images"),
    (["classify", "{triplegan}", "{pics}", "--out", "c.json"], "give a FILE.csv"),
])
def test_bad_input_is_one_line_and_exit_2(argv, fragment, runs, pictures, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = [a.format(anogan=runs / "anogan", triplegan=runs / "triplegan", pics=pictures / "test") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_evaluate_reports_auroc_and_classifier_accuracy(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    gankit.train("anogan", "digits", overrides=[*TINY, "model.encoder_hidden=32", "data.exclude_classes=[1]"],
                 steps=2, out=tmp_path / "a", device="cpu", progress=False)
    from gankit.evaluate import evaluate

    assert 0 <= evaluate(tmp_path / "a", n=100, progress=False)["anomaly_auroc_encoder"] <= 1
    assert 0 <= evaluate(runs / "triplegan", n=100, progress=False)["classify_accuracy"] <= 1


def test_a_model_saved_with_a_retired_key_still_classifies(runs, pictures, tmp_path):
    model_dir = gankit.export(runs / "triplegan", tmp_path / "model")
    meta = json.loads((model_dir / "config.json").read_text())
    meta["model"]["rp_from"] = 0.3  # how Triple-GAN models saved before rp_after_epochs read
    (model_dir / "config.json").write_text(json.dumps(meta))
    assert main(["classify", str(model_dir), str(pictures / "test"), "--out", str(tmp_path / "c.csv")]) == 0
    assert len(read(tmp_path / "c.csv")) == 5


def test_resuming_a_run_saved_with_a_retired_key_says_it_goes(runs, tmp_path, capsys):
    run = shutil.copytree(runs / "triplegan", tmp_path / "run")
    for state in run.glob("checkpoints/*/state.json"):
        meta = json.loads(state.read_text())
        meta["state"]["config"]["model"]["rp_from"] = 0.3
        state.write_text(json.dumps(meta))
    assert gankit.resume(run, steps=3, progress=True).step == 3
    assert "model.rp_from is no longer a setting, ignored" in capsys.readouterr().err
    assert "rp_from" not in (run / "config.yaml").read_text()
