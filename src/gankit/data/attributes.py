"""Images with attributes, for multi-domain translation (StarGAN).

- `attributes:DIR`: images and an attribute table, either CelebA's `list_attr_celeba.txt` layout (a count line, a
  line of attribute names, then `file v1 v2 ...` with -1/1) or a CSV (`filename,attr1,attr2,...` with 0/1). The
  images sit in DIR, DIR/images or DIR/img_align_celeba. `data.attrs` picks attributes by name, `data.attr_groups`
  makes some mutually exclusive (one-of-N, such as hair colours: images whose group is not exactly one-hot are
  skipped and counted); a seeded 10 % (at most 2,000 images) is the test split.
- a class folder (`folder:DIR` with one sub-folder per domain, like RaFD's expressions) is one one-of-N group.
- `data.second=SPEC` adds a second dataset with its own labels (the paper's CelebA + RaFD): each image carries
  both label vectors, the unknown one zeroed, and a one-hot mask saying which one it has. `data.attrs` picks from
  the first dataset; the second brings all its labels.
- `mnist-attrs[:DIR]`: the built-in demonstration, MNIST digits given a stroke colour (red, green, blue) and a
  stroke width (thin, or thick by dilation); dataset A is labelled with the colour only, dataset B with the width
  only, so only the mask vector lets one model learn both.
Samples are ({"x": uint8 image, "attrs": float labels, "mask": float one-hot dataset}, -1).
"""

from __future__ import annotations

import csv
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..config import DataConfig
from ..errors import DataError, did_you_mean
from ..registry import DATASETS
from .folder import SkipsLateFailures, scan_images
from .info import DataInfo
from .pairs import Geometry
from .transforms import to_device, to_mode

IMAGE_DIRS = ("", "images", "img_align_celeba")
TEST_SHARE, TEST_MAX = 0.1, 2000
SPLIT_SEED = 0  # the train/test split is part of the data's definition


def read_attribute_table(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(attribute names, file names, values (N, K) in {0, 1}) from a CelebA-style .txt or a .csv table. Values may
    be -1/1 or 0/1 (-1 read as 0). Malformed lines are a DataError naming the file and line."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the attribute table {path}: {e}") from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(text.splitlines()))
        if not rows or len(rows[0]) < 2:
            raise DataError(f"{path}: expected a header 'filename,attr1,attr2,...'")
        names, body, first_line = [n.strip() for n in rows[0][1:]], rows[1:], 2
    else:
        lines = text.splitlines()
        if len(lines) < 2 or not lines[0].strip().isdigit():
            raise DataError(f"{path}: expected CelebA's layout: a count line, a line of attribute names, then "
                            "'file v1 v2 ...' rows")
        names, body, first_line = lines[1].split(), [line.split() for line in lines[2:]], 3
        declared = int(lines[0])
        found = sum(1 for row in body if row)
        if declared != found:
            raise DataError(f"{path}: line 1 declares {declared} images, the table holds {found}")
    if len(set(names)) != len(names):
        repeated = sorted(n for n in set(names) if names.count(n) > 1)
        raise DataError(f"{path}: attribute names repeat: {', '.join(repeated)}")
    files, values = [], []
    for number, row in enumerate(body, first_line):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(names) + 1:
            raise DataError(f"{path}:{number}: expected a file name and {len(names)} values, found "
                            f"{len(row) - 1} values")
        try:
            vals = [int(v) for v in row[1:]]
        except ValueError:
            bad = next(v for v in row[1:] if not v.strip().lstrip("-").isdigit())
            raise DataError(f"{path}:{number}: value '{bad}' is not -1, 0 or 1") from None
        if any(v not in (-1, 0, 1) for v in vals):
            j = next(j for j, v in enumerate(vals) if v not in (-1, 0, 1))
            raise DataError(f"{path}:{number}: value {vals[j]} for attribute '{names[j]}' is not -1, 0 or 1")
        files.append(row[0].strip())
        values.append([1 if v == 1 else 0 for v in vals])
    if not files:
        raise DataError(f"{path}: the attribute table holds no images")
    return names, files, np.asarray(values, dtype=np.int8)


