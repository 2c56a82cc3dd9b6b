"""`gankit classify`: class probabilities for image files from a model with a classifier (Triple-GAN's C)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from ..errors import ArgumentError
from ..nn import inference
from ..outputs import check_file, write_atomically
from . import require
from .files import image_files, load_images, to_model_input


@runtime_checkable
class Classifier(Protocol):
    """A system with a classifier (Triple-GAN's C): images in [-1, 1] at the model's size -> class probabilities."""

    def classify_batch(self, x: torch.Tensor) -> torch.Tensor: ...


def classify(model, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Images in [0, 1] (any size, 1 or 3 channels) -> class probabilities (N, K) on the CPU."""
    require(model, "classify")
    out = []
    with inference(model):
        for chunk in images.split(batch_size):
            out.append(model.classify_batch(to_model_input(model, chunk)).float().cpu())
    return torch.cat(out)


def classify_files(model, inputs: list[str], out: str | Path, batch_size: int = 256,
                   progress: bool = True) -> tuple[list[Path], torch.Tensor]:
    """A CSV with, per image, its most likely class (name and index) and every class's probability."""
    from tqdm import tqdm

    require(model, "classify")
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise ArgumentError("out", f"writes a CSV: give a FILE.csv, got {out.name}")
    check_file(out)
    files = image_files(inputs, "classify")
    parts = []
    with tqdm(total=len(files), unit="img", disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
        for i in range(0, len(files), batch_size):
            parts.append(classify(model, load_images(model, files[i:i + batch_size]), batch_size))
            bar.update(len(parts[-1]))
    probs = torch.cat(parts)
    names = model.info.label_names

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file", "label", "class", *(f"p_{name}" for name in names)])
            for path, p in zip(files, probs.tolist()):
                k = max(range(len(p)), key=p.__getitem__)
                writer.writerow([str(path), names[k], k, *(f"{v:.6g}" for v in p)])

    write_atomically(out, write)
    return files, probs


# ---------------------------------------------------------------------------------------- evaluation


def evaluate(model, reference) -> dict[str, Any]:
    """Accuracy of the classifier on the held-out split, every class and label."""
    x_test, y_test = reference.test_set()
    with inference(model):
        pred = torch.cat([model.classify_batch(part.to(model.device)).argmax(1).cpu() for part in x_test.split(500)])
    return {"classify_accuracy": float((pred.numpy() == y_test).mean())}
