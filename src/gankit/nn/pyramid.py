"""Binomial (Burt & Adelson 1983) blur, expand and the Laplacian pyramid of (N, C, H, W) images.

The 5-tap kernel is [1, 4, 6, 4, 1] / 16 applied separably. Borders use zero padding renormalised by the weight that
fell inside the image, so constants stay constant for any image size (reflect padding fails below 3 pixels).
Shared by the Laplacian-patch Fréchet distance and the high-frequency ratio of metrics/image_quality.py and by the
systems that build or sample pyramids (LAPGAN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64) / 16


def separable_filter(x: torch.Tensor, taps: torch.Tensor, padding: int) -> torch.Tensor:
    """Filter every channel of (N, C, H, W) ``x`` with the outer product of 1-D ``taps`` with itself (zero padding)."""
    n, c, h, w = x.shape
    k = taps.to(x)
    flat = x.reshape(n * c, 1, h, w)
    flat = F.conv2d(flat, k.view(1, 1, 1, -1), padding=(0, padding))
    flat = F.conv2d(flat, k.view(1, 1, -1, 1), padding=(padding, 0))
    return flat.reshape(n, c, flat.shape[-2], flat.shape[-1])


def blur(x: torch.Tensor) -> torch.Tensor:
    """5-tap binomial blur with zero padding, renormalised by the weight that fell inside the image so that borders
    are not darkened and constants stay constant, for any image size."""
    return separable_filter(x, BINOMIAL, 2) / separable_filter(torch.ones_like(x[:1, :1]), BINOMIAL, 2)


def upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Expand (N, C, h, w) to ``size`` = (H, W) with h = ceil(H / 2): zero insertion then the binomial blur,
    normalised by the blurred sample mask (4 in the interior, less at the borders)."""
    n, c, _, _ = x.shape
    z = x.new_zeros(n, c, *size)
    z[..., ::2, ::2] = x
    mask = x.new_zeros(1, 1, *size)
    mask[..., ::2, ::2] = 1
    return separable_filter(z, BINOMIAL, 2) / separable_filter(mask, BINOMIAL, 2)


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Laplacian pyramid (Burt & Adelson 1983) of (N, C, H, W) images as ``levels`` float64 tensors, finest first.

    G_0 is the image and G_{k+1} the binomial-blurred G_k taken at every second pixel (size ceil(h / 2)); level k is
    G_k - upsample(G_{k+1}) for k < levels - 1, and the last level is the low-pass residual G_{levels-1}, so that
    ``laplacian_reconstruct`` gives the image back exactly.
    """
    if images.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    if levels < 1:
        raise ValueError(f"levels must be at least 1, got {levels}")
    g = images.double()
    pyramid = []
    for _ in range(levels - 1):
        down = blur(g)[..., ::2, ::2]
        pyramid.append(g - upsample(down, g.shape[-2:]))
        g = down
    pyramid.append(g)
    return pyramid


def laplacian_reconstruct(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """Invert ``laplacian_pyramid``: upsample from the residual and add the band-pass levels back, coarsest first."""
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        image = band + upsample(image, band.shape[-2:])
    return image
