"""A classifier gankit trains on a dataset's own training split, whose features measure generated images.

The standard FID uses an ImageNet Inception network, which says little about 32x32 digits and cannot be
downloaded here. A small CNN trained on the same data (and cached) gives a feature space made for it; metrics in
that space are named for what they are (`fd_<dataset>_classifier`), not FID. Its test accuracy is reported with
every evaluation, so a reader can judge the yardstick.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..config import DataConfig, cache_dir, to_dict
from ..safetensors_io import read_tensors, write_tensors

VERSION = 1


class SmallCNN(nn.Module):
    """Three conv stages (32-64-128 maps, batch norm, max-pool) and a 128-unit feature layer."""

    def __init__(self, channels: int, num_classes: int, img_size: int):
        super().__init__()

        def stage(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                    nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]

        self.body = nn.Sequential(*stage(channels, 32), *stage(32, 64), *stage(64, 128),
                                  nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(512, 128), nn.ReLU(inplace=True))
        self.head = nn.Linear(128, num_classes)
        self.dropout = nn.Dropout(0.3)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.body(x)))


def _key(cfg: DataConfig, info, extra: dict | None = None) -> str:
    """The cache entry's name. `extra`: what else defines a file dataset's classifier (its files, their framing, the
    held-out share); the in-memory sets pass none, so their keys are what they always were."""
    name, _, arg = cfg.spec.partition(":")
    where = str(Path(arg).expanduser().resolve()) if arg else os.environ.get("GANKIT_DATA", "")
    blob = json.dumps({"v": VERSION, "data": name, "where": where, "size": info.img_size,
                       "channels": info.img_channels, "fit": cfg.fit, **(extra or {})}, sort_keys=True)
    return f"{name}-{info.img_size}px-{info.img_channels}ch-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


@dataclasses.dataclass
class Classifier:
    net: SmallCNN
    test_accuracy: float
    name: str

    @torch.no_grad()
    def run(self, x: torch.Tensor, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """Features and predicted labels for images in [-1, 1]."""
        self.net.eval()
        feats, preds = [], []
        device = next(self.net.parameters()).device
        for part in x.split(batch):
            f = self.net.features(part.to(device))
            feats.append(f.cpu())
            preds.append(self.net.head(f).argmax(1).cpu())
        return torch.cat(feats).numpy(), torch.cat(preds).numpy()


def _shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Random translations by up to `pixels`: cheap augmentation that helps a small training set."""
    padded = F.pad(x, (pixels,) * 4, value=-1.0)
    n, _, h, w = x.shape
    dx, dy = torch.randint(0, 2 * pixels + 1, (2,), generator=generator).tolist()
    return padded[:, :, dy:dy + h, dx:dx + w]


