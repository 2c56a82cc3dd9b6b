"""Data-parallel training over several processes (torchrun): NCCL on GPUs, gloo on CPU.

Why not wrap the networks in DistributedDataParallel: a GAN step breaks three of its assumptions. D runs
several forward passes before one backward (real, fake, and again for G's loss) and its batch-norm buffers
would be re-broadcast in place between them; D is frozen during G's update, so DDP's reducer waits forever for
gradients that never come unless it searches the graph every step; and the gradient penalty differentiates
through torch.autograd.grad, which DDP does not support. What data parallelism needs is simpler: every process
starts from the same weights, takes a different slice of the same global batch, and averages its gradients
with the others before each optimizer step. That is what `average_gradients` does, once per optimizer step,
in one flat all-reduce per step (so the cost is one collective, not one per tensor).

`train.batch_size` is the global batch: N processes each take batch_size / N, so a config means the same
optimisation whatever N is (and with no batch norm, N processes give the same update as one; a test checks it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from ..errors import ConfigError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0 alone logs, draws sample grids and writes checkpoints."""
        return self.rank == 0

    # ---------------------------------------------------------------------------------- collectives

    def average_gradients(self, params: Iterable[torch.nn.Parameter]) -> None:
        if not self.active:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset:offset + n].view_as(g))
            offset += n

    def average_(self, tensor: torch.Tensor) -> torch.Tensor:
        """In-place mean over processes (loss statistics at logging steps)."""
        if self.active:
            dist.all_reduce(tensor)
            tensor /= self.world
        return tensor

    def average_buffers(self, module: torch.nn.Module) -> None:
        """Batch-norm running statistics differ per process (each normalises its own slice); before a
        checkpoint or a sample grid they are averaged so every process holds, and saves, the same model."""
        if not self.active:
            return
        for b in module.buffers():
            if b.is_floating_point():
                self.average_(b)

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers everywhere (the start of a run: identical weights on every rank)."""
        if not self.active:
            return
        with torch.no_grad():
            for t in [*module.parameters(), *module.buffers()]:
                dist.broadcast(t, 0)

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every process if it is True on one (a stop request must stop all of them at one step)."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def broadcast_object(self, obj):
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, 0)
        return box[0]

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


SINGLE = Dist()


def from_env() -> Dist:
    """The process group torchrun describes in RANK / WORLD_SIZE / LOCAL_RANK, initialised once; a plain
    `gankit train` (no such variables) is a group of one and touches no collective."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_available():
        raise ConfigError("this PyTorch build has no torch.distributed; run a single process")
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        # Long timeout: rank 0 alone runs evaluations and writes checkpoints while the others wait.
        dist.init_process_group(backend, timeout=timedelta(minutes=60))
    return Dist(rank=rank, world=world, local_rank=local_rank)


def device_for(d: Dist, requested: torch.device) -> torch.device:
    """Each process drives its own GPU (cuda:LOCAL_RANK)."""
    if requested.type == "cuda" and d.active:
        return torch.device("cuda", d.local_rank)
    return requested
