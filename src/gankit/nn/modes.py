"""How a network runs outside its training step: inference (eval mode, no autograd), frozen (no parameter
gradients), and inputs padded to the size multiple a network needs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn


@contextlib.contextmanager
def inference(net: nn.Module) -> Iterator[None]:
    """Eval mode (batch-norm running statistics, no dropout) and no autograd, restoring the mode after."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        net.train(was_training)


@contextlib.contextmanager
def frozen(*nets: nn.Module) -> Iterator[None]:
    """No parameter gradients for `nets` inside the block: G's update does not also fill D's .grad."""
    saved = [[p.requires_grad for p in net.parameters()] for net in nets]
    for net in nets:
        net.requires_grad_(False)
    try:
        yield
    finally:
        for net, flags in zip(nets, saved):
            for p, flag in zip(net.parameters(), flags):
                p.requires_grad_(flag)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """(N, C, H, W) padded on the right and bottom to multiples of `multiple`: by reflection where the image is
    large enough for it, else by repeating the edge."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)
