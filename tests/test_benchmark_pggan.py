"""benchmarks/pggan_mnist.py at a tiny size: every arm runs for its wall-clock budget, is measured at its points, and
the grown and fixed arms differ in the starting resolution only."""

from __future__ import annotations

import json
import math
import sys

import pytest

from benchmarks import pggan_mnist


@pytest.mark.slow
def test_tiny_benchmark_runs_every_arm_for_its_budget(tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench"
    args = ["pggan_mnist.py", "--data", "digits", "--size", "16", "--minutes", "0.02", "--points", "2", "--seeds", "0",
            "--context", "dcgan", "--eval-n", "100", "--phase-kimg", "0.016", "--set", "model.z_dim=16",
            "--set", "model.base_channels=8", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as done:
        pggan_mnist.run_main(pggan_mnist.main)
    assert done.value.code == 0
    result = json.loads((out / "pggan_mnist.json").read_text())
    runs = {r["arm"]: r for r in result["runs"]}
    assert list(runs) == ["grown", "fixed", "dcgan"]
    grown, fixed = runs["grown"], runs["fixed"]
    assert [o for o in fixed["overrides"] if o not in grown["overrides"]] == ["model.start_res=16"]
    assert len(grown["overrides"]) + 1 == len(fixed["overrides"])
    for r in runs.values():
        assert len(r["points"]) == 2 and r["steps"] > 0
        first, last = r["points"]
        assert 0 < first["seconds"] <= last["seconds"] and first["step"] <= last["step"] == r["steps"]
        assert last["images"] == r["steps"] * int(r["overrides"][0].split("=")[1] if r["arm"] != "dcgan" else 64)
        assert all(math.isfinite(p["fd"]) and p["fd"] > 0 for p in r["points"])
    assert all(p["level"] == 2.0 and p["G"] == "ema" for p in fixed["points"])
    assert grown["points"][0]["level"] <= grown["points"][1]["level"]
    assert runs["dcgan"]["points"][0]["level"] is None
    printed = capsys.readouterr().out
    assert "| grown | 0 |" in printed and "final mean FD grown" in printed
    assert (out / "pggan_mnist.md").read_text().startswith("# PGGAN grown vs fixed resolution, digits 16x16")

    # a second call measures nothing again: finished runs are read back
    with pytest.raises(SystemExit):
        pggan_mnist.run_main(pggan_mnist.main)
    assert json.loads((out / "pggan_mnist.json").read_text())["runs"] == result["runs"]