def group_indices(names: list[str], groups_by_name: list[list[str]]) -> list[list[int]]:
    """Groups of mutually exclusive attributes as index lists; every name must be one of `names`, in one group."""
    groups, seen = [], set()
    for group in groups_by_name:
        if len(group) < 2:
            raise DataError(f"data.attr_groups: a group needs at least two attributes, got {group}")
        for name in group:
            if name not in names:
                raise DataError(f"data.attr_groups: '{name}' is not one of the attributes "
                                f"({', '.join(names)}){did_you_mean(name, names)}")
            if name in seen:
                raise DataError(f"data.attr_groups: '{name}' is in two groups")
            seen.add(name)
        groups.append([names.index(n) for n in group])
    return groups


class AttributeFolder(SkipsLateFailures, torch.utils.data.Dataset):
    def __init__(self, arg: str, cfg: DataConfig):
        root = Path(arg).expanduser()
        if not arg or not root.is_dir():
            raise DataError(f"attributes needs a directory of images and an attribute table: --data attributes:DIR "
                            f"({arg or 'none given'} is not a directory)")
        table = self._find_table(root, cfg)
        names, files, values = read_attribute_table(table)
        wanted = list(cfg.attrs) or names
        missing = [n for n in wanted if n not in names]
        if missing:
            more = f" (and {len(names) - 20} more)" if len(names) > 20 else ""
            raise DataError(f"unknown attribute '{missing[0]}'{did_you_mean(missing[0], names)} in data.attrs; "
                            f"{table.name} has {', '.join(names[:20])}{more}")
        values = values[:, [names.index(n) for n in wanted]]
        # A group none of whose names this table has belongs to the other dataset (data.second).
        groups = group_indices(wanted, [g for g in cfg.attr_groups if any(n in names for n in g)])
        keep = np.ones(len(files), dtype=bool)
        for group in groups:
            keep &= values[:, group].sum(1) == 1
        if not keep.all():
            print(f"gankit: attributes:{arg}: skipped {int((~keep).sum())} of {len(files)} images whose group "
                  "attributes are not exactly one-hot", file=sys.stderr)
        paths = [self._image_path(root, f, table) for f in files]
        paths = [p for p, k in zip(paths, keep) if k]
        values = values[keep]
        order = np.random.default_rng(SPLIT_SEED).permutation(len(paths))
        n_test = min(TEST_MAX, int(round(len(paths) * TEST_SHARE)))
        chosen = {"train": order[n_test:], "test": order[:n_test], "all": order}[cfg.split]
        chosen = np.sort(chosen)
        if len(chosen) == 0:
            if cfg.split == "test":
                fewest = next(n for n in range(1, 10_000) if round(n * TEST_SHARE) >= 1)
                raise DataError(f"attributes:{arg}: the test split (a seeded {TEST_SHARE:.0%} of the images) is empty: "
                                f"{len(paths)} usable images are too few; list at least {fewest} in {table.name}")
            raise DataError(f"attributes:{arg}: the {cfg.split} split is empty: {table.name} lists no usable image "
                            "(add images, with their group attributes exactly one-hot)")
        good, self.skipped = scan_images([paths[i] for i in chosen], f"attributes:{arg}")
        chosen = chosen[np.asarray(good)]
        self.paths = [str(paths[i]) for i in chosen]
        self.attrs = torch.from_numpy(values[chosen].astype(np.float32))
        self.cfg, self.spec = cfg, f"attributes:{arg}"
        self.img_size = cfg.img_size or 128
        self.geometry = Geometry(cfg, self.img_size, max(cfg.load_size or self.img_size, self.img_size), "center",
                                 True)
        self.info = DataInfo(name="attributes", img_size=self.img_size, img_channels=cfg.channels or 3,
                             attrs=list(wanted), attr_groups=groups, label_sets=[len(wanted)])

    @staticmethod
    def _find_table(root: Path, cfg: DataConfig) -> Path:
        if cfg.attr_file:
            path = Path(cfg.attr_file).expanduser()
            path = path if path.is_absolute() else root / path
            if not path.is_file():
                raise DataError(f"data.attr_file: {path} is not a file")
            return path
        found = [root / "list_attr_celeba.txt"] if (root / "list_attr_celeba.txt").is_file() else sorted(
            root.glob("*.csv"))
        if len(found) != 1:
            raise DataError(f"{root}: expected one attribute table (list_attr_celeba.txt or a single .csv), found "
                            f"{len(found)}; name it with data.attr_file")
        return found[0]

    @staticmethod
    def _image_path(root: Path, name: str, table: Path) -> Path:
        for sub in IMAGE_DIRS:
            path = root / sub / name
            if path.is_file():
                return path
        raise DataError(f"{table.name} lists {name}, which is not in {root} (nor in "
                        f"{', '.join(s for s in IMAGE_DIRS if s)})")

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int, seed: int) -> dict[str, torch.Tensor]:
        with Image.open(self.paths[index]) as img:
            img = to_mode(img, self.info.img_channels)
        size, box, flip = self.geometry.draw(*img.size, torch.Generator().manual_seed(seed))
        return {"x": Geometry.apply(img, size, box, flip), "attrs": self.attrs[index]}

    def __getitem__(self, item: tuple[int, int]) -> tuple[dict[str, torch.Tensor], int]:
        index, seed = item
        return self.first_readable(index, len(self), lambda i: (self.load(i, seed), -1),
                                   lambda i: self.paths[i], self.spec)


