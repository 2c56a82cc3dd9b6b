"""Using a model's latent space: `gankit encode` (images -> codes, and x beside its reconstruction) and
`gankit explore` (a traversal grid of one code with everything else fixed).

Encoders take images of the model's size; others are brought to it as its training data was (resized, antialiased
bilinear; or zero-padded when it trained with data.fit=pad) and converted to its channels (luma for colour into a
grayscale model), so any picture can be encoded.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from ..errors import ArgumentError
from ..images import columns, grid, save_png
from ..nn import inference
from ..outputs import check_file, write_atomically
from . import require
from .files import image_files, load_images, to_model_input


@runtime_checkable
class Encoder(Protocol):
    """A system that maps images back to its latent codes (BiGAN's E, InfoGAN's Q) and codes to images.
    `categorical_codes()` (name -> number of categories), when a system has it, says which columns are categories."""

    def code_names(self) -> list[str]: ...
    def encode_batch(self, x: torch.Tensor) -> torch.Tensor: ...
    def decode_batch(self, codes: torch.Tensor, G: nn.Module | None = None) -> torch.Tensor: ...


@runtime_checkable
class Explorer(Protocol):
    """A system with named latent codes (InfoGAN): a traversal grid varying one of them, and its row length."""

    def explore_grid(self, code: str, values: torch.Tensor | None, rows: int, generator: torch.Generator,
                     G: nn.Module) -> tuple[torch.Tensor, int]: ...


def categorical_codes(model) -> dict[str, int]:
    return model.categorical_codes() if hasattr(model, "categorical_codes") else {}


def encode_tensor(model, images: torch.Tensor, batch_size: int = 256, reconstruct: bool = False
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Codes (N, D) on the CPU, and with `reconstruct` the decoded codes as images in [0, 1] at the model's size."""
    require(model, "encode")
    codes, recons = [], []
    with inference(model):
        for chunk in images.split(batch_size):
            c = model.encode_batch(to_model_input(model, chunk))
            codes.append(c.float().cpu())
            if reconstruct:
                recons.append(model.for_display(model.decode_batch(c)).cpu())
    return torch.cat(codes), torch.cat(recons) if reconstruct else None


