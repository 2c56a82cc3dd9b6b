"""Faults during training: divergence (NaN/Inf) and failed writes (a full disk)."""

import errno
import json
import math

import pytest
import torch

import gankit
from gankit.errors import TrainingError
from gankit.train import checkpoint
from gankit.train.hooks import Hook

from ..conftest import TINY


class PoisonD(Hook):
    """Sets one of D's weights to NaN after the given steps (each at most once)."""

    def __init__(self, *steps):
        self.steps = set(steps)

    def step(self, tr):
        if tr.step in self.steps:
            self.steps.discard(tr.step)
            with torch.no_grad():
                next(tr.model.D.parameters()).view(-1)[0] = math.nan


def all_checkpoints_finite(run_dir):
    found = checkpoint.candidates(run_dir / "checkpoints")
    assert found
    for path in found:
        ck = checkpoint.read(path)
        assert all(torch.isfinite(t).all() for k, t in ck.tensors.items() if t.is_floating_point()), path
    return found


@pytest.mark.parametrize("poison_step", [6, 8])  # 6: caught by the NaN loss at step 7; 8: before saving step 8
def test_nan_rolls_back_to_the_last_good_checkpoint_with_lower_learning_rates(tmp_path, capfd, poison_step):
    run = gankit.train("dcgan", "digits", overrides=TINY, steps=12, out=tmp_path / "r", device="cpu",
                       progress=False, hooks=[PoisonD(poison_step)])
    assert run.status == "finished" and run.step == 12
    err = capfd.readouterr().err
    caught_at = {6: "D/loss, G/loss became NaN/Inf at step 7", 8: "a weight became NaN/Inf at step 8"}[poison_step]
    assert f"{caught_at}; rolled back to step 4 with learning rates x0.5 (rollback 1 of at most 3)" in err
    all_checkpoints_finite(tmp_path / "r")
    state = checkpoint.latest(tmp_path / "r" / "checkpoints")[0].state
    assert state["rollbacks"] == 1 and state["lr_scale"] == 0.5
    lrs = [g["lr"] for g in run.model.optimizers["G"].param_groups]
    assert lrs == [pytest.approx(2e-4 * 0.5)]
    rows = (tmp_path / "r" / "stats.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in rows]
    assert steps == sorted(set(steps)) and steps[-1] == 12  # rows after the rollback point were replaced


def test_divergence_stop_says_what_diverged_and_keeps_the_checkpoint(tmp_path):
    with pytest.raises(TrainingError,
                       match=r"training diverged: D/loss.* at step 7 .*divergence=stop.*step_00000004"):
        gankit.train("dcgan", "digits", overrides=[*TINY, "train.divergence=stop"], steps=12, out=tmp_path / "r",
                     device="cpu", progress=False, hooks=[PoisonD(6)])
    assert [p.name for p in all_checkpoints_finite(tmp_path / "r")] == ["step_00000004"]


def test_persistent_divergence_stops_after_max_rollbacks(tmp_path):
    with pytest.raises(TrainingError, match=r"after 2 rollbacks"):
        gankit.train("dcgan", "digits", overrides=[*TINY, "train.max_rollbacks=2"], steps=12, out=tmp_path / "r",
                     device="cpu", progress=False, hooks=[PoisonD(5, 6, 7)])  # rollbacks replay steps 5-7
    all_checkpoints_finite(tmp_path / "r")


def test_a_full_disk_stops_cleanly_and_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    import gankit.safetensors_io as io

    real_save = io.save_file
    calls = []

    def save_file(tensors, path, metadata=None):
        calls.append(path)
        if len(calls) >= 2:  # the second checkpoint hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return real_save(tensors, path, metadata=metadata)

    monkeypatch.setattr(io, "save_file", save_file)
    with pytest.raises(TrainingError, match=r"cannot write .*No space left on device; training stopped at step 8"
                                             r".*step_00000004.*gankit resume"):
        gankit.train("dcgan", "digits", overrides=TINY, steps=12, out=tmp_path / "r", device="cpu", progress=False)
    root = tmp_path / "r" / "checkpoints"
    assert [p.name for p in checkpoint.candidates(root)] == ["step_00000004"]
    assert not list(root.glob(".tmp-*"))  # the half-written one is gone
    checkpoint.read(root / "step_00000004")
    monkeypatch.setattr(io, "save_file", real_save)
    assert gankit.resume(tmp_path / "r", progress=False).step == 12


def test_cli_reports_divergence_in_one_line(tmp_path, capsys):
    from gankit.cli import main

    sets = [a for s in [*TINY, "train.divergence=stop", "model.lr_D=1e30", "model.lr_G=1e30"] for a in ("--set", s)]
    code = main(["train", "dcgan", "--steps", "12", "--out", str(tmp_path / "r"), "--quiet", "--device", "cpu", *sets])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("gankit train: error: training diverged:") and "Traceback" not in err
