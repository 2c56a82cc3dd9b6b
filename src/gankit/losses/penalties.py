"""Constraints on a discriminator: gradient penalty (WGAN-GP), drift penalty (PGGAN) and weight clipping (WGAN)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def _input_gradient(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad


def gradient_penalty(D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     eps: torch.Tensor,
                     input_gradient: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = _input_gradient,
                     target: float = 1.0) -> torch.Tensor:
    """Gulrajani et al. 2017: E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = eps real + (1 - eps) fake, with
    eps ~ U[0, 1] per sample (shape (N,)). PGGAN's CIFAR-10 run pulls the norm to another `target` gamma and divides
    by gamma^2: E[(||grad|| - gamma)^2] / gamma^2 (the same value as before for gamma = 1).

    The input gradient keeps its graph (create_graph) so the penalty is differentiable with respect to D's
    weights: a double backward. `input_gradient` lets the caller take it with fp16 loss scaling.
    """
    eps = eps.to(real.dtype).view(-1, *([1] * (real.dim() - 1)))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    grad = input_gradient(D(x_hat), x_hat)
    return ((grad.float().flatten(1).norm(2, dim=1) - target) / target).pow(2).mean()


def drift_penalty(real_scores: torch.Tensor) -> torch.Tensor:
    """Karras et al. 2018: E[D(x)^2] on real images, weighted 0.001, keeps a Wasserstein critic's output from
    drifting far from zero."""
    return real_scores.float().square().mean()


@torch.no_grad()
def clip_weights(net: nn.Module, c: float) -> None:
    """Arjovsky et al. 2017: keep every critic parameter in [-c, c], a crude way to bound its Lipschitz constant."""
    for p in net.parameters():
        p.clamp_(-c, c)
