"""benchmarks/lapgan_mnist.py at a tiny size: every arm trains for the same wall-clock, is evaluated (the cascade with
its per-level numbers), and a second call reuses the finished runs."""

from __future__ import annotations

import json
import sys

from benchmarks import lapgan_mnist


def run(monkeypatch, out):
    argv = ["lapgan_mnist", "--tiny", "--data", "digits", "--seconds", "1", "--n", "40", "--width", "4",
            "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    lapgan_mnist.main()
    return json.loads((out / "results.json").read_text())


def test_every_arm_gets_the_same_budget_and_the_cascade_its_level_numbers(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    results = run(monkeypatch, tmp_path / "bench")
    runs = results["runs"]
    assert list(runs) == ["lapgan-s0", "lapgan-s1", "baseline-s0", "baseline-s1", "dcgan-s0"]
    for name, r in runs.items():
        assert r["steps"] >= 1 and 1 <= r["train_seconds"] < 30, name
        assert r["fd_digits_classifier"] > 0 and 0 <= r["precision"] <= 1, name
        assert (tmp_path / "bench" / name / "samples.png").is_file()
    assert "model.levels=1" in runs["baseline-s0"]["overrides"] and runs["lapgan-s0"]["seed"] == 0
    for key in ("fd_level_8px", "fd_level_16px", "fd_zero_residuals", "fd_from_real_coarse"):
        assert runs["lapgan-s1"][key] > 0 and key not in runs["baseline-s1"]
    assert (tmp_path / "bench" / "lapgan-s0" / "levels.png").is_file()
    table = (tmp_path / "bench" / "results.md").read_text()
    assert "| lapgan-s0 |" in table and "claim FD(lapgan) < FD(baseline) for every seed:" in table
    assert "claim FD(lapgan)" in capsys.readouterr().out
    trained = {name: (tmp_path / "bench" / name / "budget.json").stat().st_mtime_ns for name in runs}
    again = run(monkeypatch, tmp_path / "bench")  # finished runs are evaluated again, not retrained
    assert [r["steps"] for r in again["runs"].values()] == [r["steps"] for r in runs.values()]
    assert {name: (tmp_path / "bench" / name / "budget.json").stat().st_mtime_ns for name in runs} == trained
