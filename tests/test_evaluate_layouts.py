"""`gankit evaluate` on every data layout gankit trains on: numbers, or one line saying what is wrong and what to do
(exit code 2), never a traceback. Issue 37: a run on class folders died with AttributeError, since the classifier read
`.images`, which only the in-memory sets have; a class folder has no test split either, so the classifier is tested
on a seeded 10 % of each class it did not train on."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.folder import HELD_OUT_SHARE
from gankit.errors import DataError

from .conftest import TINY
from .data.test_attributes import faces
from .models.test_stargan import SMALL as STARGAN
from .models.test_translation import SETTINGS as TRANSLATION
from .models.test_translation import texture

SMALL = {  # a few milliseconds a step each
    "dcgan": TINY, "cgan": TINY, "bigan": [*TINY, "model.width=32"], "triplegan": [*TINY, "model.g_width=32"],
    "stargan": [*STARGAN, "model.n_critic=1"], "pix2pix": TRANSLATION["pix2pix"],
    "cyclegan": TRANSLATION["cyclegan"],
    "gan": ["train.tensorboard=false", "model.z_dim=2", "model.g_width=16", "model.d_width=16", "train.batch_size=8"],
}


@pytest.fixture(autouse=True)
def _own_cache_one_thread(tmp_path, monkeypatch):
    """A fresh classifier cache per test; one thread, faster for these tiny networks than several on shared cores."""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train(model, spec, tmp_path, *extra):
    run = tmp_path / f"run-{model}"
    gankit.train(model, spec, overrides=[*SMALL[model], *extra], steps=2, out=run, device="cpu", progress=False)
    return run


def evaluate(run, capsys, n=40):
    """(exit code, metrics from --out or None, the error line or None, all of stderr)."""
    out_file = run / "metrics.json"
    code = main(["evaluate", str(run), "--n", str(n), "--out", str(out_file)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Error:" not in err  # no Python exception leaks, whatever the outcome
    errors = [line for line in err.splitlines() if line.startswith("gankit evaluate: error: ")]
    if code == 0:
        assert not errors and out_file.is_file()
        metrics = json.loads(out_file.read_text())
        assert all(k in out for k in metrics if not isinstance(metrics[k], list))  # the table shows them too
        return code, metrics, None, err
    assert code == 2 and len(errors) == 1 and not out_file.exists()  # one line, nothing written
    return code, None, errors[0], err


def finite(*values):
    return all(isinstance(v, float) and math.isfinite(v) for v in values)


# ------------------------------------------------------------------------------------ class folders (issue 37)


@pytest.mark.parametrize("model", ["dcgan", "cgan", "bigan", "triplegan", "stargan"])
def test_class_folders(model, image_folder, tmp_path, capsys):
    """Two class sub-folders (6 readable images each, 3 bad files): samples scored in the features of a classifier
    trained on 5 images of each class and tested on the other one (a seeded 10 %, at least one per class)."""
    run = train(model, f"folder:{image_folder}", tmp_path)
    capsys.readouterr()
    code, m, _, err = evaluate(run, capsys)
    assert code == 0 and m["step"] == 2
    if model == "stargan":  # multi-domain translation: the class folders are its domains
        assert m["images"] == 12 and 0 <= m["target_accuracy_own_D"] <= 1
        assert {"target_accuracy_own_D_cats", "target_accuracy_own_D_dogs"} <= set(m)
        return
    assert "on 10 of its 12 images, testing it on the other 2 (a seeded 10% of each class" in err
    assert m["classifier_test_accuracy"] in (0.0, 0.5, 1.0)  # two held-out images
    assert finite(m["fd_folder_classifier"], m["precision"], m["recall"], m["kl_to_data"])
    assert 1 <= m["classes_covered"] <= 2 and len(m["class_histogram"]) == 2
    extra = {"cgan": ["conditional_accuracy"], "bigan": ["encoding_1nn_accuracy", "encoding_linear_accuracy"],
             "triplegan": ["conditional_accuracy", "classify_accuracy"]}.get(model, [])
    assert all(0 <= m[k] <= 1 for k in extra)


def test_class_folder_classifier_is_cached_until_the_folder_changes(image_folder, tmp_path, capsys):
    run = train("dcgan", f"folder:{image_folder}", tmp_path)
    first = evaluate(run, capsys)[1]
    _, again, _, err = evaluate(run, capsys)
    assert "training the folder classifier" not in err and again == first  # cached: the same numbers
    Image.fromarray(np.zeros((20, 24, 3), np.uint8)).save(image_folder / "dogs" / "new.png")
    assert "on 11 of its 13 images" in evaluate(run, capsys)[3]  # a changed folder trains a new one
    assert len(list((tmp_path / "cache" / "classifiers").iterdir())) == 2


def test_held_out_share_is_seeded_stratified_and_disjoint(tmp_path):
    for cls, n in (("a", 20), ("b", 7), ("c", 1)):
        (tmp_path / "f" / cls).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((8, 8), 10 * i, np.uint8)).save(tmp_path / "f" / cls / f"{i}.png")
    data = load_dataset(DataConfig(spec=f"folder:{tmp_path / 'f'}", img_size=8))
    kept, held = data.held_out()
    labels = torch.tensor([label for _, label in data.files])
    assert HELD_OUT_SHARE == 0.1 and torch.bincount(labels[held], minlength=3).tolist() == [2, 1, 0]
    assert sorted(kept.tolist() + held.tolist()) == list(range(28))  # disjoint, and together every image
    assert torch.equal(data.held_out()[1], held)  # the same files every time
    assert not torch.equal(data.held_out(seed=1)[1], held)


def test_held_out_share_needs_a_class_with_two_images(tmp_path, capsys):
    for cls in ("a", "b"):
        (tmp_path / "f" / cls).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "f" / cls / "0.png")
    with pytest.raises(DataError, match="every class has one image, so none can be held out"):
        load_dataset(DataConfig(spec=f"folder:{tmp_path / 'f'}", img_size=8)).held_out()
    run = train("dcgan", f"folder:{tmp_path / 'f'}", tmp_path, "train.batch_size=2")
    line = evaluate(run, capsys)[2]
    assert "add images (at least two in a class)" in line


# ------------------------------------------------------------------------------------------------- flat folders


def test_flat_folder_gets_label_free_numbers(tmp_path, capsys):
    """No classes, so no classifier of its own: ImageNet features (EfficientNet-Lite0) and Laplacian patches."""
    (tmp_path / "flat").mkdir()
    for i in range(6):
        Image.fromarray(texture(np.random.default_rng(i), 40, 40)).save(tmp_path / "flat" / f"{i}.png")
    run = train("dcgan", f"folder:{tmp_path / 'flat'}", tmp_path, "data.img_size=32")
    code, m, _, _ = evaluate(run, capsys, n=12)
    assert code == 0 and m["fd_imagenet_lite0"] > 0 and 0 <= m["precision"] <= 1 and m["fd_lap_mean"] > 0
    assert not any("classifier" in k for k in m)  # named for what it is: no dataset classifier, no "FID"


# ------------------------------------------------------------------------------------- paired and unpaired


def side_by_side(root, n=4):
    rng = np.random.default_rng(0)
    root.mkdir()
    for i in range(n):
        a = texture(rng, 20, 22)
        Image.fromarray(np.concatenate([a, 255 - a], 1)).save(root / f"{i}.png")


def a_and_b_folders(root, n=4):
    rng = np.random.default_rng(1)
    for split, count in (("train", n), ("test", 2)):
        for domain in "AB":
            (root / split / domain).mkdir(parents=True)
            for i in range(count):
                Image.fromarray(texture(rng, 18, 18)).save(root / split / domain / f"{i}.png")


@pytest.mark.parametrize("layout, pairs", [(side_by_side, 4), (a_and_b_folders, 2)])
def test_paired(layout, pairs, tmp_path, capsys):
    """Side by side without a test/ folder: all pairs are translated; A/ and B/ under train/ and test/: the test
    pairs."""
    layout(tmp_path / "pairs")
    run = train("pix2pix", f"paired:{tmp_path / 'pairs'}", tmp_path)
    code, m, _, _ = evaluate(run, capsys)
    assert code == 0 and m["pairs"] == pairs and finite(m["psnr_db"], m["ssim"])


def domains(root, test=True):
    rng = np.random.default_rng(2)
    for split, n in (("train", 4), ("test", 2))[: 2 if test else 1]:
        for domain in "AB":
            (root / f"{split}{domain}").mkdir(parents=True)
            for i in range(n):
                Image.fromarray(texture(rng, 18, 18)).save(root / f"{split}{domain}" / f"{i}.png")


def test_unpaired(tmp_path, capsys):
    domains(tmp_path / "dom")
    run = train("cyclegan", f"unpaired:{tmp_path / 'dom'}", tmp_path)
    code, m, _, _ = evaluate(run, capsys)
    assert code == 0 and m["images"] == 2 and finite(m["cycle_l1_A"], m["cycle_l1_B"])


def test_unpaired_without_a_test_split_is_one_line(tmp_path, capsys):
    domains(tmp_path / "dom", test=False)
    run = train("cyclegan", f"unpaired:{tmp_path / 'dom'}", tmp_path)
    line = evaluate(run, capsys)[2]
    assert "evaluation translates the held-out split" in line and "no folder testA/" in line


# ---------------------------------------------------------------------------------------------- attribute tables


def attribute_table(root, n):
    """n images and a CSV table: Black_Hair / Blond_Hair one-of-two, Male."""
    rows = "".join(f"{i}.png,{i % 2},{1 - i % 2},{i // 2 % 2}\n" for i in range(n))
    return faces(root, table="filename,Black_Hair,Blond_Hair,Male\n" + rows, name="attrs.csv",
                 images=[f"{i}.png" for i in range(n)])


ATTRS = ["data.attr_groups=[[Black_Hair,Blond_Hair]]", "data.img_size=16"]


def test_attribute_table(tmp_path, capsys):
    """20 images: the seeded 10 % test split holds 2, translated to every target."""
    run = train("stargan", f"attributes:{attribute_table(tmp_path / 'faces', 20)}", tmp_path, *ATTRS)
    code, m, _, _ = evaluate(run, capsys)
    assert code == 0 and m["images"] == 2
    assert all(0 <= m[f"target_accuracy_own_D_{k}"] <= 1 for k in ("Black_Hair", "Blond_Hair"))
    assert finite(m["target_accuracy_own_D"])


def test_attribute_table_too_small_for_a_test_split_is_one_line(tmp_path, capsys):
    run = train("stargan", f"attributes:{attribute_table(tmp_path / 'faces', 4)}", tmp_path, *ATTRS)
    line = evaluate(run, capsys)[2]
    assert "the test split (a seeded 10% of the images) is empty" in line and "list at least 6 in attrs.csv" in line


def test_attribute_table_with_a_second_dataset(image_folder, tmp_path, capsys):
    """data.second: an attribute table and class folders, each image with both label vectors and a mask."""
    root = attribute_table(tmp_path / "faces", 20)
    run = train("stargan", f"attributes:{root}", tmp_path, *ATTRS, f"data.second=folder:{image_folder}",
                "data.channels=3")
    code, m, _, _ = evaluate(run, capsys)
    assert code == 0 and m["images"] == 2 + 12  # the table's test split and the whole folder (it has none)
    assert {"target_accuracy_own_D_cats", "target_accuracy_own_D_Male-flipped"} <= set(m)


def test_unconditional_model_on_an_attribute_table_gets_label_free_numbers(tmp_path, capsys):
    run = train("dcgan", f"attributes:{attribute_table(tmp_path / 'faces', 8)}", tmp_path, "data.channels=3")
    code, m, _, _ = evaluate(run, capsys, n=8)
    assert code == 0 and m["fd_imagenet_lite0"] > 0


# ------------------------------------------------------------------------------------------------------ built-ins


@pytest.mark.slow  # the digits classifier: 88 steps on 1,500 images, about 5 s
def test_builtin_digits(tmp_path, capsys):
    run = train("dcgan", "digits", tmp_path, "data.img_size=8")  # 8x8: the classifier trains in a few seconds
    code, m, _, _ = evaluate(run, capsys)
    assert code == 0 and 0.8 < m["classifier_test_accuracy"] <= 1
    assert finite(m["fd_digits_classifier"], m["precision"], m["recall"]) and len(m["class_histogram"]) == 10


def test_builtin_mixture(tmp_path, capsys):
    run = train("gan", "ring8", tmp_path)
    code, m, _, _ = evaluate(run, capsys, n=100)
    assert code == 0 and 0 <= m["modes"] <= 8 and 0 <= m["high_quality"] <= 1
