"""Translation data: paired (A|B side by side, A/ + B/) and unpaired (trainA/trainB) folders, and the built-in
photo and digit tasks."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import BatchStream, load_dataset
from gankit.data.demos import LUMA, _regions
from gankit.data.pairs import Geometry
from gankit.errors import DataError

from ..conftest import shared


def texture(rng, h, w, c=3):
    return rng.integers(0, 256, (h, w, c), dtype=np.uint8)


def batches(spec, n=4, batch_size=4, **cfg):
    cfg.setdefault("img_size", 16)
    data = load_dataset(DataConfig(spec=spec, **cfg))
    stream = BatchStream(data, batch_size, seed=0, device=torch.device("cpu"))
    return data, [stream() for _ in range(n)]


def test_side_by_side_pairs_get_the_same_resize_crop_and_flip(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(5):
        a = texture(rng, 20 + 3 * i, 24)  # a different size each: resize and crop positions vary
        Image.fromarray(np.concatenate([a, a], 1)).save(tmp_path / f"{i}.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    data, bs = batches(f"paired:{tmp_path}", n=6, load_size=21)  # defaults: random crops and flips
    assert "skipped 1 of 6 files" in capsys.readouterr().err
    assert data.info.kind == "paired" and data.info.in_channels == data.info.img_channels == 3
    for b in bs:
        assert b["A"].shape == (4, 3, 16, 16) and torch.equal(b["A"], b["B"])
    # ... and the crops and flips really are random: the same file does not always give the same crop
    first = [data[(0, seed)][0]["A"] for seed in range(8)]
    assert any(not torch.equal(first[0], x) for x in first[1:])


def test_A_and_B_folders_match_by_name_and_direction_swaps(tmp_path, capsys):
    rng = np.random.default_rng(1)
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    for i in range(4):
        a = texture(rng, 18, 18)
        Image.fromarray(a).save(tmp_path / "A" / f"{i}.png")
        Image.fromarray(255 - a).save(tmp_path / "B" / f"{i}.png")
    Image.fromarray(texture(rng, 18, 18)).save(tmp_path / "A" / "lonely.png")
    data, bs = batches(f"paired:{tmp_path}", crop="random", flip=True)
    assert "1 of 5 files in A/ have no partner" in capsys.readouterr().err
    assert len(data) == 4
    for b in bs:  # B = 255 - A, so in [-1, 1]: B = -A (up to 1/127.5 from the asymmetric uint8 range)
        assert torch.allclose(b["B"], -b["A"], atol=1 / 127.5 + 1e-6)
    _, swapped = batches(f"paired:{tmp_path}", crop="random", flip=True, direction="BtoA")
    assert torch.equal(swapped[0]["A"], bs[0]["B"]) and torch.equal(swapped[0]["B"], bs[0]["A"])


def test_paired_channels_are_guessed_per_domain_or_set(tmp_path):
    rng = np.random.default_rng(2)
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    for i in range(3):
        Image.fromarray(texture(rng, 16, 16, 1)[:, :, 0]).save(tmp_path / "A" / f"{i}.png")  # grayscale
        Image.fromarray(texture(rng, 16, 16)).save(tmp_path / "B" / f"{i}.png")
    data, bs = batches(f"paired:{tmp_path}")
    assert (data.info.in_channels, data.info.img_channels) == (1, 3)
    assert bs[0]["A"].shape[1] == 1 and bs[0]["B"].shape[1] == 3
    data, bs = batches(f"paired:{tmp_path}", in_channels=3, channels=1)
    assert bs[0]["A"].shape[1] == 3 and bs[0]["B"].shape[1] == 1


def test_train_and_test_subfolders_are_used_for_the_split(tmp_path):
    rng = np.random.default_rng(3)
    for split, n in (("train", 3), ("test", 2)):
        (tmp_path / split).mkdir()
        for i in range(n):
            Image.fromarray(texture(rng, 16, 32)).save(tmp_path / split / f"{i}.png")
    assert len(load_dataset(DataConfig(spec=f"paired:{tmp_path}", img_size=16))) == 3
    assert len(load_dataset(DataConfig(spec=f"paired:{tmp_path}", img_size=16, split="test"))) == 2


def test_unpaired_domains_are_sampled_independently(tmp_path):
    for domain, n in (("A", 3), ("B", 7)):
        (tmp_path / f"train{domain}").mkdir()
        for i in range(n):
            Image.fromarray(np.full((16, 16, 3), 10 * i + (domain == "B") * 100, np.uint8)).save(
                tmp_path / f"train{domain}" / f"{i}.png")
    data = load_dataset(DataConfig(spec=f"unpaired:{tmp_path}", img_size=16))
    assert data.info.kind == "unpaired" and len(data) == 7
    partners = {int(data[(0, seed)][0]["B"][0, 0, 0]) for seed in range(40)}
    assert len(partners) > 3  # the same A image meets many different B images
    with pytest.raises(DataError, match="testA"):
        load_dataset(DataConfig(spec=f"unpaired:{tmp_path}", img_size=16, split="test"))


def test_empty_and_missing_folders_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        load_dataset(DataConfig(spec=f"paired:{tmp_path / 'nope'}"))
    with pytest.raises(DataError, match="holds no files"):
        load_dataset(DataConfig(spec=f"paired:{tmp_path}"))
    with pytest.raises(DataError, match="trainA"):
        load_dataset(DataConfig(spec=f"unpaired:{tmp_path}"))
    with pytest.raises(DataError, match="needs a directory"):
        load_dataset(DataConfig(spec="paired"))


@pytest.mark.parametrize("resize, size, expected", [
    ("shorter", (40, 20), (60, 30)),   # shorter side to 30, aspect kept
    ("width", (40, 20), (30, 16)),     # width to 30 would leave 15 rows < the 16-pixel crop: scaled up to fit
    ("width", (20, 40), (30, 60)),
    ("square", (40, 20), (30, 30)),    # the pix2pix code's resize_and_crop
])
def test_resize_modes(resize, size, expected):
    g = Geometry(DataConfig(resize=resize), img_size=16, load_size=30, default_crop="random", default_flip=False)
    tw, th = g.target_size(*size)
    assert (tw, th) == expected or (resize == "width" and min(tw, th) == 16 and tw == 32)


def test_colorize_pairs_are_the_luma_of_their_photo_and_test_crops_are_held_out():
    data = load_dataset(DataConfig(spec="colorize", img_size=32))
    item, _ = data[(5, 123)]
    luma = (item["B"].float() * LUMA).sum(0, keepdim=True).round().to(torch.uint8)
    assert item["A"].shape == (1, 32, 32) and torch.equal(item["A"], luma)
    test = load_dataset(DataConfig(spec="colorize", img_size=32, split="test"))
    assert len(test) > 0 and not test.random
    for p, top, left in test.grid:  # every held-out crop lies inside its photo's test region
        t, l, h, w = _regions(*test.photos[p].shape[-2:])["test"]
        assert t <= top and top + 32 <= t + h and l <= left and left + 32 <= l + w
        tr_t, tr_l, tr_h, tr_w = _regions(*test.photos[p].shape[-2:])["train"]
        assert top >= tr_t + tr_h or left >= tr_l + tr_w  # and outside its training region
    assert torch.equal(test[(0, 1)][0]["B"], test[(0, 2)][0]["B"])  # fixed, whatever the seed


def test_edges_are_binary_line_drawings():
    data = load_dataset(DataConfig(spec="edges", img_size=64))
    a = torch.stack([data[(i, i)][0]["A"] for i in range(20)])
    assert a.shape == (20, 1, 64, 64) and set(a.unique().tolist()) <= {0, 255}
    assert 0.02 < (a == 0).float().mean() < 0.5  # some lines, mostly paper


def test_mnist2digits_domains():
    root = shared("mnist")
    data = load_dataset(DataConfig(spec=f"mnist2digits:{root}"))
    assert data.info.kind == "unpaired" and data.info.img_size == 32
    assert len(data.images_A) == 10_000 and len(data.images_B) == 1500  # MNIST train10k, digits' train split
    item, _ = data[(3, 9)]
    assert item["A"].shape == item["B"].shape == (1, 32, 32)