def encode_files(model, inputs: list[str], out: str | Path, reconstruct: str | Path | None = None,
                 batch_size: int = 256, progress: bool = True) -> tuple[list[Path], torch.Tensor]:
    """Encode image files (files, folders, globs) into `out`: FILE.npy (N, D) float32, rows in input order, or
    FILE.csv with a header (file, then one column per code). Returns the files encoded and their codes."""
    from tqdm import tqdm

    require(model, "encode")
    out = Path(out)
    if out.suffix.lower() not in (".npy", ".csv"):
        raise ArgumentError("out", f"must end in .npy or .csv, got {out.name}")
    if reconstruct is not None and Path(reconstruct).suffix.lower() != ".png":
        raise ArgumentError("reconstruct", f"writes a PNG grid: give a FILE.png, got {Path(reconstruct).name}")
    check_file(out)
    if reconstruct is not None:
        check_file(reconstruct, flag="reconstruct")
    files = image_files(inputs, "encode")
    codes, shown = [], []
    bar = tqdm(total=len(files), unit="img", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        x = load_images(model, chunk)
        room = 32 - sum(len(a) for a, _ in shown)  # the grid shows the first 32 images
        c, r = encode_tensor(model, x, batch_size, reconstruct=reconstruct is not None and room > 0)
        codes.append(c)
        if r is not None:
            shown.append((x[:room], r[:room]))
        bar.update(len(chunk))
    bar.close()
    codes_all = torch.cat(codes) if codes else torch.zeros(0, len(model.code_names()))

    def write(tmp: Path) -> None:
        if out.suffix.lower() == ".npy":
            with open(tmp, "wb") as f:
                np.save(f, codes_all.numpy().astype(np.float32))
            return
        categorical = set(categorical_codes(model))
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file", *model.code_names()])
            for path, row in zip(files, codes_all.tolist()):
                writer.writerow([str(path), *(int(v) if name in categorical else f"{v:.6g}"
                                              for name, v in zip(model.code_names(), row))])

    write_atomically(out, write)
    if reconstruct is not None and shown:
        pairs, _ = columns(torch.cat([a for a, _ in shown]), torch.cat([b for _, b in shown]))
        save_png(grid(pairs, nrow=min(16, len(pairs))), Path(reconstruct))
    return files, codes_all


def explore(model, code: str, out: str | Path, low: float = -2.0, high: float = 2.0, steps: int = 9,
            n: int = 10, seed: int = 0) -> Path:
    """Write the traversal grid of `code` (see the model's explore_grid) to `out` (PNG)."""
    require(model, "explore")
    out = check_file(out)
    images, nrow = explore_images(model, code, low, high, steps, n, seed)
    save_png(grid(images, nrow=nrow), out)
    return out


def explore_images(model, code: str, low: float = -2.0, high: float = 2.0, steps: int = 9, n: int = 10,
                   seed: int = 0) -> tuple[torch.Tensor, int]:
    """The traversal of `code` (see the model's explore_grid) as images in [0, 1], and the grid's row length."""
    require(model, "explore")
    if steps < 2:
        raise ArgumentError("steps", "must be at least 2")
    if n < 1:
        raise ArgumentError("n", "must be at least 1")
    if not np.isfinite([low, high]).all() or low >= high:
        raise ArgumentError("range", f"must be two finite numbers, low < high; got {low} {high}")
    G = getattr(model, model.ema_target)
    values = torch.linspace(low, high, steps)
    with inference(model):
        images, nrow = model.explore_grid(code, values, n, model.seeded(seed), G)
    return model.for_display(images), nrow


def encode(model, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Images as floats in [0, 1], (N, C, H, W) of any size (resized to the model's) -> codes (N, D), columns named by
    code_names()."""
    return encode_tensor(model, images, batch_size)[0]


def reconstruct(model, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Images in [0, 1] -> G(E(x)) in [0, 1], at the model's size."""
    return encode_tensor(model, images, batch_size, reconstruct=True)[1]


# ---------------------------------------------------------------------------------------- evaluation


def evaluate(model, reference, G=None) -> dict[str, Any]:
    """What the encoder knows of the classes, without having seen a label: for a code vector, 1-nearest-neighbour
    and linear-probe accuracy of the codes of held-out images (the training images' codes as the reference); for
    categorical codes, the accuracy of each as a classifier (best one-to-one matching of categories to classes);
    and the share of held-out images whose reconstruction G(E(x)) the dataset's classifier reads as their label."""
    from ..metrics.latent import cluster_accuracy, linear_probe_accuracy, nearest_neighbour_accuracy

    x_test, y_test = reference.test_set()

    def codes_of(x: torch.Tensor) -> np.ndarray:
        with inference(model):
            return torch.cat([model.encode_batch(part.to(model.device)).float().cpu()
                              for part in x.split(500)]).numpy()

    codes_test = codes_of(x_test)
    m: dict[str, Any] = {}
    names = model.code_names()
    categorical = categorical_codes(model)
    if not categorical:  # a vector of codes (BiGAN's z): how well it separates the classes
        codes_train = codes_of(reference.real_x)
        m["encoding_1nn_accuracy"] = nearest_neighbour_accuracy(codes_train, reference.real_labels, codes_test,
                                                                y_test)
        m["encoding_linear_accuracy"] = linear_probe_accuracy(codes_train, reference.real_labels, codes_test, y_test)
    for name in categorical:  # a category (InfoGAN's c1): how well it is the class
        column = codes_test[:, names.index(name)].astype(np.int64)
        m[f"cluster_accuracy_{name}"] = cluster_accuracy(column, y_test)
    G = G or getattr(model, model.ema_target)
    with inference(model), inference(G):
        recon = torch.cat([model.decode_batch(torch.from_numpy(part).to(model.device), G).float().cpu()
                           for part in np.array_split(codes_test, max(1, len(codes_test) // 500))])
    m["reconstruction_label_kept"] = float((reference.classify(recon)[1] == y_test).mean())
    return m
