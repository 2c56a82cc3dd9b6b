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


@runtime_checkable
class PyramidSampler(Protocol):
    """A sampler that draws coarse to fine (LAPGAN): every level of its chain, coarsest first, each at its own size;
    optionally from given coarse images or with every residual zero; and the same pyramid of real images."""

    def generate_levels(self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None,
                        coarse: torch.Tensor | None = None, zero_residuals: bool = False) -> list[torch.Tensor]: ...

    def real_levels(self, x: torch.Tensor) -> list[torch.Tensor]: ...

    def to_full_size(self, x: torch.Tensor) -> torch.Tensor: ...


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
                   fmt: str | None = None, levels: bool = False, coarse: str | Path | None = None) -> Path:
    """n samples into `out`: a PNG grid, or .npy ((N, H, W, C) uint8 for images, (N, D) floats for vectors); 2-D
    data as a scatter plot in PNG. `fmt` (png | npy) overrides the file name's suffix. Coarse-to-fine samplers:
    `levels` draws every level of the chain (a PNG grid), `coarse` starts from the images in that file or folder
    (see sample_chain)."""
    if n < 1:
        raise ArgumentError("n", "must be at least 1")
    out = check_file(out)
    fmt = fmt or ("npy" if out.suffix.lower() == ".npy" else "png")
    nrow = None
    if levels or coarse is not None:
        if levels and fmt != "png":
            raise ArgumentError("levels", "draws a PNG grid, one row per level of the chain: use --out FILE.png")
        images, nrow = sample_chain(model, n, seed, levels, coarse, label)
    else:
        images = sample(model, n, seed=seed, label=label)
    if fmt == "png":
        save_png(scatter(images) if not model.info.is_image else grid(images, nrow=nrow), out)
        return out
    # images: (N, H, W, C) uint8, the layout image libraries expect; vectors: (N, D) floats
    array = to_uint8(images) if model.info.is_image else images.cpu().numpy()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, array)

    write_atomically(out, write)
    return out


def sample_chain(model, n: int, seed: int = 0, levels: bool = False, coarse: str | Path | None = None,
                 label: int | None = None) -> tuple[torch.Tensor, int | None]:
    """A coarse-to-fine sampler's draws in [0, 1] and the grid's row length. `levels`: one row per level of the
    chain, coarsest first, each level shown at full size by pixel repetition, a column per sample. `coarse` (an
    image file or a folder): sample i starts from coarse image i mod M instead of from noise, M to a row; the images
    have a level's size, or the full size (their coarsest level is then used, all the detail regenerated)."""
    import torch.nn.functional as F

    require(model, "sample")
    system = system_of(model)
    if not isinstance(system, PyramidSampler):
        flag = "levels" if levels else "coarse"
        raise ArgumentError(flag, f"is for coarse-to-fine samplers (lapgan); {model.cfg.name} draws its images in one "
                                  "go")
    extra = {}
    if label is not None:
        if not isinstance(system, LabelSampler):
            raise ArgumentError("label", f"is for label-conditioned models; {model.cfg.name} takes none")
        extra["label"] = label
    start, nrow = None, None
    if coarse is not None:
        given = read_coarse(model, coarse)
        start, nrow = given[torch.arange(n) % len(given)].to(model.device), len(given)
    G = getattr(model, model.ema_target)
    with inference(G):
        chain = model.generate_levels(n, model.seeded(seed), G, coarse=start, **extra)
    if not levels:
        return model.for_display(chain[-1]), nrow
    size = chain[-1].shape[-2:]
    return model.for_display(torch.cat([F.interpolate(x, size=size, mode="nearest") for x in chain])), n


