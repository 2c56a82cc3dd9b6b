import gzip

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.errors import DataError

from ..conftest import shared
from .test_idx import idx_bytes


def test_digits_default():
    ds = load_dataset(DataConfig())
    assert ds.info.img_size == 32 and ds.info.img_channels == 1 and ds.info.num_classes == 10
    assert ds.images.shape == (1500, 1, 32, 32) and ds.images.dtype == torch.uint8
    test = load_dataset(DataConfig(split="test"))
    assert len(test) == 297  # disjoint from the 1,500 training images


def test_digits_rgb_and_size():
    ds = load_dataset(DataConfig(img_size=16, channels=3))
    assert ds.images.shape[1:] == (3, 16, 16)
    assert torch.equal(ds.images[:, 0], ds.images[:, 2])


def write_mnist(d, n=5, prefix="train"):
    d.mkdir(parents=True, exist_ok=True)
    imgs = np.random.default_rng(0).integers(0, 255, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    (d / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(imgs)))
    lab = bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + labels.tobytes()
    (d / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(lab))
    return imgs, labels


def test_mnist_from_dir_with_pad(tmp_path):
    imgs, labels = write_mnist(tmp_path / "mnist")
    ds = load_dataset(DataConfig(spec=f"mnist:{tmp_path}", fit="pad"))
    assert ds.images.shape == (5, 1, 32, 32)
    assert torch.equal(ds.images[:, 0, 2:30, 2:30], torch.from_numpy(imgs))  # zero padding is lossless
    assert ds.labels.tolist() == labels.tolist()


def test_mnist_env_var(tmp_path, monkeypatch):
    write_mnist(tmp_path, prefix="t10k")
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path))
    ds = load_dataset(DataConfig(spec="mnist", split="test"))
    assert len(ds) == 5


def test_missing_files_say_what_and_where(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(spec=f"fashion-mnist:{tmp_path}"))
    assert "train-images-idx3-ubyte.gz" in str(e.value) and str(tmp_path) in str(e.value)


def test_real_mnist_and_fashion():
    mnist = load_dataset(DataConfig(spec=f"mnist:{shared('mnist')}", split="test"))
    assert len(mnist) == 10_000 and mnist.info.class_names[3] == "3"
    fashion = load_dataset(DataConfig(spec=f"fashion-mnist:{shared('fashion_mnist')}", split="test"))
    assert len(fashion) == 10_000 and fashion.info.class_names[9] == "Ankle boot"
    train = load_dataset(DataConfig(spec=f"mnist:{shared('mnist')}"))  # train10k-* is found for 'train'
    assert len(train) == 10_000


def test_stacked_mnist_is_three_digits(tmp_path):
    imgs, labels = write_mnist(tmp_path / "mnist", n=7)
    ds = load_dataset(DataConfig(spec=f"stacked-mnist:{tmp_path}", fit="pad"))
    assert ds.info.img_channels == 3 and ds.info.num_classes == 1000
    b = ds.batch(torch.arange(4), torch.Generator())
    assert b["x"].shape == (4, 3, 32, 32)
    t = ds.triples[:4]
    for c in range(3):  # channel c is base image triples[:, c], and the label's digit c is its class
        expected = torch.from_numpy(imgs)[t[:, c]].float() / 127.5 - 1
        assert torch.equal(b["x"][:, c, 2:30, 2:30], expected)
    digits = torch.from_numpy(labels.astype("int64"))[t]
    assert torch.equal(b["label"], digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])


def test_mixtures_match_the_protocol():
    from gankit.data.mixtures import grid25_means, ring8_means

    ring = load_dataset(DataConfig(spec="ring8"))
    x, modes = ring.sample(4000, torch.Generator().manual_seed(0))
    assert torch.allclose(ring8_means().float().norm(dim=1), torch.ones(8))
    dist = (x - ring.means[modes]).norm(dim=1)
    assert (dist < 0.05).all() and abs(x.sub(ring.means[modes]).std().item() - 0.01) < 0.001
    grid = load_dataset(DataConfig(spec="grid25"))
    assert sorted(set(grid25_means()[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0] and grid.sigma == 0.05
    with pytest.raises(DataError):
        load_dataset(DataConfig(spec="ring8:somewhere"))
