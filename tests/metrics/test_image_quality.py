import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from gankit.metrics import laplacian_fd, psnr, ssim
from gankit.metrics.image_quality import laplacian_pyramid, laplacian_reconstruct


def _texture(n: int, seed: int, size: int = 32, channels: int = 3) -> torch.Tensor:
    """Smoothed Gaussian noise mapped into [0, 1]: a stationary random texture with energy at every scale."""
    a = gaussian_filter(np.random.default_rng(seed).normal(size=(n, channels, size, size)), sigma=(0, 0, 0.7, 0.7))
    return torch.tensor(np.clip(0.5 + a / (4 * a.std()), 0, 1))


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    return torch.tensor(gaussian_filter(x.numpy(), sigma=(0, 0, sigma, sigma), mode="reflect"))


def _ssim_loops(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Direct SSIM of two 2-D images, one window position at a time; also returns the mean luminance term."""
    r = np.arange(11) - 5.0
    g = np.exp(-(r**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = 0.01**2, 0.03**2
    vals, lums = [], []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            a, b = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            lum = (2 * ma * mb + c1) / (ma**2 + mb**2 + c1)
            vals.append(lum * (2 * cov + c2) / (va + vb + c2))
            lums.append(lum)
    return float(np.mean(vals)), float(np.mean(lums))


def test_psnr_closed_form():
    x = torch.rand(3, 2, 8, 9, dtype=torch.float64) * 0.8  # headroom so x + 0.1 stays in [0, 1]
    assert torch.allclose(psnr(x, x + 0.1), torch.full((3,), 20.0, dtype=torch.float64))
    # +-0.01 with random signs: MSE exactly 1e-4
    signs = torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(0)).double() * 2 - 1
    assert torch.allclose(psnr(x, x + 0.01 * signs), torch.full((3,), 40.0, dtype=torch.float64))


def test_psnr_identical_is_inf_and_shapes_must_match():
    x = torch.rand(2, 3, 8, 8)
    assert torch.isinf(psnr(x, x)).all() and (psnr(x, x) > 0).all()
    with pytest.raises(ValueError):
        psnr(x, x[:, :, :7])


def test_ssim_identical_and_symmetric():
    x, y = _texture(2, 0), _texture(2, 1)
    assert torch.allclose(ssim(x, x), torch.ones(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(ssim(x, y), ssim(y, x), atol=1e-12)


def test_ssim_matches_direct_loops_and_offset_only_changes_luminance():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 0.8, size=(13, 14))
    y = x + 0.1
    val, lum = _ssim_loops(x, y)
    got = ssim(torch.tensor(x)[None, None], torch.tensor(y)[None, None]).item()
    assert math.isclose(got, val, rel_tol=1e-9)
    # equal variances and covariance = variance, so the contrast-structure term is exactly 1
    assert math.isclose(got, lum, rel_tol=1e-9) and got < 1
    # a general pair too, with two channels averaged
    z = np.clip(x + rng.normal(0, 0.1, size=x.shape), 0, 1)
    pair = torch.tensor(np.stack([x, z]))[None], torch.tensor(np.stack([z, y]))[None]
    expected = (_ssim_loops(x, z)[0] + _ssim_loops(z, y)[0]) / 2
    assert math.isclose(ssim(*pair).item(), expected, rel_tol=1e-9)


def test_ssim_drops_with_noise_and_blur():
    x = _texture(1, 4, size=48)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)).clamp(0, 1)
    assert ssim(x, noisy).item() < 0.9
    s = [ssim(x, _blur(x, sigma)).item() for sigma in (0.5, 1.0, 2.0)]
    assert 1 > s[0] > s[1] > s[2]


def test_ssim_rejects_small_images():
    x = torch.rand(1, 1, 10, 20)
    with pytest.raises(ValueError, match="at least 11"):
        ssim(x, x)


def test_laplacian_pyramid_reconstructs_the_image():
    x = torch.rand(2, 3, 29, 34, dtype=torch.float64)
    pyr = laplacian_pyramid(x, 4)
    assert [p.shape[-2:] for p in pyr] == [(29, 34), (15, 17), (8, 9), (4, 5)]
    assert torch.allclose(laplacian_reconstruct(pyr), x, atol=1e-5)
    # a constant image has nothing in the band-pass levels, borders included
    flat = laplacian_pyramid(torch.full((1, 1, 29, 34), 0.3), 4)
    assert all(p.abs().max() < 1e-12 for p in flat[:-1]) and torch.allclose(flat[-1], torch.tensor(0.3).double())


def test_laplacian_fd_same_set_is_zero():
    x = _texture(8, 5)
    out = laplacian_fd(x, x.clone())
    assert set(out) == {"fd_lap0", "fd_lap1", "fd_lap2", "fd_lap_mean"}
    assert all(abs(v) < 1e-6 for v in out.values())


def test_laplacian_fd_separates_blur_from_sampling_noise():
    real, other = _texture(32, 6), _texture(32, 7)
    same = laplacian_fd(real, other)["fd_lap0"]
    blurred = laplacian_fd(real, _blur(other, 1.0))["fd_lap0"]
    assert blurred > 8 * same  # measured about 17x


def test_laplacian_fd_rejects_small_images():
    x = torch.rand(4, 3, 27, 40)  # needs 7 * 2**2 = 28 pixels per side
    with pytest.raises(ValueError, match="too small"):
        laplacian_fd(x, x)
