"""Attribute tables (CelebA's layout and CSV), class folders as domains, two datasets with a mask, mnist-attrs."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.attributes import read_attribute_table, render
from gankit.errors import DataError

CELEBA = """4
Black_Hair Blond_Hair Male Young
a.png  -1  1 -1  1
b.png   1 -1  1  1
c.png  -1 -1  1 -1
d.png   1 -1 -1  1
"""


def faces(root, table=CELEBA, name="list_attr_celeba.txt", images=("a.png", "b.png", "c.png", "d.png")):
    (root / "images").mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(images):
        Image.fromarray(np.full((20, 16, 3), 40 * i % 256, np.uint8)).save(root / "images" / f)
    (root / name).write_text(table)
    return root


def test_celeba_layout_and_csv_read_the_same(tmp_path):
    names, files, values = read_attribute_table(faces(tmp_path / "c") / "list_attr_celeba.txt")
    assert names == ["Black_Hair", "Blond_Hair", "Male", "Young"] and files == ["a.png", "b.png", "c.png", "d.png"]
    assert values.tolist() == [[0, 1, 0, 1], [1, 0, 1, 1], [0, 0, 1, 0], [1, 0, 0, 1]]
    csv = "filename,Black_Hair,Blond_Hair,Male,Young\na.png,0,1,0,1\nb.png,1,0,1,1\nc.png,0,0,1,0\nd.png,1,0,0,1\n"
    (tmp_path / "t.csv").write_text(csv)
    assert read_attribute_table(tmp_path / "t.csv")[2].tolist() == values.tolist()


@pytest.mark.parametrize("table, fragment", [
    ("4\nA B\na.png 1 -1\nb.png 1\nc.png 1 1\nd.png -1 -1\n", "t.txt:4: expected a file name and 2 values, found 1"),
    ("2\nA B\na.png 1 x\nb.png 1 1\n", "t.txt:3: value 'x' is not -1, 0 or 1"),
    ("2\nA B\na.png 1 2\nb.png 1 1\n", "t.txt:3: value 2 for attribute 'B' is not -1, 0 or 1"),
    ("5\nA B\na.png 1 1\n", "line 1 declares 5 images, the table holds 1"),
    ("A B\na.png 1 1\n", "a count line"),
    ("1\nA A\na.png 1 1\n", "attribute names repeat: A"),
])
def test_malformed_tables_name_the_line(tmp_path, table, fragment):
    (tmp_path / "t.txt").write_text(table)
    with pytest.raises(DataError, match=fragment.replace("(", r"\(")):
        read_attribute_table(tmp_path / "t.txt")


def test_selection_groups_and_splits(tmp_path, capsys):
    root = faces(tmp_path / "c")
    data = load_dataset(DataConfig(spec=f"attributes:{root}", attrs=["Male", "Black_Hair", "Blond_Hair"],
                                   attr_groups=[["Black_Hair", "Blond_Hair"]], split="all", img_size=16))
    assert data.info.attrs == ["Male", "Black_Hair", "Blond_Hair"] and data.info.attr_groups == [[1, 2]]
    assert len(data) == 3 and "skipped 1 of 4 images" in capsys.readouterr().err  # c.png: neither hair colour
    sample, _ = data[(0, 0)]
    assert sample["x"].shape == (3, 16, 16) and sample["x"].dtype == torch.uint8
    assert sample["attrs"].tolist() == [0.0, 0.0, 1.0]  # a.png: not male, blond


def test_seeded_split_is_disjoint(tmp_path):
    rows = "".join(f"{i}.png {'1' if i % 2 else '-1'}\n" for i in range(30))
    root = faces(tmp_path / "c", table=f"30\nSmiling\n{rows}", images=[f"{i}.png" for i in range(30)])
    train = load_dataset(DataConfig(spec=f"attributes:{root}", split="train", img_size=8))
    test = load_dataset(DataConfig(spec=f"attributes:{root}", split="test", img_size=8))
    assert len(test) == 3 and len(train) == 27 and not set(train.paths) & set(test.paths)


def test_clear_errors(tmp_path):
    root = faces(tmp_path / "c")
    with pytest.raises(DataError, match="unknown attribute 'Blonde_Hair' \\(did you mean 'Blond_Hair'\\?\\)"):
        load_dataset(DataConfig(spec=f"attributes:{root}", attrs=["Blonde_Hair"]))
    with pytest.raises(DataError, match="'Bald' is not one of the attributes"):
        load_dataset(DataConfig(spec=f"attributes:{root}", attrs=["Male"], attr_groups=[["Male", "Bald"]]))
    (root / "images" / "b.png").unlink()
    with pytest.raises(DataError, match="lists b.png, which is not in"):
        load_dataset(DataConfig(spec=f"attributes:{root}"))
    with pytest.raises(DataError, match="expected one attribute table"):
        load_dataset(DataConfig(spec=f"attributes:{tmp_path}"))


def test_two_datasets_carry_both_label_vectors_and_a_mask(tmp_path, image_folder):
    root = faces(tmp_path / "c")
    data = load_dataset(DataConfig(spec=f"attributes:{root}", attrs=["Male", "Young"], split="all",
                                   second=f"folder:{image_folder}", img_size=16, channels=3))
    assert data.info.attrs == ["Male", "Young", "cats", "dogs"] and data.info.label_sets == [2, 2]
    assert data.info.attr_groups == [[2, 3]]  # the folder's domains, one group, after the first dataset's labels
    first, _ = data[(1, 0)]  # b.png: male, young
    assert first["attrs"].tolist() == [1, 1, 0, 0] and first["mask"].tolist() == [1, 0]
    last, _ = data[(len(data) - 1, 0)]  # a dog
    assert last["attrs"].tolist() == [0, 0, 0, 1] and last["mask"].tolist() == [0, 1]


def test_mnist_attrs_labels_one_property_per_dataset():
    from ..conftest import shared

    data = load_dataset(DataConfig(spec=f"mnist-attrs:{shared('mnist')}"))
    half = len(data) // 2
    assert data.info.attrs == ["red", "green", "blue", "thick"] and data.info.label_sets == [3, 1]
    assert (data.attrs[:half, 3] == 0).all() and (data.attrs[:half, :3].sum(1) == 1).all()  # A: colour only
    assert (data.attrs[half:, :3] == 0).all() and (data.mask[half:, 1] == 1).all()  # B: width only
    # the colour really is in the pixels: the channel with the most ink is the labelled colour
    ink = data.images[:half].float().sum((2, 3))
    assert torch.equal(ink.argmax(1), data.colour[:half])
    test = load_dataset(DataConfig(spec=f"mnist-attrs:{shared('mnist')}", split="test"))
    assert (test.mask == 1).all() and len(test) == 10000
    # the grey digits kept beside the images render back to them, and thickening adds ink to every digit
    assert torch.equal(render(test.gray, test.colour, test.thick), test.images)
    thin, thick = render(test.gray, test.colour, torch.zeros_like(test.thick)), render(test.gray, test.colour,
                                                                                       torch.ones_like(test.thick))
    assert (thick.float().sum((1, 2, 3)) > thin.float().sum((1, 2, 3))).all()
