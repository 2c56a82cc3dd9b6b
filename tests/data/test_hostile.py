"""Hostile and unusual image files: each is loaded correctly or skipped with its reason; nothing crashes."""

import os

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data.folder import ImageFolder

from .hostile import make_corpus


def test_hostile_corpus_is_loaded_or_skipped_with_reasons(tmp_path, capfd):
    root = tmp_path / "corpus"
    expected = make_corpus(root)
    assert len(expected) >= 200
    # A flat folder (the sub-folder holds only a symlink to its parent: it must not be recursed into forever).
    ds = ImageFolder(root, DataConfig(spec=f"folder:{root}", img_size=16, channels=3))
    loaded = {os.path.basename(p) for p, _ in ds.files}
    skipped = {os.path.basename(p): why for p, why in ds.skipped.items()}
    must_load = {n for n, (kind, _) in expected.items() if kind == "load"}
    must_skip = {n: why for n, (kind, why) in expected.items() if kind == "skip"}
    assert loaded == must_load
    assert set(skipped) == set(must_skip)
    for name, why in must_skip.items():
        assert why in skipped[name], (name, skipped[name])
    assert "skipped" in capfd.readouterr().err
    for i in range(len(ds)):
        x = ds.load(i, seed=i)
        assert x.shape == (3, 16, 16) and x.dtype == torch.uint8


def test_exif_rotation_and_odd_modes_decode_to_the_right_pixels(tmp_path):
    from PIL import Image

    from gankit.data.transforms import to_mode

    root = tmp_path / "corpus"
    expected = make_corpus(root)
    for name, (kind, size) in expected.items():
        if kind != "load":
            continue
        with Image.open(root / name) as img:
            out = to_mode(img, 3)
        assert out.mode == "RGB" and out.size == size, name
    with Image.open(root / "rgba.png") as a, Image.open(root / "plain.png") as b:
        assert np.array_equal(np.asarray(to_mode(a, 3)), np.asarray(b.convert("RGB")))  # opaque alpha: same pixels


@pytest.mark.parametrize("channels", [1, 3])
def test_training_on_a_hostile_folder_runs(tmp_path, channels):
    import gankit

    from ..conftest import TINY

    root = tmp_path / "corpus"
    make_corpus(root)
    run = gankit.train("dcgan", f"folder:{root}", overrides=[*TINY, f"data.channels={channels}"], steps=2,
                       out=tmp_path / "run", device="cpu", progress=False)
    assert run.status == "finished"
