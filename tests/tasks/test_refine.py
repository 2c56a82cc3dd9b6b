"""gankit refine: names, class folders and label files kept, any size, tiles equal the whole image, hostile files
refined or skipped with a count."""

import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("simgan")
    assert main(["train", "simgan", "--data", "digits", "--set", "data.real=digits", "--set", "data.img_size=16",
                 "--set", "model.width=8", "--set", "model.pretrain_r=1", "--set", "model.pretrain_d=1",
                 "--steps", "3", "--batch-size", "8", "--out", str(root / "run"), "--quiet", "--device", "cpu"]) == 0
    return root / "run"


def test_a_refined_set_keeps_names_class_folders_and_label_files(model_dir, tmp_path):
    src = tmp_path / "synthetic"
    for label in ("3", "7"):
        (src / label).mkdir(parents=True)
        Image.new("L", (16, 16), 40 * int(label)).save(src / label / f"a{label}.png")
    Image.new("RGB", (30, 21), (10, 200, 30)).save(src / "3" / "wide.jpg")
    (src / "labels.csv").write_text("file,label\n3/a3.png,3\n7/a7.png,7\n")
    out = tmp_path / "refined"
    assert main(["refine", str(model_dir), str(src), "--out", str(out), "--quiet"]) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == \
        ["3/a3.png", "3/wide.jpg", "7/a7.png", "labels.csv"]
    assert (out / "labels.csv").read_text() == (src / "labels.csv").read_text()
    with Image.open(out / "3" / "wide.jpg") as wide, Image.open(out / "7" / "a7.png") as a7:
        assert (wide.size, wide.mode, a7.size, a7.mode) == ((30, 21), "L", (16, 16), "L")  # a grey model: luma in


def test_tiles_give_the_whole_image_output(model_dir):
    model = gankit.load(model_dir)
    x = torch.rand(2, 1, 40, 33, generator=torch.Generator().manual_seed(0))
    whole = model.refine(x)
    tiled = model.refine(x, tile=8)  # 5 x 5 tiles with the refiner's 9-pixel margin
    assert whole.shape == x.shape and torch.allclose(tiled, whole, atol=1e-5)


def test_hostile_files_are_refined_or_skipped_with_a_count(model_dir, tmp_path, capsys):
    from ..data.hostile import assert_each_readable_file_written, make_corpus

    expected = make_corpus(tmp_path / "corpus")
    assert main(["refine", str(model_dir), str(tmp_path / "corpus"), "--out", str(tmp_path / "out"),
                 "--quiet"]) == 0
    must_skip = [n for n, (kind, _) in expected.items() if kind == "skip"]
    assert f"skipped {len(must_skip)} of" in capsys.readouterr().err
    assert_each_readable_file_written(expected, tmp_path / "out", lambda size: size)  # each keeps its size


def test_a_model_that_does_not_refine_is_one_line(tmp_path, capsys):
    assert main(["train", "dcgan", "--steps", "1", "--set", "model.base_channels=4", "--set", "data.img_size=16",
                 "--out", str(tmp_path / "d"), "--quiet", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["refine", str(tmp_path / "d"), str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "dcgan does not refine images" in err and "'gankit refine' serves simgan" in err
    assert err.count("\n") == 1


def test_evaluate_reports_the_change_and_the_real_classifier_view(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    from gankit.evaluate import evaluate

    m = evaluate(model_dir, progress=False)
    assert 0 < m["mean_change"] < 1 and 0 <= m["label_kept"] <= 1 and m["fd_refined"] >= 0
    assert m["images"] == 297  # the digits' held-out split
