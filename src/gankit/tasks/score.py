"""`gankit score`: one anomaly score per image (AnoGAN's latent search or f-AnoGAN's encoder), optionally where
the anomaly is (residual heat maps) and a yes/no verdict from a threshold fitted on normal images."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from ..errors import ArgumentError
from ..images import grid, heat, save_png
from ..nn import inference
from ..outputs import check_file, check_folder, write_atomically
from . import require
from .files import image_files, load_images, to_model_input, writing_into


@runtime_checkable
class Scorer(Protocol):
    """A system that scores images as anomalous: (one score per image, the G(z) each was compared with), and where
    each image differs from its G(z) as a map in [0, 1]."""

    def anomaly_scores(self, x: torch.Tensor, scorer: str | None = None, z0: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]: ...
    def residual_map(self, x: torch.Tensor, rec: torch.Tensor) -> torch.Tensor: ...


def score_tensor(model, images: torch.Tensor, scorer: str | None = None, batch_size: int = 64,
                 seed: int = 0, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images in [0, 1] (any size, 1 or 3 channels) -> (scores (N,), the model-size inputs in [0, 1], and per image
    G(z) in [0, 1] with its residual map |x - G(z)| in [0, 1] as one more channel: (N, C + 1, S, S)), on the CPU.
    Latent searches start from one seeded draw per image, so a score depends on the image, the seed and its place
    in the list, not on the batch size."""
    from tqdm import tqdm

    require(model, "score")
    z0 = torch.randn(len(images), model.cfg.z_dim, generator=torch.Generator().manual_seed(seed))
    scores, inputs, maps = [], [], []
    bar = tqdm(total=len(images), unit="img", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for start in range(0, len(images), batch_size):
        x = to_model_input(model, images[start:start + batch_size])
        s, rec = model.anomaly_scores(x, scorer, z0[start:start + len(x)])
        scores.append(s.float().cpu())
        inputs.append(((x + 1) / 2).cpu())
        maps.append(torch.cat([(rec.float().cpu() + 1) / 2, model.residual_map(x, rec).float().cpu()], 1))
        bar.update(len(x))
    bar.close()
    return torch.cat(scores), torch.cat(inputs), torch.cat(maps)


def score_files(model, inputs: list[str], out: str | Path, scorer: str | None = None,
                maps: str | Path | None = None, calibrate: list[str] | None = None, quantile: float = 0.95,
                batch_size: int = 64, seed: int = 0, progress: bool = True) -> tuple[list[Path], np.ndarray,
                                                                                    float | None]:
    """Score image files into a CSV (file, score[, anomaly]); returns the files, their scores and the threshold."""
    require(model, "score")
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise ArgumentError("out", f"writes a CSV: give a FILE.csv, got {out.name}")
    if not 0 < quantile < 1:
        raise ArgumentError("quantile", f"must be between 0 and 1, got {quantile}")
    if scorer not in (None, "encoder", "latent"):
        raise ArgumentError("scorer", f"'{scorer}' is unknown; valid: encoder, latent")
    check_file(out)
    if maps is not None:
        check_folder(maps, flag="maps")
    threshold = None
    if calibrate:
        normal = image_files(calibrate, "calibrate")
        s, _, _ = score_tensor(model, load_images(model, normal), scorer, batch_size, seed, progress)
        threshold = float(np.quantile(s.numpy(), quantile))
        print(f"gankit: threshold {threshold:.6g}: the {quantile:.0%} quantile of {len(normal)} normal images' "
              "scores", file=sys.stderr)
    files = image_files(inputs, "score")
    scores, x, residual = score_tensor(model, load_images(model, files), scorer, batch_size, seed, progress)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file", "score"] + (["anomaly"] if threshold is not None else []))
            for path, s in zip(files, scores.tolist()):
                verdict = (["yes" if s > threshold else "no"] if threshold is not None else [])
                writer.writerow([str(path), f"{s:.6g}", *verdict])

    write_atomically(out, write)
    if maps is not None:
        _write_maps(files, x, residual, Path(maps))
    return files, scores.numpy(), threshold


def _write_maps(files: list[Path], x: torch.Tensor, maps: torch.Tensor, folder: Path) -> None:
    """Per image, NAME.png in `folder`: the input, G(z) it was compared with, and the residual |x - G(z)| as a heat
    map (black: explained; white: not at all). Names that repeat (same file name in two folders) get their position
    as a suffix."""
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    written: list[Path] = []
    with writing_into(folder, written, len(files)):
        for i, (path, image, m) in enumerate(zip(files, x, maps)):
            name = path.stem if path.stem not in seen else f"{path.stem}-{i}"
            seen.add(name)
            c = image.shape[0]
            panels = torch.stack([image.expand(3, -1, -1), m[:c].expand(3, -1, -1), heat(m[c:][None])[0]])
            save_png(grid(panels, nrow=3, min_tile=128), folder / f"{name}.png")
            written.append(folder / f"{name}.png")


def score(model, images: torch.Tensor, scorer: str | None = None, batch_size: int = 64, seed: int = 0
          ) -> torch.Tensor:
    """Images in [0, 1] (any size, 1 or 3 channels) -> one anomaly score per image (higher: more anomalous)."""
    return score_tensor(model, images, scorer, batch_size, seed)[0]


# ---------------------------------------------------------------------------------------- evaluation


def evaluate(model, reference) -> dict[str, Any]:
    """A run trained without some classes: how well the encoder scorer (one pass, f-AnoGAN) tells them apart in the
    held-out split (AUROC, the left-out classes positive). Nothing for a run trained on every class."""
    from sklearn.metrics import roc_auc_score

    if not reference.data_cfg.exclude_classes:
        return {}
    x_test, y_test = reference.test_set()
    with inference(model):
        scores = torch.cat([model.anomaly_scores(part.to(model.device), "encoder")[0].float().cpu()
                            for part in x_test.split(500)])
    anomalous = np.isin(y_test, reference.data_cfg.exclude_classes)
    return {"anomaly_auroc_encoder": float(roc_auc_score(anomalous, scores.numpy()))}
