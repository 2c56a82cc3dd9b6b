"""The one training loop: step-based, endless data, hooks around a model's own `train_step`.

The loop owns everything that is the same for every system: the data stream, the step counter, EMA, interval
statistics, signals, checkpoints and their exact restoration. The models own the maths.
"""

from __future__ import annotations

import contextlib
import math
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..config import RunConfig, to_dict
from ..data import BatchStream
from ..data.stream import collate, mix
from ..data.transforms import to_model_range
from ..errors import CheckpointError, TrainingError
from ..models.base import GANModel
from ..nn import inference
from ..runtime import StepTools
from ..runtime.distributed import SINGLE, Dist
from ..runtime.ema import EMA
from ..runtime.precision import Precision
from . import checkpoint
from .performance import compile_networks, match_state_layouts, to_channels_last, wants_channels_last

# Under several processes a stop request (SIGINT/SIGTERM) is agreed on every this many steps: all processes
# must stop at the same step, and asking costs a collective.
STOP_CHECK_EVERY = 10


class Hook:
    """What happens around the training step (gankit/train/hooks.py): a hook sees the trainer after each step, at
    each logging point with the interval's mean values, and at the start and end. Hooks never touch the maths."""

    def start(self, tr: Trainer) -> None: ...
    def step(self, tr: Trainer) -> None: ...
    def log(self, tr: Trainer, values: dict[str, float]) -> None: ...
    def end(self, tr: Trainer, status: str) -> None: ...
    def rewind(self, tr: Trainer) -> None:
        """The trainer went back to an earlier step (a divergence rollback): forget what came after it."""


class Diverged(Exception):
    def __init__(self, step: int, what: str):
        super().__init__(f"{what} non-finite at step {step}")
        self.step, self.what = step, what


