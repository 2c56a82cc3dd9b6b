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

from ..nn.pyramid import laplacian_pyramid, laplacian_reconstruct, separable_filter
from .frechet import frechet_distance, gaussian_stats

__all__ = ["high_frequency_ratio", "laplacian_fd", "laplacian_patch_features", "laplacian_pyramid",
           "laplacian_reconstruct", "mod_crop", "psnr", "quantize_8bit", "rgb_to_y", "sr_psnr", "sr_ssim", "ssim"]

_SSIM_WIN, _SSIM_SIGMA, _SSIM_K1, _SSIM_K2 = 11, 1.5, 0.01, 0.03


def _check_images(x: torch.Tensor, name: str) -> None:
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}")


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    _check_images(x, "x")
    if x.shape != y.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")


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
    stats = separable_filter(torch.cat([x, y, x * x, y * y, x * y], 1), taps, padding=0)
    mx, my, sxx, syy, sxy = stats.chunk(5, 1)
    vx, vy, cxy = sxx - mx * mx, syy - my * my, sxy - mx * my
    c1, c2 = _SSIM_K1**2, _SSIM_K2**2
    m = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return m.flatten(1).mean(1)


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


# ---------------------------------------------------------------------------------------------------------------
# The standard super-resolution evaluation protocol (SRCNN, VDSR, EDSR, EnhanceNet tables and their MATLAB scripts).

_BT601 = (65.481, 128.553, 24.966)


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Round images in [0, 1] to the 8-bit grid (``round(255 x) / 255``, clipped to [0, 1]): what saving a PNG and
    reading it back does. Keeps the dtype."""
    return (x * 255).round().clamp(0, 255) / 255


def rgb_to_y(img: torch.Tensor, round_8bit: bool = False) -> torch.Tensor:
    """BT.601 luma of (N, 3, H, W) RGB in [0, 1] as MATLAB's ``rgb2ycbcr`` gives it, shape (N, 1, H, W), in [0, 1]:
    ``Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255``, so Y lies in [16/255, 235/255] ("studio swing").

    ``round_8bit=True`` rounds 255 Y to an integer first, as ``rgb2ycbcr`` on a uint8 image does (its result is
    uint8); the input should then be on the 8-bit grid. The result is float64.
    """
    _check_images(img, "img")
    if img.shape[1] != 3:
        raise ValueError(f"rgb_to_y needs 3 channels, got {img.shape[1]}")
    x = img.double()
    y = 16 + _BT601[0] * x[:, 0:1] + _BT601[1] * x[:, 1:2] + _BT601[2] * x[:, 2:3]
    return (y.round() if round_8bit else y) / 255


def mod_crop(img: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop (..., H, W) images to the largest multiple of ``scale`` on each side, keeping the top-left corner
    (MATLAB's ``modcrop``: ``img(1:H - mod(H, scale), 1:W - mod(W, scale), :)``)."""
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    h, w = img.shape[-2:]
    return img[..., : h - h % scale, : w - w % scale]


def _sr_luma(sr: torch.Tensor, hr: torch.Tensor, scale: int, quantize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The Y channels of SR and HR on the protocol's grid, with ``scale`` pixels shaved from each border."""
    _check_pair(sr, hr)
    if sr.shape[1] not in (1, 3):
        raise ValueError(f"SR evaluation takes grey (1-channel) or RGB (3-channel) images, got {sr.shape[1]} channels")
    if scale < 0 or 2 * scale >= min(sr.shape[-2:]):
        raise ValueError(f"cannot shave {scale} pixels from each border of {tuple(sr.shape[-2:])} images")
    out = []
    for img in (sr, hr):
        x = img.double()
        if quantize:
            x = quantize_8bit(x)
        y = rgb_to_y(x, round_8bit=quantize) if x.shape[1] == 3 else x
        out.append(y[..., scale: y.shape[-2] - scale, scale: y.shape[-1] - scale])
    return out[0], out[1]


_PROTOCOL = """
    The protocol of the MATLAB evaluation scripts behind the published SR tables: both images are taken on the
    8-bit grid (``quantize=True``: ``round(255 x) / 255``, what a saved PNG holds; HR should already be mod-cropped to
    ``scale``, see ``mod_crop``), RGB images are reduced to BT.601 luma with ``rgb2ycbcr``'s uint8 rounding of
    Y to an integer (``rgb_to_y(..., round_8bit=True)``), grey images are their own Y (no 16-235 mapping), and
    ``scale`` pixels are shaved from each border. The rounding of Y is kept because it is what ``rgb2ycbcr`` does
    on the uint8 images those scripts read, and it is needed to reproduce the published per-image bicubic
    numbers (Set5 x4 on CSet5: 31.77 / 30.18 / 22.10 / 31.58 / 26.46 dB, tests/metrics/test_sr_protocol.py);
    without it baby comes out 31.79 and head 31.62. ``quantize=False`` uses the float images and unrounded Y
    (BasicSR's convention), which reads a few hundredths of a dB higher.
"""


def sr_psnr(sr: torch.Tensor, hr: torch.Tensor, scale: int, quantize: bool = True) -> torch.Tensor:
    """Per-image super-resolution PSNR in dB on the Y channel, shape (N,), float64, of (N, C, H, W) images in [0, 1].

    PSNR is 10 log10(1 / MSE) on Y in [0, 1], i.e. 10 log10(255^2 / MSE) on 0-255 Y; identical images give +inf.
    """
    y_sr, y_hr = _sr_luma(sr, hr, scale, quantize)
    return psnr(y_sr, y_hr)


sr_psnr.__doc__ += _PROTOCOL


def sr_ssim(sr: torch.Tensor, hr: torch.Tensor, scale: int, quantize: bool = True) -> torch.Tensor:
    """Per-image super-resolution SSIM on the Y channel, shape (N,), of (N, C, H, W) images in [0, 1].

    SSIM is ``ssim`` on the shaved Y (11x11 Gaussian window, sigma 1.5, data range 1 = 255 on 0-255 Y, 'valid'
    windows only, as Wang et al.'s ``ssim_index.m``; no automatic downsampling of large images).
    """
    y_sr, y_hr = _sr_luma(sr, hr, scale, quantize)
    return ssim(y_sr, y_hr)


sr_ssim.__doc__ += _PROTOCOL


def high_frequency_ratio(sr: torch.Tensor, hr: torch.Tensor, scale: int, quantize: bool = True) -> torch.Tensor:
    """Per-image ratio of high-frequency energy, SR over HR, shape (N,), float64, of (N, C, H, W) images in [0, 1].

    Both images go through the Y / shave path of ``sr_psnr``; the energy is the sum of squares of the finest band
    of the binomial Laplacian pyramid (``laplacian_pyramid(y, 2)[0]``: Y minus its blurred, decimated and
    re-expanded self) of the shaved Y. 1 means as much fine detail as HR; bicubic x4 upscaling gives 0.121 on CSet5
    and 0.055 on CBSD68 (tests/metrics/test_sr_protocol.py); values well above 1 mean noise or artefacts rather than
    detail. An HR image without any fine-band energy (a constant) gives inf or nan.
    """
    y_sr, y_hr = _sr_luma(sr, hr, scale, quantize)
    e_sr = laplacian_pyramid(y_sr, 2)[0].pow(2).flatten(1).sum(1)
    e_hr = laplacian_pyramid(y_hr, 2)[0].pow(2).flatten(1).sum(1)
    return e_sr / e_hr