def read_coarse(model, spec: str | Path) -> torch.Tensor:
    """The images of a file or folder as (M, C, h, w) in [-1, 1] with the model's channels, all of one size; at the
    model's full size, their coarsest pyramid level."""
    from PIL import Image

    from ..data.transforms import pil_to_tensor, to_mode
    from .files import image_files

    images = []
    size = model.info.img_size
    for path in image_files([str(spec)], "coarse"):
        with Image.open(path) as img:
            if max(img.size) > size:  # read from the header: a photo is refused before it is decoded
                raise ArgumentError("coarse", f"images must be at most the model's {size}x{size} pixels (a "
                                              f"level of its chain, or full size), got {img.width}x{img.height} "
                                              f"({path.name})")
            images.append(pil_to_tensor(to_mode(img, model.info.img_channels)).float() / 127.5 - 1)
    if not images:
        raise ArgumentError("coarse", f"{spec} holds no readable image")
    sizes = sorted({f"{x.shape[-1]}x{x.shape[-2]}" for x in images})
    if len(sizes) > 1:
        raise ArgumentError("coarse", f"images must all have one size, found {', '.join(sizes)}")
    x = torch.stack(images)
    if x.shape[-2:] == (model.info.img_size, model.info.img_size):
        x = model.real_levels(x)[0]
    return x


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


def evaluate(model, reference, n: int = 10_000, seed: int = 0, G=None, inception=None) -> dict[str, Any]:
    """The samples' metrics against `reference` (metrics/reference.py), for n samples drawn from `seed`; with
    `inception` (metrics/standard.py's InceptionReference) also the standard `fid`, `kid` and `is`."""
    if not reference.info.is_image:
        x = generate(model, n, seed, G).numpy()
        return {"n": n, **mixture_coverage(x, reference.means, reference.sigma)}
    x = generate(model, n, seed, G)
    standard = inception((x.cpu() + 1) / 2, seed=seed) if inception is not None else {}
    if not hasattr(reference, "classify"):  # images without classes: ImageNet features and Laplacian patches
        return {**_label_free(reference, x, n, seed), **standard}
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
    if isinstance(system_of(model), PyramidSampler):
        m.update(pyramid_evaluate(model, reference, n, seed, G))
    return {**m, **standard}


def pyramid_evaluate(model, reference, n: int, seed: int, G=None, batch: int = 500) -> dict[str, float]:
    """A coarse-to-fine sampler's levels in the dataset classifier's features (which take full-size images):
    `fd_level_<size>px`, each level of the chain from noise against the same level of the real images' pyramid,
    both brought to full size by the model's own expansion u() (what the chain shows with every finer residual
    zero; the finest level is the samples' own FD); `fd_zero_residuals`, the whole chain with every residual zero
    against the real images (what the residual generators add); `fd_from_real_coarse`, the finest generator alone
    on the real images' next coarser level, l_0 + G_0(z, l_0) (that level without the error the chain brings)."""
    G = G or getattr(model, model.ema_target)
    real_levels = model.real_levels(reference.real_x)
    if len(real_levels) < 2:  # a single-level model (lapgan's single-scale baseline): nothing to add
        return {}

    def fd(x: torch.Tensor, stats) -> float:
        return frechet_distance(*gaussian_stats(reference.classify(x)[0]), *stats)

    chains, zeros, refined = [], [], []
    draws, zero_draws, refine_draws = model.seeded(seed), model.seeded(seed), model.seeded(seed + 1)
    with inference(G):
        for start in range(0, n, batch):
            k = min(batch, n - start)
            chains.append([x.cpu() for x in model.generate_levels(k, draws, G)])
            zeros.append(model.generate_levels(k, zero_draws, G, zero_residuals=True)[-1].cpu())  # the same z
        for part in real_levels[-2][:n].split(batch):
            refined.append(model.generate_levels(len(part), refine_draws, G, coarse=part.to(model.device))[-1].cpu())
    m = {}
    for fake, true in zip(zip(*chains), real_levels):
        m[f"fd_level_{true.shape[-1]}px"] = fd(model.to_full_size(torch.cat(fake)),
                                               gaussian_stats(reference.classify(model.to_full_size(true))[0]))
    m["fd_zero_residuals"] = fd(torch.cat(zeros), reference.real_stats)
    m["fd_from_real_coarse"] = fd(torch.cat(refined), reference.real_stats)
    return m
