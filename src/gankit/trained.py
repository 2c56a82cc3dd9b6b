"""A trained model as the Python API hands it out (`gankit.load`, `gankit.train(...).model`): the system's networks
plus one method per job it declares, each a thin call into gankit/tasks/. Anything else (`model.cfg`, `model.G`,
`model.info`, ...) is the system's own."""

from __future__ import annotations

from typing import Any

import torch

from .models import GANModel
from .tasks import classify, encode, refine, sample, score, translate, upscale


class Model:
    """Wraps a system (a GANModel) for use. Calling a job the system does not declare is a TaskError."""

    def __init__(self, system: GANModel):
        object.__setattr__(self, "system", system)

    def __getattr__(self, name: str) -> Any:
        try:
            system = self.__dict__["system"]
        except KeyError:  # copy and pickle look attributes up before __init__ has run
            raise AttributeError(name) from None
        return getattr(system, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.system, name, value)

    def __repr__(self) -> str:
        return f"Model({self.system.cfg.name}, tasks={self.system.tasks})"

    # The module methods that return the module return this wrapper, so `gankit.load(p).to("cuda").sample(8)` works.
    def to(self, device: str | torch.device) -> Model:
        self.system.to_device(torch.device(device))
        return self

    def cpu(self) -> Model:
        return self.to("cpu")

    def eval(self) -> Model:
        self.system.eval()
        return self

    def train(self, mode: bool = True) -> Model:
        self.system.train(mode)
        return self

    def sample(self, n: int = 64, seed: int | None = None, label: int | None = None) -> torch.Tensor:
        """n images as floats in [0, 1], (n, C, H, W) (2-D data: (n, D)); `label=` for label-conditioned systems."""
        return sample.sample(self.system, n, seed=seed, label=label)

    def translate(self, images: torch.Tensor, direction: str = "AtoB", seed: int = 0,
                  target: dict[str, Any] | None = None, tile: int = 0) -> torch.Tensor:
        """Images in [0, 1], (N, C, H, W) of any size -> their translations, same size, in [0, 1]. Multi-domain
        systems (StarGAN) take a `target` such as {"blond": 1, "male": 0}. `tile` > 0: larger images in blended
        tiles of that many pixels (bounded memory)."""
        return translate.translate(self.system, images, direction, seed, target=target, tile=tile)

    def encode(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images in [0, 1] of any size -> latent codes (N, D), columns named by code_names()."""
        return encode.encode(self.system, images, batch_size)

    def reconstruct(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images in [0, 1] -> G(E(x)) in [0, 1], at the model's size."""
        return encode.reconstruct(self.system, images, batch_size)

    def score(self, images: torch.Tensor, scorer: str | None = None, seed: int = 0) -> torch.Tensor:
        """Images in [0, 1] -> one anomaly score per image."""
        return score.score(self.system, images, scorer, seed=seed)

    def upscale(self, images: torch.Tensor, tile: int = 128, overlap: int | None = None) -> torch.Tensor:
        """Images in [0, 1], (N, C, h, w) -> (N, C, scale h, scale w) in [0, 1] (large images in tiles)."""
        return upscale.upscale(self.system, images, tile, overlap)

    def refine(self, images: torch.Tensor, tile: int = 256) -> torch.Tensor:
        """Images in [0, 1], (N, C, H, W) -> refined images of the same size in [0, 1] (large images in tiles)."""
        return refine.refine(self.system, images, tile)

    def classify(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images in [0, 1] -> class probabilities (N, K)."""
        return classify.classify(self.system, images, batch_size)
