"""Constraints on a discriminator: gradient penalty (WGAN-GP) and weight clipping (WGAN)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def gradient_penalty(D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Gulrajani et al. 2017: E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat uniformly between real and fake pairs.

    create_graph=True keeps the penalty differentiable with respect to D's weights (a double backward).
    """
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = D(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


@torch.no_grad()
def clip_weights(net: nn.Module, c: float) -> None:
    """Arjovsky et al. 2017: keep every critic parameter in [-c, c], a crude way to bound its Lipschitz constant."""
    for p in net.parameters():
        p.clamp_(-c, c)
