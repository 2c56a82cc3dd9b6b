"""The history of generated images that a discriminator is shown (Shrivastava et al. 2017; CycleGAN's 50).

Showing D a mix of current and past fakes keeps it from forgetting what the generator did a while ago, which
damps the oscillation of the two players. The pool's contents are part of a run's state: a checkpoint saves them
(`state_dict`), so a resumed run sees exactly the images an uninterrupted one would.
"""

from __future__ import annotations

import torch


class History:
    """Up to `capacity` images on the device, the first `count` of them stored; saved and restored whole."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.images: torch.Tensor | None = None  # (capacity, C, H, W), allocated on first use
        self.count = 0

    def _storage(self, like: torch.Tensor) -> torch.Tensor:
        if self.images is None:
            self.images = like.new_zeros((self.capacity, *like.shape[1:]))
        elif self.images.device != like.device:  # restored from a checkpoint, which loads on the CPU
            self.images = self.images.to(like.device)
        return self.images

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {} if self.images is None or self.count == 0 else {"images": self.images[:self.count].clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        stored = state.get("images")
        self.images, self.count = None, 0
        if stored is not None and len(stored):
            self.images = stored.new_zeros((self.capacity, *stored.shape[1:]))
            self.count = min(len(stored), self.capacity)
            self.images[:self.count] = stored[:self.count]


class ImagePool(History):
    """Up to `capacity` past images. `query(images, u)` returns one image per input: while the pool fills, the
    input itself (which is stored); once full, for each input with probability 1/2 a uniformly chosen stored
    image (replaced by the input), otherwise the input. `u` holds two U[0, 1) numbers per image (the coin and
    the slot), drawn by the caller from its seeded generator so that the pool never touches global randomness.
    capacity 0 turns the pool off."""

    def __init__(self, capacity: int = 50):
        super().__init__(capacity)

    def query(self, images: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        if self.capacity == 0:
            return images
        images = images.detach()
        self._storage(images)
        out = []
        # Coins and slots stay on the device (no host sync per step); images are taken in order, so two inputs of
        # one batch that draw the same slot see each other's swap, as one-at-a-time queries would.
        swap = (u[:, 0] < 0.5).view(-1, *[1] * (images.dim() - 1))
        slots = (u[:, 1] * self.capacity).long().clamp_(max=self.capacity - 1)
        for i, image in enumerate(images):
            if self.count < self.capacity:  # filling: a host-side count, no device read
                self.images[self.count] = image
                self.count += 1
                out.append(image)
            else:
                slot = slots[i:i + 1]  # a 1-element index tensor: gather and scatter, never a read to the host
                stored = self.images[slot][0]
                out.append(torch.where(swap[i], stored, image))
                self.images[slot] = torch.where(swap[i], image, stored)[None]
        return torch.stack(out)


class HalfBatchHistory(History):
    """SimGAN's history of refined images (Shrivastava et al. 2017, section 3.2), up to `capacity` of them.

    Each discriminator batch of b fakes is b/2 current ones and b/2 drawn from the history; then b/2 of the current
    ones go in, replacing b/2 distinct random entries once the history is full (while it fills, they are added).
    Unlike `ImagePool` (CycleGAN: a coin per image), the share of old images is fixed at one half. `u` are U[0, 1)
    numbers drawn by the caller from its seeded generator, `capacity` of them per call."""

    def draw(self, k: int, u: torch.Tensor) -> torch.Tensor | None:
        """k distinct stored images chosen at random, or None while fewer than k are stored."""
        if self.count < k or k == 0:
            return None
        slots = u[:self.count].argsort()[:k]  # a random k-subset: the order of k uniform keys
        return self.images[slots]

    def push(self, images: torch.Tensor, u: torch.Tensor) -> None:
        """Add `images` (replacing distinct random entries once full)."""
        if self.capacity == 0:
            return
        images = images.detach()[:self.capacity]
        self._storage(images)
        free = min(self.capacity - self.count, len(images))
        self.images[self.count:self.count + free] = images[:free]
        rest = images[free:]
        if len(rest):
            slots = u[:self.count].argsort()[:len(rest)]  # among the entries stored before this push
            self.images[slots] = rest
        self.count += free
