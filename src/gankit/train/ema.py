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

    @torch.no_grad()
    def update(self) -> None:
        ema_params = list(self.copy.parameters())
        params = [p.detach() for p in self.net.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - self.beta)
        # Buffers (batch-norm statistics) are copied: averaging them lags behind the weights they describe.
        for b_ema, b in zip(self.copy.buffers(), self.net.buffers()):
            b_ema.copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.copy.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.copy.load_state_dict(state)