class Domains(torch.utils.data.Dataset):
    """A class folder's sub-folders as one one-of-N group of domains."""

    def __init__(self, folder):
        self.folder = folder
        names = folder.info.class_names
        if len(names) < 2:
            raise DataError(f"{folder.root}: multi-domain data needs one sub-folder per domain (at least two)")
        self.info = dataclasses.replace(folder.info, attrs=list(names), attr_groups=[list(range(len(names)))],
                                        label_sets=[len(names)], num_classes=0, class_names=[])

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, item: tuple[int, int]) -> tuple[dict[str, torch.Tensor], int]:
        image, label = self.folder[item]
        attrs = torch.zeros(len(self.info.attrs))
        attrs[label] = 1
        return {"x": image, "attrs": attrs}, -1


class JointDatasets(torch.utils.data.Dataset):
    """Two labelled datasets as one (StarGAN's mask vector): every sample carries both label vectors, the other
    dataset's zeroed, and a one-hot mask saying whose labels it has. The paper alternates whole batches between
    the datasets; here a batch mixes them sample by sample (the mask is per sample), the same objective."""

    def __init__(self, parts: list):
        if any(p.info.img_channels != parts[0].info.img_channels or p.info.img_size != parts[0].info.img_size
               for p in parts):
            raise DataError("data.second: both datasets must have the same image size and channels")
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        sizes = [len(p.info.attrs) for p in parts]
        self.label_offsets = np.cumsum([0] + sizes)
        groups = [[j + int(self.label_offsets[k]) for j in g] for k, p in enumerate(parts) for g in p.info.attr_groups]
        self.info = dataclasses.replace(parts[0].info, name="+".join(p.info.name for p in parts),
                                        attrs=[a for p in parts for a in p.info.attrs], attr_groups=groups,
                                        label_sets=sizes)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, item: tuple[int, int]) -> tuple[dict[str, torch.Tensor], int]:
        index, seed = item
        k = int(np.searchsorted(self.offsets, index, side="right") - 1)
        sample, _ = self.parts[k][(index - int(self.offsets[k]), seed)]
        attrs = torch.zeros(int(self.label_offsets[-1]))
        attrs[int(self.label_offsets[k]):int(self.label_offsets[k + 1])] = sample["attrs"]
        mask = torch.zeros(len(self.parts))
        mask[k] = 1
        return {"x": sample["x"], "attrs": attrs, "mask": mask}, -1


@DATASETS.register("attributes")
def attributes(arg: str, cfg: DataConfig) -> AttributeFolder:
    """Images with an attribute table (CelebA's list_attr_celeba.txt or a CSV) for StarGAN: attributes:DIR."""
    return AttributeFolder(arg, cfg)


