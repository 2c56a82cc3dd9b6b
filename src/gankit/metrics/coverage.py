"""Mode coverage: how many of the data's classes / mixture components the samples land in, and how evenly."""

from __future__ import annotations

import numpy as np


def _reverse_kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) over bins; empty bins of p contribute nothing, so it stays finite when modes are missed."""
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-12))))


def class_coverage(predicted: np.ndarray, num_classes: int, data_hist: np.ndarray | None = None
                   ) -> dict[str, float | list[float]]:
    """Histogram of the classes a classifier assigns to samples, the number of classes hit at least once, and
    KL(sample histogram || data histogram) (uniform when no data histogram is given)."""
    counts = np.bincount(np.asarray(predicted), minlength=num_classes)[:num_classes]
    hist = counts / max(counts.sum(), 1)
    ref = np.full(num_classes, 1 / num_classes) if data_hist is None else np.asarray(data_hist, dtype=np.float64)
    return {"classes_covered": int((counts > 0).sum()), "kl_to_data": _reverse_kl(hist, ref),
            "histogram": hist.round(5).tolist()}


def mixture_coverage(samples: np.ndarray, means: np.ndarray, sigma: float) -> dict[str, float | None]:
    """The PacGAN protocol (Lin et al. 2018): a sample is high quality if it lies within 3 sigma of its nearest
    mode; a mode is captured if at least one high-quality sample is nearest to it; reverse KL of the
    high-quality samples' mode histogram against the uniform mixture weights."""
    x = np.asarray(samples, dtype=np.float64)
    d = np.linalg.norm(x[:, None, :] - np.asarray(means)[None], axis=2)
    nearest = d.argmin(1)
    good = d[np.arange(len(x)), nearest] <= 3 * sigma
    counts = np.bincount(nearest[good], minlength=len(means))
    hist = counts / max(counts.sum(), 1)
    return {"modes": int((counts > 0).sum()), "high_quality": float(good.mean()),
            "reverse_kl": _reverse_kl(hist, np.full(len(means), 1 / len(means))) if counts.sum() else None}
