"""Image-space quality measures for photos: PSNR, SSIM and a Fréchet distance on Laplacian-pyramid patches.

PSNR and SSIM (Wang et al. 2004) compare paired images (a reconstruction against its target). ``laplacian_fd``
compares two unpaired image sets the way FID does, but in a feature space that needs no downloaded network
(Inception weights cannot be fetched here): each image is split into a Laplacian pyramid (Burt & Adelson 1983),
random 7x7xC patches are cut from each of the finest levels, as in the sliced Wasserstein descriptor of Karras et
al. 2018 (PGGAN), and a Gaussian is fitted to the patches of each set per level; the distance per level is the
Fréchet distance between the two Gaussians (``frechet.frechet_distance``). The fine levels are where blur shows: a
blurry image set has little energy in the finest band, so its patches' Gaussian is much narrower than the real
one and ``fd_lap0`` grows, while the coarse levels track colour and layout.

The patch descriptors of both sets are standardised per dimension with the real set's mean and std, so the
distance is in units of the real data's spread. The numbers depend on the image size, ``levels``, ``patch``,
``per_image``, the number of images and the seed; compare them only across runs that share all of these.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .frechet import frechet_distance, gaussian_stats

_SSIM_WIN, _SSIM_SIGMA, _SSIM_K1, _SSIM_K2 = 11, 1.5, 0.01, 0.03
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64) / 16


def _check_images(x: torch.Tensor, name: str) -> None:
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}")


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    _check_images(x, "x")
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")


def _separable(x: torch.Tensor, taps: torch.Tensor, padding: int) -> torch.Tensor:
    """Filter every channel of (N, C, H, W) ``x`` with the outer product of 1-D ``taps`` with itself."""
    n, c, h, w = x.shape
    k = taps.to(x)
    flat = x.reshape(n * c, 1, h, w)
    flat = F.conv2d(flat, k.view(1, 1, 1, -1), padding=(0, padding))
    flat = F.conv2d(flat, k.view(1, 1, -1, 1), padding=(padding, 0))
    return flat.reshape(n, c, flat.shape[-2], flat.shape[-1])


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image peak signal-to-noise ratio in dB of images in [0, 1] with shape (N, C, H, W): 10 log10(1 / MSE),
    shape (N,), float64. Identical images give +inf; callers average the finite values or cap them."""
    _check_pair(x, y)
    mse = (x.double() - y.double()).pow(2).flatten(1).mean(1)
    # 1 / 0 = inf in IEEE arithmetic, so identical images come out as +inf rather than an error.
    return 10 * torch.log10(1 / mse)


