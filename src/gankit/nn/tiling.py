"""Running a fully convolutional network over an image too large to go through at once: overlapping tiles, each
cut with a margin of `overlap` input pixels on every side that has a neighbour (the network's receptive radius
is enough), of which only the centre is kept. The output equals the whole-image output wherever the margin covers
what an output pixel sees, and memory is bounded by the tile, not by the image."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ArgumentError


def run_tiled(net: nn.Module, x: torch.Tensor, scale: int, tile: int = 128, overlap: int | None = None
              ) -> torch.Tensor:
    """net(x) for (N, C, h, w) in tiles of at most `tile` x `tile` input pixels (plus the overlap); an image that fits
    one tile goes through whole."""
    if overlap is None:  # the network's own reach when it states one
        overlap = getattr(net, "receptive_radius", 16)
    if tile < 1 or overlap < 0:
        raise ArgumentError("tile", f"must be at least 1 (and the overlap 0 or more), got {tile} / {overlap}")
    n, c, h, w = x.shape
    if h <= tile and w <= tile:
        return net(x)
    out = torch.empty(n, c, h * scale, w * scale, dtype=x.dtype)  # on the CPU: only a tile is on the device
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            t0, l0 = max(0, top - overlap), max(0, left - overlap)
            t1, l1 = min(h, top + tile + overlap), min(w, left + tile + overlap)
            y = net(x[..., t0:t1, l0:l1])
            bottom, right = min(h, top + tile), min(w, left + tile)
            out[..., top * scale:bottom * scale, left * scale:right * scale] = \
                y[..., (top - t0) * scale:(bottom - t0) * scale, (left - l0) * scale:(right - l0) * scale].cpu()
    return out


def _ramp(n: int, start: int, end: int, lo: int, hi: int, band: int) -> torch.Tensor:
    """Weights along one axis for a tile whose core is [start, end) and whose output covers [lo, hi): rising linearly
    over [start - band, start + band) and falling over [end - band, end + band) where a neighbour shares the band,
    so that neighbouring weights sum to 1; 1 elsewhere (and at the image's edges)."""
    p = torch.arange(lo, hi, dtype=torch.float32) + 0.5
    w = torch.ones(hi - lo)
    if band and start > 0:
        w = torch.minimum(w, ((p - (start - band)) / (2 * band)).clamp(0, 1))
    if band and end < n:
        w = torch.minimum(w, (((end + band) - p) / (2 * band)).clamp(0, 1))
    return w


def run_blended(net, x: torch.Tensor, tile: int, context: int, band: int = 16, align: int = 1) -> torch.Tensor:
    """net(x) for (N, C, H, W) -> (N, C', H, W) in tiles whose cores are `tile` pixels apart, blended without seams.

    Each tile's output covers its core and `band` pixels beyond it on every side with a neighbour, where the two
    tiles' outputs are mixed with linear weights that sum to 1; its input has `context` more pixels on those sides,
    which are computed and thrown away. Where `context` covers what an output pixel sees (the network's receptive
    radius) and the network's statistics are local (no whole-image normalisation), each tile's output in its band
    is the whole image's, so the blend is exact. Sizes are rounded up to multiples of `align` (a network that
    halves the image k times sees the same pixels only at offsets that are multiples of 2^k). Memory is bounded by
    one tile plus the output; the output is on the CPU in float32."""
    if tile < 1 or context < 0 or band < 0:
        raise ArgumentError("tile", f"must be at least 1 (context and band 0 or more), got {tile} / {context} / {band}")
    up = lambda v: -(-v // align) * align  # noqa: E731
    tile, context, band = up(max(tile, 2 * band)), up(context), up(band)
    n, _, h, w = x.shape
    out = weight = None
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            bottom, right = min(h, top + tile), min(w, left + tile)
            o_t, o_l, o_b, o_r = max(0, top - band), max(0, left - band), min(h, bottom + band), min(w, right + band)
            i_t, i_l = max(0, o_t - context), max(0, o_l - context)
            i_b, i_r = min(h, o_b + context), min(w, o_r + context)
            y = net(x[..., i_t:i_b, i_l:i_r])[..., o_t - i_t:o_b - i_t, o_l - i_l:o_r - i_l].float().cpu()
            if out is None:
                out = torch.zeros(n, y.shape[1], h, w)
                weight = torch.zeros(h, w)
            wt = _ramp(h, top, bottom, o_t, o_b, band)[:, None] * _ramp(w, left, right, o_l, o_r, band)[None, :]
            out[..., o_t:o_b, o_l:o_r] += y * wt
            weight[o_t:o_b, o_l:o_r] += wt
    return out.div_(weight)


def receptive_radius(net: nn.Module, channels: int, align: int = 1, limit: int = 256) -> int:
    """How many pixels an output pixel sees on each side, measured: the farthest output that changes when one
    central input pixel does. Measured in eval mode with instance and group normalisation bypassed (whole-image
    statistics would make every pixel see every other): what is measured is the convolutions' reach. Forward passes
    only, on the network itself (no copy). At most `limit` (a network that sees further is treated as seeing that
    far)."""
    net = getattr(net, "convolutions", lambda: net)()  # a test-mode wrapper names the network inside it
    global_stats = (nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm)
    hooks = [m.register_forward_hook(lambda mod, inp, out: inp[0])
             for m in net.modules() if isinstance(m, global_stats)]
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    size = max(64, -(-64 // align) * align)
    try:
        while True:
            x = torch.randn(1, channels, size, size, generator=torch.Generator().manual_seed(0)).to(device)
            with torch.no_grad():
                before = net(x)
                x[..., size // 2, size // 2] += 1
                seen = ((net(x) - before).abs().sum((0, 1)) > 0).nonzero().cpu()
            radius = int(max(size // 2 - seen[:, 0].min(), seen[:, 0].max() - size // 2,
                             size // 2 - seen[:, 1].min(), seen[:, 1].max() - size // 2))
            if radius < size // 2 - align or size >= 2 * limit:  # the change stopped short of the probe's edge
                return min(radius, limit)
            size = -(-(2 * size) // align) * align
    finally:
        for hook in hooks:
            hook.remove()
        net.train(was_training)
