"""benchmarks/mixtures.py --merge: the mean over seeds that ran in separate processes or sessions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.mixtures import merge
from gankit.errors import GankitError


def _run(seed, modes, hq, kl, **settings):
    return {"seed": seed, "n": 2500, "modes": modes, "high_quality": hq, "reverse_kl": kl, **settings}


def _write(path: Path, *runs) -> str:
    path.write_text(json.dumps({"grid25|gan (minimax)": list(runs)}))
    return str(path)


def test_merge_averages_every_seed_of_every_file(tmp_path):
    a = _write(tmp_path / "a.json", _run(1, 25, 0.96, 0.004))
    b = _write(tmp_path / "b.json", _run(0, 24, 0.90, 0.010), _run(2, 25, 0.99, 0.001))
    lines = merge([a, b])
    assert [line.split(":")[0].strip() for line in lines[:3]] == ["seed 0", "seed 1", "seed 2"]
    assert lines[-1].startswith("grid25  gan (minimax)")
    assert "modes 24.67 (24-25)" in lines[-1] and "high-quality  95.0%" in lines[-1]
    assert "reverse KL 0.005" in lines[-1] and "[3 seeds merged]" in lines[-1]


def test_merge_refuses_a_seed_twice(tmp_path):
    a = _write(tmp_path / "a.json", _run(0, 25, 0.96, 0.004))
    with pytest.raises(GankitError, match="seed 0 appears twice"):
        merge([a, a])


def test_merge_refuses_runs_of_different_settings(tmp_path):
    a = _write(tmp_path / "a.json", _run(0, 25, 0.96, 0.004, steps=200000, overrides=["model.pack=2"]))
    b = _write(tmp_path / "b.json", _run(1, 25, 0.96, 0.004, steps=200000, overrides=[]))
    c = _write(tmp_path / "c.json", _run(2, 25, 0.96, 0.004, steps=40000, overrides=["model.pack=2"]))
    with pytest.raises(GankitError, match="overrides"):
        merge([a, b])
    with pytest.raises(GankitError, match="steps"):
        merge([a, c])


def test_merge_says_which_file_it_cannot_read(tmp_path):
    for text in ("[1, 2]", '{"grid25|gan": [{"seed": 0}]}'):
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(GankitError, match="bad.json is not a mixtures.py --json file"):
            merge([str(tmp_path / "bad.json")])
    with pytest.raises(GankitError, match="cannot read .*missing.json"):
        merge([str(tmp_path / "missing.json")])
