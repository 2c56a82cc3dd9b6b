"""Weight initialisations named after the paper that prescribes them."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def dcgan_init(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Radford et al. 2016: every weight from N(0, 0.02); batch-norm scales from N(1, 0.02), shifts 0.

    `generator` makes the initialisation independent of the global RNG, so a run is a function of its seed. Layers
    that say `keeps_own_init` (weight-normalised ones, whose weights are only directions and whose own scale sets
    the relative step of each Adam update) are left as they are, so a model can be initialised as a whole.
    """
    for m in module.modules():
        if getattr(m, "keeps_own_init", False):
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            m.weight.normal_(0.0, 0.02, generator=generator)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.weight.normal_(1.0, 0.02, generator=generator)
            m.bias.zero_()
