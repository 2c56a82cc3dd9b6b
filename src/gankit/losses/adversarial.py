"""Adversarial objectives as pairs of pure functions of the discriminator's logits.

Written with softplus rather than log(sigmoid(.)): log(sigmoid(x)) = -softplus(-x) and
log(1 - sigmoid(x)) = -softplus(x), which stay finite for any logit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Goodfellow et al. 2014, D's side: -log D(x) - log(1 - D(G(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def nonsaturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(z)): the paper's practical G loss, strong gradients while D still rejects the fakes."""
    return F.softplus(-fake_logits).mean()


def minimax_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """log(1 - D(G(z))): the game's own G objective; its gradient vanishes when D is confident."""
    return -F.softplus(fake_logits).mean()