class Trainer:
    def __init__(self, cfg: RunConfig, run_dir: Path, model: GANModel, dataset, device: torch.device,
                 hooks: list[Hook], dist: Dist = SINGLE):
        self.cfg, self.run_dir, self.model, self.dataset, self.device = cfg, run_dir, model, dataset, device
        self.hooks = hooks
        self.dist = dist
        self.step = 0
        self.last_checkpoint_step = -1
        t = cfg.train
        model.tools = StepTools(Precision(t.precision, device), dist)
        if t.sync_bn and dist.active:  # before the optimizers: conversion swaps modules (parameters stay)
            for name, net in list(model.named_children()):
                setattr(model, name, torch.nn.SyncBatchNorm.convert_sync_batchnorm(net))
        self.channels_last = wants_channels_last(t.channels_last, model, device)
        if self.channels_last:
            to_channels_last(model)
        dist.broadcast_module(model)  # same seed already; this makes "identical weights" a fact, not a hope
        self.model.optimizers = model.configure_optimizers()
        # The configured rates; the schedule is a pure function of the step, so resuming needs no extra state.
        self.base_lrs = {k: [g["lr"] for g in opt.param_groups] for k, opt in self.model.optimizers.items()}
        # The EMA copy is taken before compilation: a compiled module's copy would still call the original.
        self.ema = EMA(getattr(model, model.ema_target), t.ema_beta) if t.ema_beta > 0 and model.ema_target else None
        if t.compile:
            compile_networks(model, device)
        self.stream = self._stream(0)
        self._display: dict[str, torch.Tensor] | None = None  # translation models' fixed grid inputs
        self._stop_signal: int | None = None
        self.rollbacks = 0  # divergence rollbacks so far, and the learning-rate scale they left
        self.lr_scale = 1.0

    def _stream(self, drawn: int) -> BatchStream:
        t = self.cfg.train
        return BatchStream(self.dataset, t.batch_size, t.seed, self.device, drawn=drawn,
                           workers=self.cfg.data.workers, rank=self.dist.rank, world=self.dist.world,
                           channels_last=self.channels_last)

    # --------------------------------------------------------------------------------------- state

    def state(self) -> dict[str, Any]:
        rng = {
            "torch": torch.get_rng_state(),
            "noise": self.model.noise.get_state(),
            "python": random.getstate(),
            "numpy": _numpy_state(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "gankit_version": __version__,
            "step": self.step,
            "batches_drawn": self.stream.drawn,
            "config": to_dict(self.cfg),
            "data_info": to_dict(self.model.info),
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "optimizers": {k: opt.state_dict() for k, opt in self.model.optimizers.items()},
            "grad_scalers": self.model.precision.state_dict(),
            "extra": self.model.extra_state(),
            "rollbacks": self.rollbacks,
            "lr_scale": self.lr_scale,
            "rng": rng,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model"])
            for name, opt in self.model.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])
                match_state_layouts(opt)
            if self.ema:
                self.ema.load_state_dict(state["ema"])
            self.model.precision.load_state_dict(state.get("grad_scalers") or {})
            self.model.load_extra_state(state.get("extra") or {})
            rng = state["rng"]
            torch.set_rng_state(rng["torch"])
            self._restore_noise(rng["noise"], int(state["step"]))
            random.setstate(rng["python"])
            _set_numpy_state(rng["numpy"])
            if "cuda" in rng and torch.cuda.is_available():
                for index, cuda_state in enumerate(rng["cuda"][:torch.cuda.device_count()]):
                    torch.cuda.set_rng_state(cuda_state, index)
        except (KeyError, RuntimeError, ValueError, TypeError) as e:
            raise CheckpointError(f"checkpoint does not fit this model: {str(e).splitlines()[0]}") from None
        self.step = int(state["step"])
        self.rollbacks, self.lr_scale = int(state.get("rollbacks", 0)), float(state.get("lr_scale", 1.0))
        self.stream = self._stream(int(state["batches_drawn"]))
        self.last_checkpoint_step = self.step

    def _restore_noise(self, saved: torch.Tensor, step: int) -> None:
        """The model's noise generator as saved. A generator's state belongs to its kind of device (a CPU one's is
        5,056 bytes, a CUDA one's 16): a run resumed on another kind goes on with noise seeded from its seed and
        step, and says that it is no longer the run it would have been."""
        if saved.numel() == self.model.noise.get_state().numel():  # same kind: a state that fails here is damage
            self.model.noise.set_state(saved)
        else:
            self.model.noise.manual_seed(mix(self.cfg.train.seed, 5, step))
            if self.dist.main:
                print(f"gankit: the checkpoint's noise generator is from another kind of device than "
                      f"{self.device.type}: the model's noise is reseeded from the seed and step {step}, so the run "
                      "goes on, but not bitwise as it would have on its own device", file=sys.stderr)

    def save_checkpoint(self) -> Path:
        """Every process calls this at the same step; rank 0 writes, the others wait until it is on disk.
        A model with a NaN/Inf weight is never saved (Diverged instead)."""
        root = self.run_dir / "checkpoints"
        self.dist.average_buffers(self.model)
        self._check_weights()
        path = root / f"step_{self.step:08d}"
        if self.dist.main:
            path = checkpoint.write(root, self.step, self.state())
            checkpoint.prune(root, self.cfg.train.keep_checkpoints)
        self.dist.barrier()
        self.last_checkpoint_step = self.step
        return path

    # ---------------------------------------------------------------------------------------- use

    def fixed_samples(self, n: int, seed: int) -> tuple[torch.Tensor, int | None]:
        """The model's sample grid from the same noise and training images every time (EMA weights when there are
        some), and the grid's row length."""
        model = self.model
        G = self.ema.copy if self.ema else getattr(model, model.ema_target) if model.ema_target else None
        with inference(model), inference(G) if G is not None else contextlib.nullcontext():
            images, nrow = model.sample_grid(n, model.seeded(seed), G, lambda: self.display_batch(n, seed))
        return model.for_display(images), nrow

    def display_batch(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """At most 8 training samples, the same ones every time, read without moving the training stream."""
        if self._display is None:
            count = min(8, n, len(self.dataset))
            indices = torch.linspace(0, len(self.dataset) - 1, count).round().long()
            if hasattr(self.dataset, "batch"):  # in-memory sets: already on the device, in the model's range
                self._display = self.dataset.batch(indices, torch.Generator().manual_seed(seed))
            else:
                images, _ = collate([self.dataset[(i, mix(seed, i))] for i in indices.tolist()])
                images = images if isinstance(images, dict) else {"x": images}
                self._display = {key: to_model_range(v.to(self.device)) for key, v in images.items()}
        return self._display

    # --------------------------------------------------------------------------------------- loop

    def fit(self) -> str:
        """Train until cfg.train.steps. Returns 'finished' or 'interrupted' (SIGINT/SIGTERM, checkpoint saved).

        A non-finite loss or weight rolls the run back to its last good checkpoint with lower learning rates
        (train.divergence); a failed write (a full disk) stops it with a TrainingError naming the file and the
        intact checkpoint to resume from."""
        cfg = self.cfg.train
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # pick the fastest convolution algorithms for these shapes
        self.model.train()
        previous = self._install_signal_handlers()
        status = "failed"
        try:
            for hook in self.hooks:
                hook.start(self)
            while True:
                try:
                    stop = self._loop()
                    self._check_weights()  # the last step's update, before the final checkpoint
                    break
                except Diverged as d:
                    self._roll_back(d)
            status = "interrupted" if stop else "finished"
        except OSError as e:
            raise TrainingError(self._write_failure(e)) from None
        finally:
            for hook in self.hooks:
                try:
                    hook.end(self, status)
                except OSError as e:  # a full disk must not hide the first error behind a second one
                    if status != "failed":
                        raise TrainingError(self._write_failure(e)) from None
            self._restore_signal_handlers(previous)
        return status

    def _loop(self) -> bool:
        """Steps until the end or a stop request (returns True then); raises Diverged."""
        cfg = self.cfg.train
        precision = self.model.precision
        keys: list[str] = []
        sums = None
        count = 0
        t_log, drawn_log = time.perf_counter(), self.stream.drawn
        stop = False
        while self.step < cfg.steps and not stop:
            self._set_learning_rates()
            with precision.autocast():
                stats = self.model.train_step(self.stream, self.step)
            self.step += 1
            if self.ema:
                self.ema.update()
            # Interval means accumulate on the device; values are read back only at logging points.
            values = torch.stack([v.float() for v in stats.values()])
            if sums is None or len(stats) != len(keys) or list(stats) != keys:
                # The first step, or a model that moved to another stage with other losses (AnoGAN's encoder):
                # a new interval starts.
                keys, sums, count = list(stats), torch.zeros_like(values), 0
            sums += values
            count += 1
            log_step = self.step % cfg.log_every == 0 or self.step == cfg.steps
            self._check_finite(keys, values, log_step)
            if log_step:
                now = time.perf_counter()
                logged = dict(zip(keys, self.dist.average_(sums / count).tolist()))
                imgs = (self.stream.drawn - drawn_log) * cfg.batch_size
                logged["img_per_s"] = imgs / max(now - t_log, 1e-9)
                for hook in self.hooks:
                    hook.log(self, logged)
                sums.zero_()
                count, t_log, drawn_log = 0, now, self.stream.drawn
            for hook in self.hooks:
                hook.step(self)
            if not self.dist.active:
                stop = self._stop_signal is not None
            elif self.step % STOP_CHECK_EVERY == 0:
                stop = self.dist.any(self._stop_signal is not None, self.device)
        return stop

    # ------------------------------------------------------------------------------------ divergence

    def _check_finite(self, keys: list[str], values: torch.Tensor, log_step: bool) -> None:
        """Raise Diverged at the step a loss becomes NaN/Inf. On a CPU the check is free, so it runs every
        step; on an accelerator (or across processes) it would cost a sync per step, so it runs at the logging
        steps, together with the weights. Weights are also checked before every checkpoint (_check_weights),
        so a NaN never reaches a checkpoint either way."""
        if self.device.type == "cpu" and not self.dist.active:
            bad = not bool(torch.isfinite(values).all())
        elif log_step:
            bad = self.dist.any(not bool(torch.isfinite(values).all() & self._weights_finite()), self.device)
        else:
            return
        if bad:
            what = [k for k, v in zip(keys, values.tolist()) if not math.isfinite(v)] or ["a weight"]
            raise Diverged(self.step, ", ".join(what))

    def _roll_back(self, d: Diverged) -> None:
        cfg = self.cfg.train
        where = f"{d.what} became NaN/Inf at step {d.step}"
        if cfg.divergence == "stop":
            raise TrainingError(f"training diverged: {where} (train.divergence=stop){self._resume_hint()}")
        if self.rollbacks >= cfg.max_rollbacks:
            raise TrainingError(f"training diverged: {where}, after {self.rollbacks} rollbacks with lower learning "
                                f"rates (train.max_rollbacks={cfg.max_rollbacks}){self._resume_hint()}")
        try:
            ckpt, _ = checkpoint.latest(self.run_dir / "checkpoints")
        except CheckpointError:
            raise TrainingError(f"training diverged: {where}, before any checkpoint to roll back to; try a lower "
                                "learning rate") from None
        rollbacks, scale = self.rollbacks + 1, self.lr_scale * cfg.rollback_lr_factor
        self.load_state(ckpt.state)
        self.rollbacks, self.lr_scale = rollbacks, scale
        print(f"\ngankit: {where}; rolled back to step {ckpt.step} with learning rates x{scale:g} "
              f"(rollback {rollbacks} of at most {cfg.max_rollbacks})", file=sys.stderr)
        for hook in self.hooks:
            hook.rewind(self)

    def _weights_finite(self) -> torch.Tensor:
        """One device bool: every floating tensor of the model (weights and batch-norm statistics) is finite."""
        return torch.stack([torch.isfinite(t).all() for t in self.model.state_dict().values()
                            if t.is_floating_point()]).all()

    def _check_weights(self) -> None:
        if self.dist.any(not bool(self._weights_finite()), self.device):
            raise Diverged(self.step, "a weight")

    def _resume_hint(self) -> str:
        found = checkpoint.candidates(self.run_dir / "checkpoints")
        return f"; the last checkpoint is {found[0]}" if found else ""

    def _write_failure(self, e: OSError) -> str:
        target = e.filename or "the run folder"
        return (f"cannot write {target}: {e.strerror or e}; training stopped at step {self.step}"
                f"{self._resume_hint()} (intact: free space, then 'gankit resume {self.run_dir}')")

    def lr_factor(self, step: int) -> float:
        """1 until lr_decay_start * steps, then linearly down to 0 at the last step."""
        cfg = self.cfg.train
        start = int(cfg.lr_decay_start * cfg.steps)
        if cfg.lr_decay == "none" or step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1, cfg.steps - start))

    def _set_learning_rates(self) -> None:
        factor = self.lr_factor(self.step) * self.lr_scale
        for name, opt in self.model.optimizers.items():
            for group, base in zip(opt.param_groups, self.base_lrs[name]):
                group["lr"] = base * factor

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum, frame):
            if self._stop_signal is None:
                print(f"\ngankit: {signal.Signals(signum).name} received: saving a checkpoint after this step",
                      file=sys.stderr)
            self._stop_signal = signum

        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, request_stop)
        return previous

    def _restore_signal_handlers(self, previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def seed_everything(seed: int, rank: int = 0) -> None:
    """The global generators (used by dropout and by user code), different for each process (rank 0 keeps a
    single process's seeds); model noise has its own generator, shared by all processes (see GANModel.randn)."""
    extra = (rank,) if rank else ()
    torch.manual_seed(mix(seed, 6, *extra))
    random.seed(mix(seed, 7, *extra))
    np.random.seed(mix(seed, 8, *extra) % (2**32))


def _numpy_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _set_numpy_state(s: dict[str, Any]) -> None:
    keys = s["keys"].numpy().astype(np.uint32)
    np.random.set_state((s["name"], keys, s["pos"], s["has_gauss"], s["cached"]))
