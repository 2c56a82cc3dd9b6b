"""InfoGAN's mutual-information terms (Chen et al. 2016, section 5): pure functions of Q's outputs and the codes.

I(c; G(z, c)) >= H(c) + E[log Q(c | G(z, c))]. H(c) is fixed by the code's prior, so maximising the bound is
minimising the negative log-likelihood of the codes under Q: a cross-entropy for a categorical code, a factored
Gaussian's negative log-likelihood for continuous ones. Both are minimal when Q reads the codes back exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def categorical_code_loss(logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """-E[log Q(c | x)] for one categorical code: logits (N, K), codes (N,) int64 in [0, K)."""
    return F.cross_entropy(logits.float(), codes)


def gaussian_code_loss(mean: torch.Tensor, codes: torch.Tensor, log_std: torch.Tensor | None = None) -> torch.Tensor:
    """-E[log N(c; mean, std^2)] summed over the (N, D) continuous codes; `log_std` None is a unit standard
    deviation (the paper's MNIST code keeps it fixed), where the loss is 0.5 (c - mean)^2 + 0.5 log(2 pi) per code."""
    mean, codes = mean.float(), codes.float()
    log_std = torch.zeros_like(mean) if log_std is None else log_std.float()
    nll = 0.5 * ((codes - mean) * torch.exp(-log_std)).pow(2) + log_std + 0.5 * math.log(2 * math.pi)
    return nll.sum(1).mean()