def _gaussian_taps(size: int, sigma: float) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image structural similarity (Wang et al. 2004) of images in [0, 1] with shape (N, C, H, W), shape (N,).

    11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, data range 1, population (not sample) variances,
    computed per channel and averaged over channels and over the 'valid' window positions (those where the whole
    window fits, no padding). This is scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1)`` except that skimage filters with padding and then crops a 5-pixel
    border, so near the border its values differ slightly. Images must be at least 11 pixels on each side.
    """
    _check_pair(x, y)
    if min(x.shape[-2:]) < _SSIM_WIN:
        raise ValueError(f"SSIM needs images of at least {_SSIM_WIN}x{_SSIM_WIN} pixels, got {tuple(x.shape[-2:])}")
    x, y = x.double(), y.double()
    taps = _gaussian_taps(_SSIM_WIN, _SSIM_SIGMA)
    # One conv pass over the five stacked maps instead of five passes.
    stats = _separable(torch.cat([x, y, x * x, y * y, x * y], 1), taps, padding=0)
    mx, my, sxx, syy, sxy = stats.chunk(5, 1)
    vx, vy, cxy = sxx - mx * mx, syy - my * my, sxy - mx * my
    c1, c2 = _SSIM_K1**2, _SSIM_K2**2
    m = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return m.flatten(1).mean(1)


def _blur(x: torch.Tensor) -> torch.Tensor:
    """5-tap binomial blur with zero padding, renormalised by the weight that fell inside the image so that borders
    are not darkened and constants stay constant, for any image size (reflect padding fails below 3 pixels)."""
    return _separable(x, _BINOMIAL, 2) / _separable(torch.ones_like(x[:1, :1]), _BINOMIAL, 2)


def _upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Expand (N, C, h, w) to ``size`` = (H, W) with h = ceil(H / 2): zero insertion then the binomial blur,
    normalised by the blurred sample mask (4 in the interior, less at the borders)."""
    n, c, _, _ = x.shape
    z = x.new_zeros(n, c, *size)
    z[..., ::2, ::2] = x
    mask = x.new_zeros(1, 1, *size)
    mask[..., ::2, ::2] = 1
    return _separable(z, _BINOMIAL, 2) / _separable(mask, _BINOMIAL, 2)


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Laplacian pyramid (Burt & Adelson 1983) of (N, C, H, W) images as ``levels`` float64 tensors, finest first.

    G_0 is the image and G_{k+1} the binomial-blurred G_k taken at every second pixel (size ceil(h / 2)); level k is
    G_k - upsample(G_{k+1}) for k < levels - 1, and the last level is the low-pass residual G_{levels-1}, so that
    ``laplacian_reconstruct`` gives the image back exactly.
    """
    _check_images(images, "images")
    if levels < 1:
        raise ValueError(f"levels must be at least 1, got {levels}")
    g = images.double()
    pyramid = []
    for _ in range(levels - 1):
        down = _blur(g)[..., ::2, ::2]
        pyramid.append(g - _upsample(down, g.shape[-2:]))
        g = down
    pyramid.append(g)
    return pyramid


def laplacian_reconstruct(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """Invert ``laplacian_pyramid``: upsample from the residual and add the band-pass levels back, coarsest first."""
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        image = band + _upsample(image, band.shape[-2:])
    return image


def _check_patch_size(images: torch.Tensor, levels: int, patch: int) -> None:
    need = patch * 2 ** (levels - 1)
    if min(images.shape[-2:]) < need:
        raise ValueError(f"images of {tuple(images.shape[-2:])} pixels are too small for {levels} levels of "
                         f"{patch}x{patch} patches; need at least {need} pixels per side")


def laplacian_patch_features(images: torch.Tensor, levels: int = 3, patch: int = 7, per_image: int = 64,
                             generator: torch.Generator | None = None) -> list[np.ndarray]:
    """Random patch descriptors from each level of the Laplacian pyramid (finest first) of (N, C, H, W) images.

    From every level, ``per_image`` patch x patch x C neighbourhoods are cut per image at positions drawn from
    ``generator`` (CPU); returns one (N * per_image, patch * patch * C) float64 array per level, unnormalised
    (``laplacian_fd`` standardises both sets with the same statistics).
    """
    _check_images(images, "images")
    _check_patch_size(images, levels, patch)
    n = images.shape[0]
    offsets = torch.arange(patch)
    features = []
    for level in laplacian_pyramid(images.detach().to("cpu"), levels):
        h, w = level.shape[-2:]
        top = torch.randint(0, h - patch + 1, (n, per_image), generator=generator)
        left = torch.randint(0, w - patch + 1, (n, per_image), generator=generator)
        rows = (top[..., None] + offsets)[..., :, None]  # (N, P, patch, 1)
        cols = (left[..., None] + offsets)[..., None, :]  # (N, P, 1, patch)
        idx = torch.arange(n).view(n, 1, 1, 1)
        patches = level.permute(0, 2, 3, 1)[idx, rows, cols]  # (N, P, patch, patch, C)
        features.append(patches.reshape(n * per_image, -1).numpy())
    return features


def laplacian_fd(real: torch.Tensor, fake: torch.Tensor, levels: int = 3, patch: int = 7, per_image: int = 64,
                 seed: int = 0) -> dict[str, float]:
    """Fréchet distance between Gaussians fitted to Laplacian-pyramid patch descriptors of two (N, C, H, W) image
    sets in [0, 1], per level, with both sets standardised per dimension by the real set's mean and std.

    Returns ``fd_lap0`` (finest) ... ``fd_lap{levels-1}`` (low-pass residual) and their mean ``fd_lap_mean``. Images
    must be at least patch * 2**(levels - 1) pixels on each side.
    """
    _check_images(real, "real")
    _check_images(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"channel counts differ: {real.shape[1]} vs {fake.shape[1]}")
    # The same seed for both sets, so equal sets give equal patches and a zero distance.
    real_f = laplacian_patch_features(real, levels, patch, per_image, torch.Generator().manual_seed(seed))
    fake_f = laplacian_patch_features(fake, levels, patch, per_image, torch.Generator().manual_seed(seed))
    out = {}
    for k, (r, f) in enumerate(zip(real_f, fake_f)):
        mu, sd = r.mean(0), r.std(0)
        sd = np.where(sd > 0, sd, 1.0)  # a constant dimension of the real set: compare raw offsets
        out[f"fd_lap{k}"] = frechet_distance(*gaussian_stats((r - mu) / sd), *gaussian_stats((f - mu) / sd))
    out["fd_lap_mean"] = float(np.mean([out[f"fd_lap{k}"] for k in range(levels)]))
    return out
