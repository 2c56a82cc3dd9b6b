"""The standard FID, KID and Inception Score: measured in the FID Inception network (nn/inception.py) from the
user's copy of its published weights, so the numbers compare with published ones made the same way.

Protocol (pytorch-fid's for the features; the papers' for the statistics):
- images in [0, 1], quantised to 8 bits first (the standard tools read saved PNGs; real images already are);
  grey repeated to RGB; bilinear resize to 299x299, align_corners=False, no antialiasing; scaled to [-1, 1].
- FID (Heusel et al. 2017): Fréchet distance (metrics/frechet.py) between Gaussians fitted to the 2048-d pool3
  features of the samples and of the real images (computed from the sets themselves when one has fewer than
  2048 rows: the same number, faster).
- KID (Binkowski et al. 2018): the unbiased estimate of MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3 on the
  same features, averaged over 100 subsets of min(1000, n_real, n_samples) drawn from each set without
  replacement (seeded); `kid_std` is its standard deviation over the subsets. Unbiased: it can be slightly negative.
- IS (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), p(y|x) the softmax of all 1008 logits without the
  classifier's bias (the improved-GAN code's and torch-fidelity's), in 10 equal splits of the samples (fewer when
  there are fewer than 10 samples); `is`, `is_std` are the splits' mean and standard deviation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import GankitError
from ..outputs import write_atomically
from ..safetensors_io import read_tensors, write_tensors
from .frechet import frechet_distance, gaussian_stats

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
IS_SPLITS = 10


def fid(x: np.ndarray, y: np.ndarray, y_stats: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """The Fréchet distance between Gaussians fitted to feature sets x and y (rows are samples). With more rows than
    dimensions in both, metrics/frechet.py on their statistics (`y_stats`: y's, if already at hand). Otherwise the
    same number from the sets themselves, faster than two 2048 x 2048 eigen-decompositions: with S_x = A A^T and
    S_y = B B^T (A, B the centred rows over sqrt(n - 1)), S_x S_y has the nonzero eigenvalues of (A^T B)(A^T B)^T,
    so tr (S_x S_y)^(1/2) is the sum of the singular values of A^T B, a small matrix."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if min(len(x), len(y)) > x.shape[1]:
        return frechet_distance(*gaussian_stats(x), *(y_stats or gaussian_stats(y)))
    a = (x - x.mean(0)) / np.sqrt(len(x) - 1)
    b = (y - y.mean(0)) / np.sqrt(len(y) - 1)
    diff = x.mean(0) - y.mean(0)
    tr_sqrt = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    return float(max(diff @ diff + np.sum(a * a) + np.sum(b * b) - 2 * tr_sqrt, 0.0))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two samples of equal size m with the cubic polynomial kernel (x.y / d + 1)^3: the
    within-set kernel sums leave out the diagonal (k(x_i, x_i)), so the estimate's expectation is the true MMD^2."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m, d = x.shape
    if y.shape != (m, d) or m < 2:
        raise ValueError(f"need two sets of the same shape with 2 rows at least, got {x.shape} and {y.shape}")
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def kernel_distance(x: np.ndarray, y: np.ndarray, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
                    seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation of `mmd2_unbiased` over `subsets` random subsets of
    min(subset_size, len(x), len(y)) rows of each set (without replacement within a subset)."""
    m = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def inception_score(logits: np.ndarray, splits: int = IS_SPLITS) -> tuple[float, float]:
    """IS over `splits` consecutive equal parts (min(splits, n)): exp of the mean KL between each sample's class
    distribution and the part's marginal; mean and standard deviation over the parts."""
    z = np.asarray(logits, np.float64)
    log_p = z - z.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    splits = min(splits, len(z))
    scores = []
    n = len(z)
    for i in range(splits):  # cut at i n / splits, as the reference code and torch-fidelity do
        lp = log_p[i * n // splits:(i + 1) * n // splits]
        p = np.exp(lp)
        log_marginal = np.log(p.mean(0))
        scores.append(np.exp((p * (lp - log_marginal)).sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def quantize(x01: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats as an 8-bit image file would hold them."""
    return (x01.float().clamp(0, 1) * 255).round() / 255


class InceptionReference:
    """The real images' pool3 features in the FID Inception network, computed once (and, given `cache` and a net
    loaded from the published file, kept in `<cache>/inception-features/`, keyed by the weights' SHA-256 and the
    images' bytes); calling it with samples gives `fid`, `kid`, `kid_std`, `is`, `is_std`.

    `net`: an FIDInceptionV3 (nn/inception.py). `size`: its input size, 299; smaller is for fast tests only."""

    def __init__(self, net, real01: torch.Tensor, cache: str | Path | None = None, size: int = 299, batch: int = 50):
        if len(real01) < 2:
            raise GankitError(f"the standard FID/KID/IS need 2 real images at least, got {len(real01)}")
        self.net, self.size, self.batch = net, size, batch
        real = quantize(real01.cpu())
        weights_sha256, path = getattr(net, "weights_sha256", None), None
        if cache is not None and weights_sha256 is not None:
            device = next(net.parameters()).device.type  # a GPU's convolutions (TF32) give other features
            where = "" if device == "cpu" else f"{device}:"
            h = hashlib.sha256(f"{weights_sha256}:{size}:{tuple(real.shape)}:{where}".encode())
            h.update((real * 255).round().to(torch.uint8).numpy().tobytes())
            path = Path(cache).expanduser() / "inception-features" / f"{h.hexdigest()[:32]}.safetensors"
        if path is not None and path.is_file():
            self.real_feats = read_tensors(path)["pool3"].numpy().astype(np.float64)
        else:
            self.real_feats = self.features(real)[0]
            if path is not None:
                pool3 = {"pool3": torch.from_numpy(self.real_feats.astype(np.float32))}
                write_atomically(path, lambda tmp: write_tensors(tmp, pool3, metadata={
                    "weights_sha256": weights_sha256, "size": str(size)}))
        self.real_stats = gaussian_stats(self.real_feats)

    def features(self, x01: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Images in [0, 1] -> (pool3 (N, 2048), logits (N, 1008)) as float64, in batches on the net's device."""
        device = next(self.net.parameters()).device
        pool3, logits = [], []
        for part in quantize(x01.cpu()).split(self.batch):
            f, z = self.net.embed(part.to(device), size=self.size)
            pool3.append(f.cpu())
            logits.append(z.cpu())
        return torch.cat(pool3).double().numpy(), torch.cat(logits).double().numpy()

    def __call__(self, x01: torch.Tensor, seed: int = 0) -> dict[str, Any]:
        feats, logits = self.features(x01)
        m: dict[str, Any] = {"fid": fid(feats, self.real_feats, self.real_stats)}
        m["kid"], m["kid_std"] = kernel_distance(self.real_feats, feats, seed=seed)
        m["is"], m["is_std"] = inception_score(logits)
        return m
