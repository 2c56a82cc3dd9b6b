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


def ls_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Mao et al. 2017, D's side with targets b=1 (real), a=0 (fake): 1/2 (D(x)-1)^2 + 1/2 D(G(z))^2."""
    return 0.5 * ((real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean())


def ls_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Mao et al. 2017, G's side with target c=1: 1/2 (D(G(z))-1)^2. Its gradient grows with the distance
    from the decision boundary, so fakes far on the 'real' side still get pulled toward the data."""
    return 0.5 * (fake_logits - 1).pow(2).mean()


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Arjovsky et al. 2017, the critic minimises E[f(G(z))] - E[f(x)]; minus this is its estimate of the
    Wasserstein-1 distance (up to the Lipschitz constant)."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """-E[f(G(z))]."""
    return -fake_scores.mean()


def patch_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """A local discriminator's cross-entropy (SimGAN): logit maps (N, h, w), one per image patch, summed over the
    patches and averaged over the images."""
    return F.softplus(-real_logits).flatten(1).sum(1).mean() + F.softplus(fake_logits).flatten(1).sum(1).mean()


def patch_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(x)) per patch, summed over the patches and averaged over the images (SimGAN's refiner)."""
    return F.softplus(-fake_logits).flatten(1).sum(1).mean()
