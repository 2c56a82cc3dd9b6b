"""data.exclude_classes (anomaly detection: train on normal classes) and data.labels_per_class (semi-supervised)."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.errors import DataError


def test_excluded_classes_are_gone_and_the_rest_kept():
    full = load_dataset(DataConfig(spec="digits"))
    kept = load_dataset(DataConfig(spec="digits", exclude_classes=[3, 7]))
    assert len(kept) == len(full) - int(((full.labels == 3) | (full.labels == 7)).sum())
    assert not torch.isin(kept.labels, torch.tensor([3, 7])).any()
    assert kept.info.num_classes == 10  # class indices keep their meaning


def test_labelled_subset_sizes_and_batches():
    data = load_dataset(DataConfig(spec="digits", labels_per_class=4))
    assert len(data) == 1500  # every image stays, unlabelled
    assert torch.bincount(data.labels[data.labelled], minlength=10).tolist() == [4] * 10
    again = load_dataset(DataConfig(spec="digits", labels_per_class=4))
    assert torch.equal(data.labelled, again.labelled)  # a fixed choice: part of the data's definition
    batch = data.batch(torch.arange(32), torch.Generator().manual_seed(0))
    assert set(batch) == {"x", "x_l", "label_l"}  # no label reaches the unlabelled batch
    assert batch["x"].shape == batch["x_l"].shape == (32, 1, 32, 32)
    # every labelled image is one of the 40, with its own label
    labelled_images = data.images[data.labelled].float() / 127.5 - 1
    for x, y in zip(batch["x_l"], batch["label_l"]):
        match = (labelled_images - x).abs().flatten(1).amax(1) < 1e-6
        assert match.any() and data.labels[data.labelled][match][0] == y


def test_clear_errors(tmp_path):
    with pytest.raises(DataError, match="classes 0..9"):
        load_dataset(DataConfig(spec="digits", exclude_classes=[12]))
    with pytest.raises(DataError, match="fewer images of class"):
        load_dataset(DataConfig(spec="digits", labels_per_class=1000))
    with pytest.raises(DataError, match="not to ring8"):
        load_dataset(DataConfig(spec="ring8", labels_per_class=3))
    for i in range(3):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / f"{i}.png")
    with pytest.raises(DataError, match="flat"):
        load_dataset(DataConfig(spec=f"folder:{tmp_path}", exclude_classes=[0]))
    with pytest.raises(DataError, match="built-in labelled sets"):
        load_dataset(DataConfig(spec=f"folder:{tmp_path}", labels_per_class=1))


def test_class_folders_can_leave_a_class_out(image_folder):
    data = load_dataset(DataConfig(spec=f"folder:{image_folder}", exclude_classes=[0]))
    assert {label for _, label in data.files} == {1} and len(data) == 6
