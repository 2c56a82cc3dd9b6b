"""2-D Gaussian mixtures of the PacGAN protocol (Lin et al. 2018), after Metz et al. 2017 and VEEGAN.

`ring8`: 8 Gaussians evenly spaced on the unit circle, sigma 0.01. `grid25`: 25 Gaussians at {-4,-2,0,2,4}^2,
sigma 0.05. Samples are drawn fresh for every batch from a generator seeded by the batch's position in the run,
so the stream is endless and still resumes exactly.
"""

from __future__ import annotations

import math

import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .info import Batch, DataInfo
from .transforms import to_device


class Mixture:
    def __init__(self, name: str, means: torch.Tensor, sigma: float):
        self.means, self.sigma = means.float(), sigma
        self.info = DataInfo(name=name, img_size=0, img_channels=0, dim=2)
        self.device = torch.device("cpu")

    def __len__(self) -> int:
        return 100_000  # a nominal epoch; samples are fresh every batch anyway

    def to(self, device: torch.device) -> Mixture:
        self.device = device
        return self

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        modes = torch.randint(len(self.means), (n,), generator=generator)
        x = self.means[modes] + self.sigma * torch.randn(n, 2, generator=generator)
        return x, modes

    def batch(self, indices: torch.Tensor, generator: torch.Generator) -> Batch:
        x, modes = self.sample(len(indices), generator)
        return {"x": to_device(x, self.device), "mode": to_device(modes, self.device)}


def ring8_means() -> torch.Tensor:
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([angles.cos(), angles.sin()], 1)


def grid25_means() -> torch.Tensor:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(axis, axis)


@DATASETS.register("ring8")
def ring8(arg: str, cfg: DataConfig) -> Mixture:
    """8 Gaussians on the unit circle, sigma 0.01 (PacGAN's 2-D benchmark)."""
    if arg:
        raise DataError("'ring8' takes no directory")
    return Mixture("ring8", ring8_means(), 0.01)


@DATASETS.register("grid25")
def grid25(arg: str, cfg: DataConfig) -> Mixture:
    """25 Gaussians on a 5x5 grid with spacing 2, sigma 0.05 (PacGAN's 2-D benchmark)."""
    if arg:
        raise DataError("'grid25' takes no directory")
    return Mixture("grid25", grid25_means(), 0.05)


MIXTURES = {"ring8": (ring8_means, 0.01), "grid25": (grid25_means, 0.05)}
