import json

import pytest
import torch

from gankit.errors import CheckpointError
from gankit.train import checkpoint


def state():
    opt_state = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(2, 2)}},
                 "param_groups": [{"lr": 2e-4, "betas": (0.5, 0.999), "params": [0], "foreach": None}]}
    return {"step": 3, "model": {"G.w": torch.randn(3, 4), "G.b": torch.zeros(4, dtype=torch.int64)},
            "opt": opt_state, "rng": {"python": (3, (1, 2, 3), None)}, "nothing": None}


def assert_same(a, b):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b) and a.dtype == b.dtype
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


def test_round_trip_keeps_types_and_bits(tmp_path):
    s = state()
    path = checkpoint.write(tmp_path, 3, s)
    assert path.name == "step_00000003"
    ck = checkpoint.read(path)
    assert ck.step == 3
    assert_same(s, ck.state)
    assert list(ck.state["opt"]["state"]) == [0]  # int keys come back as ints
    assert not list(tmp_path.glob(".tmp-*"))


def test_latest_falls_back_past_damaged(tmp_path):
    checkpoint.write(tmp_path, 1, state())
    newest = checkpoint.write(tmp_path, 2, state())
    data = bytearray((newest / checkpoint.TENSORS).read_bytes())
    data[-3] ^= 0xFF  # one flipped bit pattern in the tensor data
    (newest / checkpoint.TENSORS).write_bytes(bytes(data))
    ck, problems = checkpoint.latest(tmp_path)
    assert ck.step == 1
    assert len(problems) == 1 and "do not match the hash" in problems[0] and "step_00000002" in problems[0]


@pytest.mark.parametrize("damage, message", [
    (lambda p: (p / checkpoint.TENSORS).write_bytes(b""), "hash"),
    (lambda p: (p / checkpoint.STATE).write_text("{"), "damaged JSON"),
    (lambda p: (p / checkpoint.STATE).unlink(), "missing"),
    (lambda p: (p / checkpoint.STATE).write_text(json.dumps({"format": "other"})), "not a gankit checkpoint"),
])
def test_damage_is_named(tmp_path, damage, message):
    path = checkpoint.write(tmp_path, 5, state())
    damage(path)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.read(path)


def test_prune_keeps_newest_and_removes_temporaries(tmp_path):
    for step in (1, 2, 3, 4):
        checkpoint.write(tmp_path, step, state())
    (tmp_path / ".tmp-step_00000005-99").mkdir()  # left by a writer killed mid-way
    checkpoint.prune(tmp_path, keep=2)
    assert [p.name for p in checkpoint.candidates(tmp_path)] == ["step_00000004", "step_00000003"]
    assert not list(tmp_path.glob(".tmp-*"))


def test_rewriting_a_step_replaces_it(tmp_path):
    checkpoint.write(tmp_path, 7, state())
    s = state()
    s["step"] = 70
    checkpoint.write(tmp_path, 7, s)
    assert checkpoint.read(tmp_path / "step_00000007").state["step"] == 70


def test_pickle_is_refused(tmp_path):
    import pickle

    from gankit.safetensors_io import read_tensors

    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(CheckpointError, match="pickle"):
        read_tensors(path)


def test_linear_decay_schedule(tmp_path):
    import gankit

    from ..conftest import TINY

    run_dir = tmp_path / "r"
    gankit.train("dcgan", "digits", overrides=[*TINY, "train.lr_decay=linear", "train.lr_decay_start=0.5"],
                 steps=8, out=run_dir, device="cpu", progress=False)
    state = checkpoint.latest(run_dir / "checkpoints")[0].state
    # the last step ran at factor 1 - (7 - 4) / 4 = 0.25 of the configured 2e-4
    assert abs(state["optimizers"]["G"]["param_groups"][0]["lr"] - 0.25 * 2e-4) < 1e-12