def handwriting_variation(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Light strokes on a dark ground (in [-1, 1]) as other writers and pens might have drawn them: each image
    rotated by up to 15 degrees, scaled by 0.85-1.15, sheared by up to 0.3 and moved by up to 6 % of its side; a
    third of them with strokes one pixel thicker (3x3 dilation) and a third thinner (half an erosion); half blurred
    (3x3 mean). A judge of a few writers' digits trained on these reads other writers' digits far better (see
    docs/benchmarks/cyclegan.md)."""
    n = len(x)

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle, scale, shear = uniform(-0.26, 0.26), uniform(0.85, 1.15), uniform(-0.3, 0.3)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin + shear * cos, uniform(-0.12, 0.12)], 1),
                         torch.stack([sin, cos + shear * sin, uniform(-0.12, 0.12)], 1)], 1)
    theta[:, :, :2] /= scale[:, None, None]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # shifted to [0, 2] so the zeros grid_sample brings in from outside the frame are background (-1)
    y = F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1
    stroke = torch.randint(0, 3, (n, 1, 1, 1), generator=generator)
    # thinning only halves the edge pixels (the mean with the erosion), so a stroke two pixels wide is not erased
    thinner = (y - F.max_pool2d(-y, 3, 1, 1)) / 2
    y = torch.where(stroke == 1, F.max_pool2d(y, 3, 1, 1), torch.where(stroke == 2, thinner, y))
    blur = torch.rand(n, 1, 1, 1, generator=generator) < 0.5
    return torch.where(blur, F.avg_pool2d(y, 3, 1, 1, count_include_pad=False), y)


def train_classifier(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                     num_classes: int, epochs: int = 8, max_steps: int = 1000, seed: int = 0, progress: bool = True,
                     augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] = _shift
                     ) -> tuple[SmallCNN, float]:
    """Adam with a one-cycle schedule for `epochs` epochs but at most `max_steps` steps of 128 (a 60k-image set
    gets two epochs: a few minutes on a laptop CPU); everything seeded by `seed` so the yardstick is
    reproducible. `augment(batch, generator)` varies each training batch (default: a random shift of up to two
    pixels). Images in [-1, 1], or uint8 (converted a batch at a time)."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = SmallCNN(train_x.shape[1], num_classes, train_x.shape[-1])
    batch = min(128, len(train_x))  # a set under 128 images (a small class folder): whole-set batches
    steps = min(max_steps, epochs * max(1, len(train_x) // batch))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    net.train()
    bar = tqdm(total=steps, desc="classifier", unit="step", disable=not progress, file=sys.stderr)
    step = 0
    while step < steps:
        perm = torch.randperm(len(train_x), generator=g)
        for i in range(0, len(perm) - batch + 1, batch):
            idx = perm[i:i + batch]
            x = augment(_unit(train_x[idx]), g)
            with torch.random.fork_rng():
                torch.manual_seed(seed + step)  # dropout masks, without touching the caller's generator
                loss = F.cross_entropy(net(x), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            if step >= steps:
                break
    bar.close()
    net.eval()
    return net, float((predict(net, test_x) == test_y).float().mean())


@torch.no_grad()
def predict(net: nn.Module, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """The most likely class of each image (in [-1, 1]), in batches so a 10,000-image set fits in memory."""
    return torch.cat([net(_unit(part)).argmax(1) for part in x.split(batch)])


def _unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 images (a class folder's, kept so to save memory) to [-1, 1]; float ones as they are."""
    return x.float().div_(127.5).sub_(1.0) if x.dtype == torch.uint8 else x  # as data.transforms.uint8_to_unit


def cached_classifier(path: Path, channels: int, num_classes: int, img_size: int,
                      train: Callable[[], tuple[SmallCNN, float]], meta: dict | None = None) -> tuple[SmallCNN, float]:
    """The classifier stored in `path` (safetensors + JSON) and its test accuracy; the first time, `train()` makes it
    and it is stored. The weights are written last, so a run killed half way leaves nothing that loads."""
    if (path / "model.safetensors").is_file():
        net = SmallCNN(channels, num_classes, img_size)
        net.load_state_dict(read_tensors(path / "model.safetensors"))
        return net.eval(), json.loads((path / "meta.json").read_text())["test_accuracy"]
    net, acc = train()
    path.mkdir(parents=True, exist_ok=True)
    (path / "meta.json").write_text(json.dumps({"test_accuracy": acc, **(meta or {})}))
    write_tensors(path / "model.safetensors", net.state_dict())
    return net.eval(), acc


def get_classifier(cfg: DataConfig, progress: bool = True) -> Classifier:
    """The cached classifier for this dataset at this size, trained on its 'train' split (test: 'test'); for a class
    folder, which has no test split, on all but a seeded share of each class (ImageFolder.held_out), tested on it."""
    from ..data import load_dataset  # late: importing data registers every dataset, which the metrics need not

    # The yardstick knows every class and every label, whatever subset a run trained on.
    cfg = dataclasses.replace(cfg, exclude_classes=[], labels_per_class=0)
    train = load_dataset(dataclasses.replace(cfg, split="train", flip=False))
    info = train.info
    if not hasattr(train, "images"):  # files read one by one: a class folder
        return _file_classifier(cfg, train, progress)
    key = _key(cfg, info)
    path = cache_dir() / "classifiers" / key

    def fit() -> tuple[SmallCNN, float]:
        test = load_dataset(dataclasses.replace(cfg, split="test", flip=False))
        unit = lambda ds: ds.images.float() / 127.5 - 1  # noqa: E731
        if progress:
            print(f"gankit: training the {info.name} classifier used for evaluation (cached in {path})",
                  file=sys.stderr)
        return train_classifier(unit(train), train.labels, unit(test), test.labels, info.num_classes,
                                progress=progress)

    net, acc = cached_classifier(path, info.img_channels, info.num_classes, info.img_size, fit,
                                 {"data": to_dict(cfg), "key": key})
    return Classifier(net, acc, key)


def _file_classifier(cfg: DataConfig, data, progress: bool) -> Classifier:
    """A class folder's classifier: trained on its images less the held-out share, its accuracy measured on that share.
    The cache key adds the file list, the framing settings and the share, so a changed folder trains a new one."""
    from ..data.folder import HELD_OUT_SEED, HELD_OUT_SHARE
    from ..data.stream import collate

    info = data.info
    files = hashlib.sha256(json.dumps(data.files).encode()).hexdigest()
    key = _key(cfg, info, {"files": files, "load_size": data.load_size, "crop": cfg.crop,
                           "held_out": [HELD_OUT_SHARE, HELD_OUT_SEED]})
    path = cache_dir() / "classifiers" / key

    def fit() -> tuple[SmallCNN, float]:
        kept, held_out = data.held_out()
        if progress:
            print(f"gankit: training the {info.name} classifier used for evaluation on {len(kept)} of its "
                  f"{len(data)} images, testing it on the other {len(held_out)} (a seeded {HELD_OUT_SHARE:.0%} of "
                  f"each class; cached in {path})", file=sys.stderr)
        with torch.random.fork_rng():  # item i read with augmentation seed i, as evaluation reads the real images
            x, y = collate([data[(i, i)] for i in range(len(data))])  # uint8: a float copy of a big folder is GBs
        return train_classifier(x[kept], y[kept], x[held_out], y[held_out], info.num_classes, progress=progress)

    net, acc = cached_classifier(path, info.img_channels, info.num_classes, info.img_size, fit,
                                 {"data": to_dict(cfg), "key": key, "held_out_share": HELD_OUT_SHARE,
                                  "held_out_seed": HELD_OUT_SEED})
    return Classifier(net, acc, key)
