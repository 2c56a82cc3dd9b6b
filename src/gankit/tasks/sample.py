"""`gankit sample`: draws from a generative model, as tensors and as files (a PNG grid, a .npy array, or a scatter
plot for 2-D data), and how good the draws are in numbers.

Evaluation of labelled images: Fréchet distance and precision/recall (k=3) in the feature space of a classifier
trained on the dataset's own training split (its test accuracy reported beside), the classes the samples fall
into (covered, KL to the data's class histogram), and for label-conditioned models the share of samples
classified as the label they were asked for. Stacked MNIST: 1,000 modes. 2-D mixtures: the PacGAN protocol (modes
captured, high-quality share, reverse KL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from ..errors import ArgumentError
from ..images import grid, save_png, scatter, to_uint8
from ..metrics import class_coverage, frechet_distance, gaussian_stats, mixture_coverage, precision_recall
from ..nn import inference
from ..outputs import check_file, write_atomically
from . import require, system_of


@runtime_checkable
class Sampler(Protocol):
    """A system that draws samples from noise: n images in [-1, 1] (vectors for 2-D data) from its G or the EMA copy
    passed as `G`."""

    def generate(self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None
                 ) -> torch.Tensor: ...


@runtime_checkable
class LabelSampler(Protocol):
    """A sampler whose G takes a class label: `generate(..., label=)`."""

    def class_labels(self, n: int, label: int | torch.Tensor | None) -> torch.Tensor: ...


def sample(model, n: int = 64, seed: int | None = None, label: int | None = None) -> torch.Tensor:
    """n images as floats in [0, 1], shape (n, C, H, W) (vector data: (n, D), unscaled). `seed` makes the draw
    reproducible and leaves the training noise untouched. Label-conditioned models take `label`."""
    require(model, "sample")
    extra = {}
    if label is not None:
        if not isinstance(system_of(model), LabelSampler):
            raise ArgumentError("label", f"is for label-conditioned models; {model.cfg.name} takes none")
        extra["label"] = label
    with inference(getattr(model, model.ema_target)):
        return model.for_display(model.generate(n, generator=model.seeded(seed), **extra))


def sample_to_file(model, out: str | Path, n: int = 64, seed: int = 0, label: int | None = None,
                   fmt: str | None = None) -> Path:
    """n samples into `out`: a PNG grid, or .npy ((N, H, W, C) uint8 for images, (N, D) floats for vectors); 2-D
    data as a scatter plot in PNG. `fmt` (png | npy) overrides the file name's suffix."""
    if n < 1:
        raise ArgumentError("n", "must be at least 1")
    out = check_file(out)
    fmt = fmt or ("npy" if out.suffix.lower() == ".npy" else "png")
    images = sample(model, n, seed=seed, label=label)
    if fmt == "png":
        save_png(scatter(images) if not model.info.is_image else grid(images), out)
        return out
    # images: (N, H, W, C) uint8, the layout image libraries expect; vectors: (N, D) floats
    array = to_uint8(images) if model.info.is_image else images.cpu().numpy()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, array)

    write_atomically(out, write)
    return out


def _label_free(reference, x: torch.Tensor, n: int, seed: int) -> dict[str, Any]:
    from ..metrics.image_quality import laplacian_fd

    feats = reference.embed(x)
    m: dict[str, Any] = {"n": n, "fd_imagenet_lite0": frechet_distance(*gaussian_stats(feats), *reference.real_stats)}
    k = min(len(reference.real_feats), len(feats), 10_000)
    sub = np.random.default_rng(seed).choice(len(reference.real_feats), k, replace=False)
    if k > 4:  # nearest-neighbour balls need a few points
        m["precision"], m["recall"] = precision_recall(reference.real_feats[sub], feats[:k])
    if min(x.shape[-2:]) >= 28:  # 7x7 patches on three pyramid levels
        m.update(laplacian_fd(reference.real_x[sub], (x[:k].cpu() + 1) / 2, seed=seed))
    return m


def generate(model, n: int, seed: int, G=None, batch: int = 500, **kwargs: Any) -> torch.Tensor:
    """n samples in the model's own range ([-1, 1] images), drawn in batches from a seeded generator."""
    G = G or getattr(model, model.ema_target)
    generator = model.seeded(seed)
    out = []
    with inference(G):
        for start in range(0, n, batch):
            k = min(batch, n - start)
            extra = {key: v[start:start + k] for key, v in kwargs.items()}
            out.append(model.generate(k, generator=generator, G=G, **extra).cpu())
    return torch.cat(out)


# ---------------------------------------------------------------------------------------- evaluation


def evaluate(model, reference, n: int = 10_000, seed: int = 0, G=None) -> dict[str, Any]:
    """The samples' metrics against `reference` (metrics/reference.py), for n samples drawn from `seed`."""
    if not reference.info.is_image:
        x = generate(model, n, seed, G).numpy()
        return {"n": n, **mixture_coverage(x, reference.means, reference.sigma)}
    x = generate(model, n, seed, G)
    if not hasattr(reference, "classify"):  # images without classes: ImageNet features and Laplacian patches
        return _label_free(reference, x, n, seed)
    feats, labels = reference.classify(x)
    m: dict[str, Any] = {"n": n, "classifier_test_accuracy": round(reference.classifier.test_accuracy, 5)}
    m[f"fd_{reference.name.replace('-', '_')}_classifier"] = frechet_distance(*gaussian_stats(feats),
                                                                               *reference.real_stats)
    m_real = min(len(reference.real_feats), 10_000)
    sub = np.random.default_rng(seed).choice(len(reference.real_feats), m_real, replace=False)
    m["precision"], m["recall"] = precision_recall(reference.real_feats[sub], feats[:m_real])
    K = reference.info.num_classes
    if reference.stacked:  # the protocol's reference is the uniform distribution over the 1,000 modes
        cov = class_coverage(labels, K)
        m["modes_covered"], m["kl_to_uniform"] = cov["classes_covered"], cov["kl_to_data"]
    else:
        cov = class_coverage(labels, K, reference.data_hist)
        m["classes_covered"], m["kl_to_data"] = cov["classes_covered"], cov["kl_to_data"]
        m["class_histogram"] = cov["histogram"]
    if isinstance(system_of(model), LabelSampler):
        asked = torch.arange(n) % K
        xc = generate(model, n, seed + 1, G, label=asked)
        m["conditional_accuracy"] = float((reference.classify(xc)[1] == asked.numpy()).mean())
    return m
