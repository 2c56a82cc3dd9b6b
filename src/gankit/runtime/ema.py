"""An exponential moving average of a network's weights (e.g. G), sampled instead of the raw weights."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, net: nn.Module, beta: float):
        self.beta = beta
        self.net = net
        self.copy = copy.deepcopy(net).eval().requires_grad_(False)

    def update(self) -> None:
        average_into(self.copy, self.net, 1.0 - self.beta)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.copy.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.copy.load_state_dict(state)


@torch.no_grad()
def average_into(average: nn.Module, net: nn.Module, rate: float) -> None:
    """Move `average`'s weights `rate` of the way to `net`'s (a running average of a network trained in place)."""
    torch._foreach_lerp_(list(average.parameters()), [p.detach() for p in net.parameters()], rate)
    # Buffers (batch-norm statistics) are copied: averaging them lags behind the weights they describe.
    for b_avg, b in zip(average.buffers(), net.buffers()):
        b_avg.copy_(b)
