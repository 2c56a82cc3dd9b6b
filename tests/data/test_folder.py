import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import BatchStream, load_dataset
from gankit.errors import DataError


def test_class_folders_skip_and_count_bad_files(image_folder, capsys):
    ds = load_dataset(DataConfig(spec=f"folder:{image_folder}", img_size=16))
    assert len(ds) == 12
    assert len(ds.skipped) == 3
    reasons = sorted(ds.skipped.values())
    assert reasons == ["not an image", "not an image", "truncated"]
    assert "skipped 3 of 15 files" in capsys.readouterr().err
    assert ds.info.class_names == ["cats", "dogs"] and ds.info.img_channels == 3


def test_flat_folder_grayscale_and_crops(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((40, 30), 50 * i, np.uint8)).save(tmp_path / f"{i}.png")
    ds = load_dataset(DataConfig(spec=f"folder:{tmp_path}", img_size=16, crop="random", flip=True))
    assert ds.info.num_classes == 0 and ds.info.img_channels == 1
    x, label = ds[(2, 123)]
    assert x.shape == (1, 16, 16) and x.dtype == torch.uint8 and label == -1
    assert torch.equal(ds[(1, 5)][0], ds[(1, 5)][0])  # augmentation is a function of the seed


def test_empty_and_all_bad_folders_fail_before_training(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no files"):
        load_dataset(DataConfig(spec=f"folder:{tmp_path / 'empty'}"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="none of its 1 files is a readable image"):
        load_dataset(DataConfig(spec=f"folder:{bad}"))
    with pytest.raises(DataError, match="not a directory"):
        load_dataset(DataConfig(spec=f"folder:{tmp_path / 'nope'}"))


def test_file_vanishing_mid_run_is_replaced(image_folder):
    ds = load_dataset(DataConfig(spec=f"folder:{image_folder}", img_size=8))
    path = ds.files[0][0]
    import os
    os.remove(path)
    x, _ = ds[(0, 1)]
    assert x.shape == (3, 8, 8) and ds.failed_late == 1


def test_stream_batches_with_workers(image_folder):
    ds = load_dataset(DataConfig(spec=f"folder:{image_folder}", img_size=8, crop="random", flip=True,
                                 workers=1))
    a = BatchStream(ds, 5, seed=1, device=torch.device("cpu"), workers=1)
    batches = [a() for _ in range(4)]
    assert batches[0]["x"].shape == (5, 3, 8, 8) and batches[0]["label"].shape == (5,)
    assert batches[0]["x"].min() >= -1 and batches[0]["x"].max() <= 1
    b = BatchStream(ds, 5, seed=1, device=torch.device("cpu"), drawn=2, workers=0)
    assert torch.equal(b()["x"], batches[2]["x"])  # restarting at batch 2 gives the same pixels
