"""`gankit evaluate RUN --inception FILE`: the standard FID/KID/IS beside gankit's own metrics, the file checked
before anything slow, and one-line errors. Offline: a port-like file of random weights, accepted by patching the
published checksum to its own."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.nn import inception as inc
from gankit.safetensors_io import sha256_of

from .conftest import TINY


@pytest.fixture(scope="module")
def port_file(tmp_path_factory):
    net = inc.fid_inception(seed=1)
    path = tmp_path_factory.mktemp("weights") / inc.INCEPTION_FILE
    torch.save({k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}, path)
    return path


def test_a_wrong_file_is_one_line_and_exit_2_before_the_run_is_read(tmp_path, capsys, port_file):
    assert main(["evaluate", str(tmp_path / "no-such-run"), "--inception", str(port_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert sha256_of(port_file) in err and inc.INCEPTION_SHA256 in err


def test_evaluate_adds_the_standard_metrics(tmp_path, monkeypatch, capsys, port_file):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(inc, "INCEPTION_SHA256", sha256_of(port_file))
    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(data / f"{i}.png")
    gankit.train("dcgan", f"folder:{data}", overrides=TINY, steps=1, out=tmp_path / "r", device="cpu",
                 progress=False)
    out = tmp_path / "m.json"
    assert main(["evaluate", str(tmp_path / "r"), "--n", "3", "--inception", str(port_file), "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    assert m["fid"] > 0 and np.isfinite(m["kid"]) and m["kid_std"] >= 0 and m["is"] >= 1 and m["is_std"] >= 0
    assert "fd_imagenet_lite0" in m  # gankit's own numbers stay beside them
    printed = capsys.readouterr().out
    assert all(f"\n{key} " in printed for key in ("fid", "kid", "kid_std", "is", "is_std"))
    cache = tmp_path / "cache"
    assert len(list((cache / "inception-features").iterdir())) == 1  # the 4 real images' features
    assert (cache / "weights" / f"fid-inception-{sha256_of(port_file)[:8]}.safetensors").is_file()


def test_models_that_do_not_sample_images_are_refused(tmp_path, monkeypatch, capsys, port_file):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(inc, "INCEPTION_SHA256", sha256_of(port_file))
    gankit.train("gan", "ring8", overrides=["train.tensorboard=false", "model.z_dim=2", "model.g_width=8",
                 "model.d_width=8", "train.batch_size=8"], steps=1, out=tmp_path / "r", device="cpu", progress=False)
    assert main(["evaluate", str(tmp_path / "r"), "--inception", str(port_file)]) == 2
    assert "--inception measures images sampled from noise; gan on ring8" in capsys.readouterr().err
