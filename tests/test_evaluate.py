import json

import pytest
import torch

import gankit
from gankit.cli import main

from .conftest import TINY


def test_evaluate_images_and_conditional(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    gankit.train("cgan", "digits", overrides=TINY, steps=2, out=tmp_path / "r", device="cpu", progress=False)
    assert main(["evaluate", str(tmp_path / "r"), "--n", "200", "--out", str(tmp_path / "m.json"), "--device",
                 "cpu"]) == 0
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["step"] == 2 and m["n"] == 200
    assert 0.8 < m["classifier_test_accuracy"] <= 1.0  # the yardstick itself is reported
    assert m["fd_digits_classifier"] > 0 and 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1
    assert 1 <= m["classes_covered"] <= 10 and 0 <= m["conditional_accuracy"] <= 1
    assert "fd_digits_classifier" in capsys.readouterr().out
    assert list((tmp_path / "cache" / "classifiers").iterdir())  # cached for the next call


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a CUDA GPU")
def test_a_device_this_machine_lacks_is_one_line_before_anything_slow(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "no-such-run"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU is visible" in err and len(err.strip().splitlines()) == 1


def test_periodic_evaluation_during_training(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    gankit.train("gan", "ring8", overrides=["train.tensorboard=false", "model.z_dim=2", "model.g_width=16",
                 "model.d_width=16", "train.batch_size=8", "train.eval_every=2", "train.eval_n=100"], steps=4,
                 out=tmp_path / "r", device="cpu", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4] and all("modes" in r for r in rows)


def test_evaluate_unlabelled_folder_gives_label_free_numbers(tmp_path, monkeypatch, capsys):
    import numpy as np
    from PIL import Image

    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    for i in range(4):
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / f"{i}.png")
    gankit.train("dcgan", f"folder:{tmp_path}", overrides=TINY, steps=1, out=tmp_path / "r", device="cpu",
                 progress=False)
    assert main(["evaluate", str(tmp_path / "r"), "--n", "8"]) == 0
    assert "fd_imagenet_lite0" in capsys.readouterr().out
