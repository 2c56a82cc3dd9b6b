"""Mixed precision for every system at once: autocast around the model's training step, and one gradient scaler
per optimizer in fp16.

Why one scaler per optimizer: a GAN step is several independent backward/step pairs (D, then G); each loss has
its own magnitude and its own overflow history, so each gets its own scale. bf16 has fp32's exponent range
and needs no scaler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch

from ..errors import ConfigError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, mode: str = "fp32", device: torch.device | str = "cpu"):
        self.mode = mode
        self.device_type = torch.device(device).type
        self.dtype = DTYPES[mode]
        self.enabled = mode != "fp32"
        if self.enabled and not torch.amp.is_autocast_available(self.device_type):
            raise ConfigError(f"train.precision={mode} is not available on {self.device_type}; use fp32")
        self._scalers: dict[str, torch.amp.GradScaler] = {}

    def autocast(self) -> contextlib.AbstractContextManager:
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def scaler(self, name: str) -> torch.amp.GradScaler | None:
        if self.mode != "fp16":
            return None
        if name not in self._scalers:
            self._scalers[name] = torch.amp.GradScaler(self.device_type)
        return self._scalers[name]

    @contextlib.contextmanager
    def full_precision(self) -> Iterator[None]:
        """Backward passes run outside autocast (the autocast docs advise it: the backward of each op already
        runs in the dtype its forward chose)."""
        if not self.enabled:
            yield
            return
        with torch.autocast(self.device_type, enabled=False):
            yield

    def backward_step(self, name: str, optimizer: torch.optim.Optimizer, loss: torch.Tensor,
                      before_step: Callable[[], None] | None = None) -> None:
        """backward (scaled in fp16), `before_step()` on the gradients (averaging them across processes: still
        scaled then, by the same scale on every rank, since every rank's scaler sees the same averaged
        gradients), then the optimizer step (which the scaler skips when a gradient overflowed)."""
        scaler = self.scaler(name)
        with self.full_precision():
            (scaler.scale(loss) if scaler is not None else loss).backward()
            if before_step is not None:
                before_step()
            if scaler is None:
                optimizer.step()
            else:
                scaler.step(optimizer)
                scaler.update()

    def input_gradient(self, outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """d(outputs.sum())/d(inputs) with create_graph=True, for penalties on D's input gradient (WGAN-GP).

        In fp16 the inner gradient can underflow like any other, so it is taken of scaled outputs and unscaled
        before use, with the scale of the D optimizer's scaler (the AMP recipe for gradient penalties)."""
        scaler = self.scaler("D")
        with self.full_precision():
            if scaler is None:
                (grad,) = torch.autograd.grad(outputs.float().sum(), inputs, create_graph=True)
                return grad
            # scale(1) is the current scale as a device tensor: no host round trip per step.
            scale = scaler.scale(torch.ones((), device=outputs.device))
            (grad,) = torch.autograd.grad(outputs.float().sum() * scale, inputs, create_graph=True)
            return grad / scale

    def state_dict(self) -> dict[str, Any]:
        return {name: s.state_dict() for name, s in self._scalers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.mode != "fp16":
            return
        for name, s in (state or {}).items():
            self.scaler(name).load_state_dict(s)
