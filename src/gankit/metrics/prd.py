"""Improved precision and recall (Kynkäänniemi et al. 2019) with k-nearest-neighbour manifolds.

Each set's manifold is the union of balls around its points, each ball reaching the point's k-th nearest
neighbour in the same set. Precision: the share of generated points inside the real manifold (are samples
realistic?). Recall: the share of real points inside the generated manifold (is the data's variety covered?).
"""

from __future__ import annotations

import numpy as np
import torch


def _kth_radius(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    radii = []
    for part in x.split(chunk):
        d = torch.cdist(part, x)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # +1: the point itself is at distance 0
    return torch.cat(radii)


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    hits = []
    for part in points.split(chunk):
        d = torch.cdist(part, centres)
        hits.append((d <= radii[None, :]).any(1))
    return torch.cat(hits)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3, chunk: int = 2048) -> tuple[float, float]:
    r = torch.as_tensor(np.asarray(real), dtype=torch.float32)
    f = torch.as_tensor(np.asarray(fake), dtype=torch.float32)
    precision = _inside(f, r, _kth_radius(r, k, chunk), chunk).float().mean().item()
    recall = _inside(r, f, _kth_radius(f, k, chunk), chunk).float().mean().item()
    return precision, recall
