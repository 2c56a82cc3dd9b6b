"""Running a fully convolutional network over an image too large to go through at once: overlapping tiles, each
cut with a margin of `overlap` input pixels on every side that has a neighbour (the network's receptive radius
is enough), of which only the centre is kept. The output equals the whole-image output wherever the margin covers
what an output pixel sees, and memory is bounded by the tile, not by the image."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ArgumentError


def run_tiled(net: nn.Module, x: torch.Tensor, scale: int, tile: int = 128, overlap: int = 16) -> torch.Tensor:
    """net(x) for (N, C, h, w) in tiles of at most `tile` x `tile` input pixels (plus the overlap); an image that fits
    one tile goes through whole."""
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
