"""The CLI, called in-process."""

import json

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.registry import MODELS

from .conftest import TINY


def sets(*extra):
    return [x for s in [*TINY, *extra] for x in ("--set", s)]


@pytest.mark.parametrize("argv, fragment", [
    (["train", "dcgan", "--set", "model.bogus=1"], "unknown config key 'model.bogus'"),
    (["train", "dcgn"], "unknown model 'dcgn' (did you mean 'dcgan'?); valid: " + ", ".join(MODELS.names())),
    (["train", "dcgan", "--data", "mnst"], "unknown dataset 'mnst' (did you mean 'mnist'?)"),
    (["train", "dcgan", "--set", "data.img_size=24"], "power of two"),
    (["trian"], "did you mean 'train'"),
    (["train", "dcgan", "--steps", "many"], "invalid int value"),
    (["config", "show", "gann"], "unknown model"),
    (["sample", "/nonexistent", "--out", "x.png"], "is not a gankit model folder"),
    (["resume", "/nonexistent"], "is not a run folder"),
])
def test_bad_input_is_one_line_and_exit_2(argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_executable_exits_hard_only_inside_a_torchrun_group(monkeypatch, capsys):
    """`gankit` under torchrun ends with os._exit (a gloo group's threads can abort a finalizing interpreter);
    a plain process exits normally, with the same code."""
    from gankit import cli

    exits = []
    monkeypatch.setattr(cli.os, "_exit", lambda code: exits.append(code))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(SystemExit) as e:
        cli.program(["train", "no-such-model"])
    assert e.value.code == 2 and exits == []
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit):  # the patched os._exit returns, so the plain exit follows it here
        cli.program(["train", "no-such-model"])
    assert exits == [2]
    monkeypatch.setenv("WORLD_SIZE", "1")
    with pytest.raises(SystemExit):
        cli.program(["list"])
    assert exits == [2]


def test_help_has_examples(capsys):
    assert main(["train", "--help"]) == 0
    assert "examples:" in capsys.readouterr().out


def test_list_and_config_show(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "dcgan" in out and "fashion-mnist" in out and "folder" in out
    assert main(["config", "show", "dcgan"]) == 0
    out = capsys.readouterr().out
    assert "lr_G: 0.0002" in out and "batch_size: 128" in out


def test_train_sample_export_load(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "dcgan", "--steps", "6", "--out", str(run), "--device", "cpu", "--quiet",
                 *sets("train.ema_beta=0.5")]) == 0
    assert (run / "config.yaml").is_file() and (run / "samples" / "latest.png").is_file()
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6] and all(np.isfinite(r["D/loss"]) for r in rows)

    assert main(["sample", str(run), "--n", "5", "--out", str(tmp_path / "s.npy")]) == 0
    arr = np.load(tmp_path / "s.npy")
    assert arr.shape == (5, 16, 16, 1) and arr.dtype == np.uint8

    model_dir = tmp_path / "model"
    assert main(["export", str(run), "--out", str(model_dir)]) == 0
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "model.safetensors"]
    assert main(["sample", str(model_dir), "--n", "4", "--seed", "1", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size[0] > 64
    assert main(["sample", str(run), "--n", "4", "--seed", "1", "--out", str(tmp_path / "r.npy")]) == 0
    assert main(["sample", str(model_dir), "--n", "4", "--seed", "1", "--out", str(tmp_path / "m.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "r.npy"), np.load(tmp_path / "m.npy"))  # same weights (EMA)

    assert main(["export", str(run), "--out", str(model_dir)]) == 2  # never overwrites
    assert main(["train", "dcgan", "--out", str(run), *sets()]) == 2  # never trains over a run
    assert "gankit resume" in capsys.readouterr().err


def test_resume_further_and_refuse_when_done(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "dcgan", "--steps", "4", "--out", str(run), "--device", "cpu", "--quiet", *sets()]) == 0
    assert main(["resume", str(run), "--quiet"]) == 2
    assert "already at step 4" in capsys.readouterr().err
    assert main(["resume", str(run), "--steps", "6", "--quiet"]) == 0
    assert (run / "checkpoints" / "step_00000006").is_dir()


def test_folder_with_corrupt_files_trains_and_reports(image_folder, tmp_path, capsys):
    assert main(["train", "dcgan", "--data", f"folder:{image_folder}", "--steps", "2", "--device", "cpu",
                 "--out", str(tmp_path / "run"), *sets("data.crop=random", "data.flip=true")]) == 0
    err = capsys.readouterr().err
    assert "skipped 3 of 15 files" in err


def test_config_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model:\n  leak: 0.1\ntrain:\n  steps: 2\n")
    assert main(["train", "dcgan", "--config", str(cfg), "--out", str(tmp_path / "run"), "--quiet", *sets()]) == 0
    assert "leak: 0.1" in (tmp_path / "run" / "config.yaml").read_text()
    cfg.write_text("model:\n  name: wgan\n")
    assert main(["train", "dcgan", "--config", str(cfg), "--out", str(tmp_path / "r2"), *sets()]) == 2
