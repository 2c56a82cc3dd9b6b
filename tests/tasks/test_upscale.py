"""gankit upscale: tiles equal the whole image, true x4 of any size on files, hostile files skipped with a count."""

import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.data.sr import lr_from_hr
from gankit.models import DataInfo
from gankit.models.enhancenet import EnhanceNetGenerator
from gankit.nn.resize import imresize
from gankit.nn.tiling import run_tiled

from ..conftest import shared


def test_tiles_give_the_whole_image_output():
    torch.manual_seed(0)
    G = EnhanceNetGenerator(3, 4, width=8, blocks=2).eval()
    x = torch.rand(1, 3, 40, 37)
    with torch.no_grad():
        whole = G(x)
        tiled = run_tiled(G, x, 4, tile=16, overlap=G.receptive_radius)  # 3 x 3 tiles, the receptive field's margin
        seams = run_tiled(G, x, 4, tile=16, overlap=0)
    assert tiled.shape == whole.shape == (1, 3, 160, 148)
    assert torch.allclose(tiled, whole, atol=1e-5)
    assert not torch.allclose(seams, whole, atol=1e-3)  # without a margin the tile borders show
    full = EnhanceNetGenerator(3, 4).eval()  # the paper's G: 10 blocks, the margin it needs is 25 input pixels
    x = torch.rand(1, 3, 70, 60)
    with torch.no_grad():
        assert torch.allclose(run_tiled(full, x, 4, tile=24, overlap=full.receptive_radius), full(x), atol=1e-5)


def test_sr_data_pairs_a_crop_with_its_bicubic_downscaling():
    from gankit.config import DataConfig
    from gankit.data import load_dataset

    data = load_dataset(DataConfig(spec=f"cbsd68:{shared('sr')}", img_size=32))
    item, label = data[(0, 5)]
    assert set(item) == {"A", "B"} and label == -1  # no labels
    assert item["B"].shape == (3, 32, 32) and item["A"].shape == (3, 8, 8)
    assert torch.equal(item["A"], lr_from_hr(item["B"], 4))
    assert data.info == DataInfo("cbsd68", 32, 3, kind="sr", in_channels=3, scale=4)
    expected = (imresize(item["B"][None].float() / 255, scale=0.25) * 255).round().clamp(0, 255).to(torch.uint8)[0]
    assert torch.equal(item["A"], expected)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("enh")
    assert main(["train", "enhancenet", "--data", f"cbsd68:{shared('sr')}", "--set", "model.losses=E", "--set",
                 "model.width=8", "--set", "model.blocks=1", "--set", "data.img_size=32", "--steps", "1",
                 "--batch-size", "2", "--out", str(root / "run"), "--quiet", "--device", "cpu"]) == 0
    return root / "run"


def test_upscale_files_keeps_names_formats_and_grey(model_dir, tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.new("RGB", (13, 7), (200, 10, 10)).save(src / "a.jpg")
    Image.new("L", (9, 11), 90).save(src / "sub" / "b.png")
    out = tmp_path / "out"
    assert main(["upscale", str(model_dir), str(src), "--out", str(out), "--compare", str(tmp_path / "cmp"),
                 "--quiet", "--tile", "4"]) == 0
    with Image.open(out / "a.jpg") as a, Image.open(out / "sub" / "b.png") as b:
        assert (a.size, a.mode, b.size, b.mode) == ((52, 28), "RGB", (36, 44), "L")
    assert (tmp_path / "cmp" / "sub" / "b.png").is_file()
    originals = tmp_path / "hr" / "sub"
    originals.mkdir(parents=True)
    Image.new("L", (36, 44), 200).save(originals / "b.tif")  # found by name, whatever its format
    assert main(["upscale", str(model_dir), str(src), "--out", str(out), "--compare", str(tmp_path / "cmp3"),
                 "--originals", str(tmp_path / "hr"), "--quiet"]) == 0
    cmp2, cmp3 = tmp_path / "cmp" / "sub" / "b.png", tmp_path / "cmp3" / "sub" / "b.png"
    with Image.open(cmp2) as two, Image.open(cmp3) as three:
        assert two.height == three.height and three.width > two.width * 1.4  # bicubic | gankit | original
    with Image.open(tmp_path / "cmp" / "a.png") as two, Image.open(tmp_path / "cmp3" / "a.png") as same:
        assert two.size == same.size  # no original of a.jpg: two columns


def test_hostile_files_are_upscaled_or_skipped_with_a_count(model_dir, tmp_path, capsys):
    from ..data.hostile import assert_each_readable_file_written, make_corpus

    expected = make_corpus(tmp_path / "corpus")
    assert main(["upscale", str(model_dir), str(tmp_path / "corpus"), "--out", str(tmp_path / "out"),
                 "--quiet"]) == 0
    must_skip = [n for n, (kind, _) in expected.items() if kind == "skip"]
    assert f"skipped {len(must_skip)} of" in capsys.readouterr().err
    assert_each_readable_file_written(expected, tmp_path / "out", lambda size: (4 * size[0], 4 * size[1]))


def test_a_model_that_does_not_upscale_is_one_line(model_dir, tmp_path, capsys):
    assert main(["train", "dcgan", "--steps", "1", "--set", "model.base_channels=4", "--set", "data.img_size=16",
                 "--out", str(tmp_path / "d"), "--quiet", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["upscale", str(tmp_path / "d"), str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "dcgan does not upscale images" in err and "'gankit upscale' serves enhancenet" in err
    assert err.count("\n") == 1


def test_photos_smaller_than_the_crop_are_skipped_with_a_count(tmp_path, capsys):
    from gankit.config import DataConfig
    from gankit.data import load_dataset
    from gankit.errors import DataError

    for i, side in enumerate((40, 20, 36)):
        Image.new("RGB", (side, side + 3), (i * 60, 20, 20)).save(tmp_path / f"{i}.png")
    data = load_dataset(DataConfig(spec=f"sr:{tmp_path}", img_size=32))
    assert len(data) == 2 and "skipped 1 of 3 images smaller than the 32x32 crop" in capsys.readouterr().err
    with pytest.raises(DataError, match="no image is at least 64x64"):
        load_dataset(DataConfig(spec=f"sr:{tmp_path}", img_size=64))
