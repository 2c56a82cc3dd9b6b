"""`python -m benchmarks.gpu` works before a GPU is at hand: the same rows at toy sizes on the CPU."""

import json
import subprocess
import sys
from pathlib import Path

import torch

from gankit.train.performance import compile_problem

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_command_runs_every_row_on_the_cpu(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.gpu", "--tiny", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "gpu.json").read_text())
    rows = report["rows"]
    assert {"dcgan-64 fp32 b8", "dcgan-64 fp32 compile b8", "dcgan-64 fp32 untouched defaults b8",
            "cyclegan-256 fp32 b1", "pix2pix-256 fp32 b1",
            "sampling dcgan-64", "gankit evaluate dcgan-64", "dcgan-64 FLOPs/step b8"} <= set(rows)
    assert not [name for name, r in rows.items() if "error" in r or "skipped" in r]
    assert all(r["img_per_s"] > 0 for name, r in rows.items() if "FLOPs" not in name)
    assert rows["dcgan-64 FLOPs/step b8"]["flops"] > 0
    assert "compiled_graphs" not in rows["dcgan-64 fp32 b8"]
    compiled = rows["dcgan-64 fp32 compile b8"]["compiled_graphs"]
    if compile_problem(torch.device("cpu")) is None:
        assert compiled > 0
    else:  # no C++ compiler: torch.compile falls back to eager, and the table must say so
        assert compiled == 0 and "compile fell back to eager" in (tmp_path / "gpu.md").read_text()
    table = (tmp_path / "gpu.md").read_text()
    assert "| dcgan-64 fp32 compile b8 |" in table and "| gankit evaluate dcgan-64 |" in table


def test_rows_past_the_limit_are_stopped_and_the_tables_still_written(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.gpu", "--tiny", "--out", str(tmp_path), "--limit", "0",
                           "--budget", "3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((tmp_path / "gpu.json").read_text())["rows"]
    assert rows["dcgan-64 FLOPs/step b8"] == {"error": "stopped after 1 s"}  # each row gets at least a second
    assert any("skipped" in r for r in rows.values())  # and none starts after the budget
    table = (tmp_path / "gpu.md").read_text()
    assert "| dcgan-64 fp32 b8 | stopped after 1 s |" in table and "not run: over the 3 s budget" in table
