"""MATLAB-compatible ``imresize`` (bicubic) for (N, C, H, W) tensors.

This follows the algorithm of MATLAB's ``imresize(A, scale, 'bicubic')`` (Image Processing Toolbox; Keys 1981):

* Kernel: Keys' cubic convolution with a = -0.5,
  ``k(x) = 1.5|x|^3 - 2.5|x|^2 + 1`` for |x| <= 1, ``-0.5|x|^3 + 2.5|x|^2 - 4|x| + 2`` for 1 < |x| <= 2, else 0.
  (PyTorch's ``F.interpolate(mode='bicubic')`` uses a = -0.75 and no antialiasing: it is not this.)
* Output size: ``ceil(scale * size)`` per dimension when a scale is given; when an output size is given the scale
  of that dimension is ``out / in``.
* Coordinates: output pixel x (1-based) samples the input at ``u = x / scale + 0.5 * (1 - 1 / scale)`` (pixel
  centres aligned, the "half-pixel" convention). The taps are the ``ceil(width) + 2`` integers from
  ``floor(u - width / 2)``, their weights ``k(u - index)`` normalised to sum to 1.
* Antialiasing when downscaling (scale < 1): the kernel is stretched to ``scale * k(scale * x)`` with width
  ``4 / scale``, so it low-passes at the new Nyquist rate.
* Borders: indices outside the image are mirrored with the edge pixel repeated (MATLAB's symmetric padding,
  ``[1..n, n..1]`` taken periodically).
* Order: separable, one dimension at a time, the dimension with the smaller scale first (height first on ties),
  which is what MATLAB does and matters only for the rounding of uint8 results and float round-off.
* uint8 input: computed in float64 and rounded to the nearest integer and clipped to [0, 255] after *each*
  dimension, as MATLAB's uint8 path does; the result is uint8. Float input keeps its dtype, with no rounding or
  clipping (bicubic overshoots slightly outside the input range, as in MATLAB for double images).

Each dimension is one gather with precomputed (out, taps) indices and weights and a weighted sum over the taps.
"""

from __future__ import annotations

import math

import torch

_WIDTH = 4.0  # support of the cubic kernel: [-2, 2]


def cubic(x: torch.Tensor) -> torch.Tensor:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``), elementwise."""
    ax = x.abs()
    ax2, ax3 = ax * ax, ax * ax * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return inner + outer


def contributions(in_len: int, out_len: int, scale: float, antialias: bool = True
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and 0-based input indices, both (out_len, taps), of one dimension, as MATLAB's ``contributions``.

    Taps whose weight is zero for every output pixel are dropped (as MATLAB does), so ``taps`` is usually
    4 for upscaling and ``4 / scale`` (+1 or +2) for downscaling.
    """
    if in_len < 1 or out_len < 1:
        raise ValueError(f"sizes must be positive, got {in_len} -> {out_len}")
    stretch = antialias and scale < 1
    width = _WIDTH / scale if stretch else _WIDTH
    x = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    idx = left[:, None] + torch.arange(taps, dtype=torch.float64)  # 1-based, may fall outside [1, in_len]
    dist = u[:, None] - idx
    weights = scale * cubic(scale * dist) if stretch else cubic(dist)
    weights = weights / weights.sum(1, keepdim=True)
    # Symmetric border: [1, ..., n, n, ..., 1] repeated; MATLAB's `aux(mod(indices - 1, 2n) + 1)`.
    period = 2 * in_len
    m = torch.remainder(idx.long() - 1, period)
    idx0 = torch.where(m < in_len, m, period - 1 - m)
    keep = (weights != 0).any(0)
    return weights[:, keep], idx0[:, keep]


def _resize_dim(x: torch.Tensor, dim: int, out_len: int, scale: float, antialias: bool, as_uint8: bool
                ) -> torch.Tensor:
    weights, idx = contributions(x.shape[dim], out_len, scale, antialias)
    weights, idx = weights.to(x), idx.to(x.device)
    wshape = [1] * x.dim()
    wshape[dim] = out_len
    # One gather and multiply-add per tap: never materialises the (out, taps) stack of every pixel.
    out = x.index_select(dim, idx[:, 0]) * weights[:, 0].reshape(wshape)
    for t in range(1, idx.shape[1]):
        out.addcmul_(x.index_select(dim, idx[:, t]), weights[:, t].reshape(wshape))
    if as_uint8:
        out = out.round().clamp_(0, 255)
    return out


def _output_plan(h: int, w: int, scale: float | tuple[float, float] | None, size: tuple[int, int] | None
                 ) -> tuple[tuple[int, int], tuple[float, float]]:
    if (scale is None) == (size is None):
        raise ValueError("give exactly one of scale and size")
    if size is not None:
        oh, ow = (int(s) for s in size)
        if oh < 1 or ow < 1:
            raise ValueError(f"output size must be positive, got {size}")
        return (oh, ow), (oh / h, ow / w)
    sh, sw = (float(scale), float(scale)) if isinstance(scale, (int, float)) else (float(scale[0]), float(scale[1]))
    if sh <= 0 or sw <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return (math.ceil(h * sh), math.ceil(w * sw)), (sh, sw)


def imresize(x: torch.Tensor, scale: float | tuple[float, float] | None = None, size: tuple[int, int] | None = None,
             antialias: bool = True) -> torch.Tensor:
    """Resize (N, C, H, W) images like MATLAB's ``imresize(x, scale, 'bicubic')`` or ``imresize(x, size, ...)``.

    ``scale`` is one factor or (height, width) factors, output ``ceil(H * scale)`` x ``ceil(W * scale)``; ``size``
    is the output (H, W) instead. ``antialias=False`` is MATLAB's ``'Antialiasing', false``. Float tensors are
    resized in their own dtype (use float64 for bit-level agreement with MATLAB's double path); uint8 tensors
    follow MATLAB's uint8 path (see the module docstring) and come back as uint8. Any other dtype is refused.
    """
    if x.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(x.shape)}")
    as_uint8 = x.dtype == torch.uint8
    if not as_uint8 and not x.is_floating_point():
        raise TypeError(f"imresize takes float or uint8 images, got {x.dtype}")
    (oh, ow), (sh, sw) = _output_plan(x.shape[-2], x.shape[-1], scale, size)
    y = x.double() if as_uint8 else x
    plan = [(2, oh, sh), (3, ow, sw)]
    if sw < sh:
        plan.reverse()
    for dim, out_len, s in plan:
        if out_len == y.shape[dim] and s == 1:
            continue  # MATLAB skips a dimension whose scale is 1
        y = _resize_dim(y, dim, out_len, s, antialias, as_uint8)
    return y.to(torch.uint8) if as_uint8 else y


def imresize_255(x: torch.Tensor, scale: float | tuple[float, float] | None = None,
                 size: tuple[int, int] | None = None, antialias: bool = True) -> torch.Tensor:
    """MATLAB's uint8 path for float images in [0, 1]: quantise to 0..255, resize as uint8 (rounding after each
    dimension), and return float images in [0, 1] on the 1/255 grid, in ``x``'s dtype. This is what evaluation
    scripts that ``imread`` PNGs and call ``imresize`` on them compute."""
    q = (x.double() * 255).round().clamp(0, 255).to(torch.uint8)
    return (imresize(q, scale, size, antialias).double() / 255).to(x.dtype)
