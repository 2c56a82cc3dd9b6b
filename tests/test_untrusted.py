"""Model files from elsewhere: loading never executes code, and every malformed file is refused in one line."""

import json
import os
import pickle
import struct

import pytest

import gankit
from gankit.cli import main
from gankit.errors import CheckpointError
from gankit.train import checkpoint

from .conftest import TINY


class _Trap:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    gankit.train("dcgan", "digits", overrides=TINY, steps=2, out=root / "run", device="cpu", progress=False)
    gankit.export(root / "run", root / "model")
    return root


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_booby_trapped_pickle_as_model_weights_is_refused_and_never_runs(trained, tmp_path, protocol, capsys):
    marker = tmp_path / "pwned"
    model = _copy(trained / "model", tmp_path / "model")
    (model / "model.safetensors").write_bytes(pickle.dumps({"w": _Trap(marker)}, protocol=protocol))
    with pytest.raises(CheckpointError, match="pickle"):
        gankit.load(model)
    assert main(["sample", str(model), "--out", str(tmp_path / "x.png")]) == 2
    assert "never unpickles" in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.pt", "model.ckpt", "model.safetensors"])
def test_torch_save_zip_renamed_is_refused(trained, tmp_path, name):
    import torch

    marker = tmp_path / "pwned"
    model = _copy(trained / "model", tmp_path / "model")
    torch.save({"w": _Trap(marker)}, model / name)
    if name != "model.safetensors":
        (model / "model.safetensors").write_bytes((model / name).read_bytes())
    with pytest.raises(CheckpointError, match="pickle/zip"):
        gankit.load(model)
    assert not marker.exists()


def test_booby_trapped_checkpoint_is_skipped_by_resume(trained, tmp_path, capfd):
    marker = tmp_path / "pwned"
    run = _copy(trained / "run", tmp_path / "run")
    good = checkpoint.candidates(run / "checkpoints")[0]
    bad = run / "checkpoints" / "step_00000099"
    _copy(good, bad)
    (bad / checkpoint.TENSORS).write_bytes(pickle.dumps(_Trap(marker)))
    ck, problems = checkpoint.latest(run / "checkpoints")
    assert ck.path == good and len(problems) == 1 and "step_00000099" in problems[0]
    assert not marker.exists()


def test_oversized_safetensors_header_is_refused_before_allocating(trained, tmp_path):
    model = _copy(trained / "model", tmp_path / "model")
    (model / "model.safetensors").write_bytes(struct.pack("<Q", 1 << 60) + b"{}")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        gankit.load(model)


@pytest.mark.parametrize("content, fragment", [
    ("{", "not valid JSON"),
    ("[]", "not a gankit model folder"),
    (json.dumps({"format": "gankit-model", "format_version": 99}), "format version 99"),
    (json.dumps({"format": "gankit-model", "format_version": 1}), "missing or malformed"),
    (json.dumps({"format": "gankit-model", "format_version": 1, "model": {"name": "dcgan", "z_dim": "big"},
                 "data": {}}), "z_dim"),
    (json.dumps({"format": "gankit-model", "format_version": 1, "model": {"name": "rm -rf"}, "data": {}}),
     "unknown model"),
])
def test_malformed_config_json_is_refused_in_one_line(trained, tmp_path, content, fragment, capsys):
    model = _copy(trained / "model", tmp_path / "model")
    (model / "config.json").write_text(content)
    assert main(["sample", str(model), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_weights_that_do_not_fit_are_named(trained, tmp_path):
    from safetensors.torch import load_file, save_file

    model = _copy(trained / "model", tmp_path / "model")
    tensors = load_file(str(model / "model.safetensors"))
    key = next(k for k, v in tensors.items() if v.dim() == 4)
    tensors[key] = tensors[key][:1].clone()
    save_file(tensors, str(model / "model.safetensors"))
    with pytest.raises(CheckpointError, match="weights do not fit the model"):
        gankit.load(model)
