"""An endless, resumable stream of batches.

The order is a pure function of (seed, number of batches drawn so far): sample number s of the run is item
perm_e[s mod N] of epoch e = s // N, where perm_e is a permutation seeded by (seed, e). Saving the count is
therefore enough to resume exactly where a run stopped, even with DataLoader workers prefetching ahead.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ..errors import DataError
from .folder import ImageFolder
from .info import Batch
from .mixtures import Mixture
from .pairs import PairedFolder, UnpairedFolder
from .tensors import TensorImages
from .transforms import to_model_range, uint8_to_unit

_MASK = (1 << 63) - 1


def mix(*values: int) -> int:
    """A 63-bit seed from several integers (SplitMix64's finaliser), so nearby inputs give unrelated seeds."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (v & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h & _MASK


class Order:
    """Which dataset items make up batch k."""

    def __init__(self, n_items: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n_items, batch_size, seed
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            g = torch.Generator().manual_seed(mix(self.seed, 1, epoch))
            self._perms[epoch] = torch.randperm(self.n, generator=g)
        return self._perms[epoch]

    def indices(self, k: int) -> torch.Tensor:
        start = k * self.batch_size
        s = torch.arange(start, start + self.batch_size)
        epochs = s // self.n
        out = torch.empty(self.batch_size, dtype=torch.long)
        for e in epochs.unique().tolist():
            sel = epochs == e
            out[sel] = self._perm(e)[s[sel] % self.n]
        return out


class _Batches(torch.utils.data.Sampler):
    """Batch sampler for DataLoader: lists of (index, augmentation seed), from batch `start` on, forever; under
    several processes, this process's rows of each global batch. A sample's augmentation seed is its position
    in the run, so it is cropped and flipped the same whichever process loads it."""

    def __init__(self, order: Order, start: int, seed: int, rows: slice):
        self.order, self.start, self.seed, self.rows = order, start, seed, rows

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        k = self.start
        while True:
            first = k * self.order.batch_size
            idx = self.order.indices(k).tolist()
            yield [(i, mix(self.seed, 2, first + j)) for j, i in enumerate(idx)][self.rows]
            k += 1


def collate(items: list[tuple[torch.Tensor | dict[str, torch.Tensor], int]]
             ) -> tuple[torch.Tensor | dict[str, torch.Tensor], torch.Tensor]:
    """Images (or dicts of images, for translation data) stacked, and the labels."""
    first = items[0][0]
    labels = torch.tensor([y for _, y in items])
    if isinstance(first, dict):
        return {key: torch.stack([x[key] for x, _ in items]) for key in first}, labels
    return torch.stack([x for x, _ in items]), labels


def read_batch(dataset, indices: torch.Tensor) -> Batch:
    """Items `indices` of any dataset as one batch in the model's range, keyed as training batches are ("x" and, for
    labelled images, "label"; translation and multi-domain data their own keys), on the CPU unless an in-memory set
    already lives elsewhere. In-memory sets give their own batch() (a fresh generator: no flips unless their config
    asks); file datasets are read item by item, item i with augmentation seed i, so every call gives the same pixels.
    For evaluation, which reads whole reference and test sets of any layout."""
    if hasattr(dataset, "batch"):
        return dataset.batch(indices, torch.Generator())
    if len(indices) == 0:
        raise DataError(f"{dataset.info.name}: no images to read")
    with torch.random.fork_rng():  # a dataset's augmentation has its own generators; this keeps that a promise
        images, labels = collate([dataset[(i, i)] for i in indices.tolist()])
    if isinstance(images, dict):  # translation data {"A", "B"}, multi-domain data {"x", "attrs", "mask"}
        return {key: to_model_range(v) for key, v in images.items()}
    batch = {"x": uint8_to_unit(images)}
    if dataset.info.num_classes:
        batch["label"] = labels
    return batch


class BatchStream:
    """Call it for the next batch on `device`. `drawn` counts batches handed out; it is all a checkpoint needs.

    `batch_size` is the global batch; process `rank` of `world` gets rows [rank*b, (rank+1)*b) of it, b =
    batch_size / world. In-memory sets (the built-in ones) live on the device as one tensor and are indexed
    there, no DataLoader round trip; folders go through DataLoader workers with pinned memory on CUDA.
    """

    def __init__(self, dataset: TensorImages | ImageFolder | Mixture | PairedFolder | UnpairedFolder, batch_size: int,
                 seed: int, device: torch.device,
                 drawn: int = 0, workers: int = 0, rank: int = 0, world: int = 1, channels_last: bool = False):
        self.dataset, self.device, self.seed = dataset, device, seed
        self.order = Order(len(dataset), batch_size, seed)
        self.drawn = drawn
        self.workers = workers
        local = batch_size // world
        self.rows = slice(rank * local, (rank + 1) * local)
        self.sliced = world > 1
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self._loader_iter = None
        if hasattr(dataset, "batch"):  # in-memory sets draw whole batches on the device
            dataset.to(device)

    def _finish(self, batch: Batch) -> Batch:
        if self.memory_format is torch.channels_last:
            for key, x in batch.items():
                if x.dim() == 4:
                    batch[key] = x.contiguous(memory_format=torch.channels_last)
        return batch

    def _start_loader(self) -> None:
        """Started on first use, so a stream that is replaced before training (by a resume) spawns no workers."""
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=_Batches(self.order, self.drawn, self.seed, self.rows),
            num_workers=self.workers,
            collate_fn=collate, pin_memory=self.device.type == "cuda", persistent_workers=self.workers > 0,
            prefetch_factor=4 if self.workers > 0 else None,
        )
        self._loader_iter = iter(loader)

    def __call__(self) -> Batch:
        k = self.drawn
        if hasattr(self.dataset, "batch"):
            self.drawn += 1
            generator = torch.Generator().manual_seed(mix(self.seed, 3, k))
            # The whole global batch is drawn (its random flips and mixture samples come from one generator)
            # and this process keeps its rows, so N processes together see exactly one process's batch.
            batch = self.dataset.batch(self.order.indices(k), generator)
            if self.sliced:
                batch = {key: v[self.rows] for key, v in batch.items()}
            return self._finish(batch)
        if self._loader_iter is None:
            self._start_loader()
        self.drawn += 1
        images, labels = next(self._loader_iter)
        if isinstance(images, dict):  # translation data {"A", "B"}, multi-domain data {"x", "attrs", "mask"}
            return self._finish({key: to_model_range(v.to(self.device, non_blocking=True))
                                 for key, v in images.items()})
        batch = {"x": uint8_to_unit(images.to(self.device, non_blocking=True))}
        if self.dataset.info.num_classes:
            batch["label"] = labels.to(self.device, non_blocking=True)
        return self._finish(batch)
