"""What a training step runs on, below both the systems (models/) and the loop (train/): precision (autocast, grad
scalers), the process group, and the optimizers, handed to a model as one StepTools object."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .distributed import SINGLE, Dist
from .precision import Precision


@dataclass
class StepTools:
    """The trainer builds this and gives it to the model (`model.tools`); a model's step helpers (`optimize`,
    `input_gradient`, `randn`) read it. Defaults: fp32, one process, no optimizers yet."""

    precision: Precision = field(default_factory=Precision)
    dist: Dist = SINGLE
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