def multi_domain(dataset):
    """A dataset as multi-domain data: attribute sets as they are, class folders as one group of domains."""
    if getattr(dataset.info, "attrs", None):
        return dataset
    from .folder import ImageFolder

    if isinstance(dataset, ImageFolder):
        return Domains(dataset)
    raise DataError(f"{dataset.info.name} has no attributes or domains for multi-domain translation (use "
                    "attributes:DIR or a folder with one sub-folder per domain)")


COLOURS = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
COLOUR_NAMES = ["red", "green", "blue"]


def render(gray: torch.Tensor, colour: torch.Tensor, thick: torch.Tensor) -> torch.Tensor:
    """(N, 1, S, S) uint8 digits -> (N, 3, S, S) uint8: strokes dilated by two pixels where `thick`, painted in
    COLOURS[colour] on black."""
    x = gray.float() / 255
    dilated = torch.nn.functional.max_pool2d(torch.nn.functional.max_pool2d(x, 3, 1, 1), 3, 1, 1)
    x = torch.where(thick.view(-1, 1, 1, 1).bool(), dilated, x)
    return (x * COLOURS[colour][:, :, None, None] * 255).round().to(torch.uint8)


class ColourWidthDigits:
    """The StarGAN demonstration: MNIST with a random stroke colour and width per image (seeded: part of the data's
    definition). Labels [red, green, blue, thick]: in training the first half of the images (dataset A) is labelled
    with its colour only, the second half (dataset B) with its width only; the test split keeps both, with the
    digits, in `colour`, `thick` and `digits` for evaluation."""

    def __init__(self, arg: str, cfg: DataConfig):
        from .builtin import DIGIT_CLASSES, _idx_dataset

        if cfg.channels not in (None, 3):
            raise DataError("mnist-attrs images are in colour (data.channels=3)")
        sub = dataclasses.replace(cfg, img_size=cfg.img_size or 32, channels=1, flip=False, exclude_classes=[],
                                  labels_per_class=0)
        base = _idx_dataset("mnist", "mnist", arg, sub, DIGIT_CLASSES)
        n = len(base)
        g = torch.Generator().manual_seed(7 if cfg.split == "test" else 6)
        self.colour = torch.randint(3, (n,), generator=g)
        self.thick = torch.randint(2, (n,), generator=g)
        self.digits = base.labels
        self.gray = base.images  # the digits before colour and width: the exact translation of any one is a render
        self.images = render(base.images, self.colour, self.thick)
        attrs = torch.cat([torch.nn.functional.one_hot(self.colour, 3).float(), self.thick[:, None].float()], 1)
        self.mask = torch.zeros(n, 2)
        if cfg.split == "test":  # every label known, for evaluation
            self.mask[:] = 1
        else:
            half = n // 2
            attrs[:half, 3] = 0  # A: colour only
            attrs[half:, :3] = 0  # B: width only
            self.mask[:half, 0] = 1
            self.mask[half:, 1] = 1
        self.attrs = attrs
        self.info = DataInfo(name="mnist-attrs", img_size=sub.img_size, img_channels=3,
                             attrs=[*COLOUR_NAMES, "thick"], attr_groups=[[0, 1, 2]], label_sets=[3, 1])

    def __len__(self) -> int:
        return len(self.images)

    def to(self, device: torch.device) -> ColourWidthDigits:
        self.images, self.attrs, self.mask = self.images.to(device), self.attrs.to(device), self.mask.to(device)
        return self

    def batch(self, indices: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
        indices = to_device(indices, self.images.device)
        return {"x": self.images[indices].float() / 127.5 - 1, "attrs": self.attrs[indices],
                "mask": self.mask[indices]}


@DATASETS.register("mnist-attrs")
def mnist_attrs(arg: str, cfg: DataConfig) -> ColourWidthDigits:
    """MNIST with stroke colour (labelled in half A) and width (half B): StarGAN's mask-vector demo; IDX files."""
    return ColourWidthDigits(arg, cfg)
