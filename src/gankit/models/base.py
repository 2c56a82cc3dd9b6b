"""The contract every system implements, and the few helpers their training steps share.

A system is an `nn.Module` holding its networks (`G`, `D`, `E`, ...). It says how to build them from its config
and the data, which optimizers it uses, and writes its whole update in `train_step`, top to bottom. The trainer
owns everything around that: data, logging, samples, checkpoints, EMA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import ModelConfig
from ..data.info import Batch, DataInfo
from ..errors import ArgumentError
from ..runtime import StepTools
from ..runtime.distributed import Dist
from ..runtime.precision import Precision


@dataclass
class NetsConfig(ModelConfig):
    """Network sizes shared by the classic family: DCGAN convnets for images, MLPs for vector data."""

    z_dim: int = 100
    # Conv nets: feature maps at the largest resolution, doubling at each halving. The DCGAN paper's figure
    # uses 128 for 64x64; its released code (and most reproductions) use 64, at a quarter of the cost.
    base_channels: int = 64
    # MLP nets (vector data such as the 2-D mixtures): the PacGAN paper's 4x400 generator, 3x200 discriminator.
    g_width: int = 400
    g_depth: int = 4
    d_width: int = 200
    d_depth: int = 3
    leak: float = 0.2  # LeakyReLU slope in D
    # MLP D only: 1 = LeakyReLU units; k > 1 = maxout units of k pieces (PacGAN's 2-D discriminators use 5).
    d_maxout: int = 1
    limits: ClassVar[dict] = {"z_dim": (1, None, "[]"), "base_channels": (1, None, "[]"), "g_width": (1, None, "[]"),
                              "g_depth": (0, None, "[]"), "d_width": (1, None, "[]"), "d_depth": (0, None, "[]"),
                              "leak": (0, 1, "[]"), "d_maxout": (1, 16, "[]")}


@dataclass
class AdamConfig(ModelConfig):
    """One Adam per player, G's and D's learning rates and shared betas: the DCGAN setting (2e-4, 0.5, 0.999), which
    pix2pix and CycleGAN keep, unless a paper says otherwise. `GANModel.adam` reads these."""

    lr_G: float = 2e-4
    lr_D: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    limits: ClassVar[dict] = {"lr_G": (0, None, "(]"), "lr_D": (0, None, "(]"), "beta1": (0, 1, "[)"),
                              "beta2": (0, 1, "[)")}


@dataclass
class AdamNetsConfig(AdamConfig, NetsConfig):
    """NetsConfig plus one Adam per network (the base order keeps the network sizes first in `config show`)."""


class GANModel(nn.Module):
    """The training contract. What a trained model is *used* for is declared in `tasks` and implemented by the
    system as the protocol of each task in gankit/tasks/ (a translator, an encoder, ...); this class knows none of
    them."""

    Config: ClassVar[type[ModelConfig]]
    # The network an EMA copy tracks and sampling uses; a model without a generator sets None.
    ema_target: ClassVar[str | None] = "G"
    # The jobs a trained model does, each a file in gankit/tasks/ whose protocol the system implements: "sample",
    # "translate", "encode", "explore", "score", "classify", "upscale", "refine".
    tasks: ClassVar[tuple[str, ...]] = ("sample",)
    # Networks torch.compile must leave alone, with the reason shown to the user (see train/performance.py).
    no_compile: ClassVar[dict[str, str]] = {}
    # train.channels_last=auto on the CPU: NHWC unless it measured slower for this system (docs/benchmarks/speed.md).
    cpu_channels_last: ClassVar[bool] = True

    def __init__(self, cfg: ModelConfig, info: DataInfo):
        super().__init__()
        self.cfg = cfg
        self.info = info
        # Noise for training comes from this generator, not the global one, so that a checkpoint can restore
        # it exactly; it is re-seeded by the trainer and moved with the model by `to_device`.
        self.noise = torch.Generator()
        # Set by the trainer: how to run forward/backward (autocast, gradient scalers), which processes share the
        # work, and the optimizers. Defaults: fp32, one process, none yet.
        self.tools = StepTools()

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.tools.optimizers

    @optimizers.setter
    def optimizers(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        self.tools.optimizers = optimizers

    @property
    def precision(self) -> Precision:
        return self.tools.precision

    @property
    def dist(self) -> Dist:
        return self.tools.dist

    # ------------------------------------------------------------------------- what each system defines

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        """One update of every network. Draws as many batches as it needs from `next_batch` (WGAN's critic
        takes several per generator step). Returns detached scalar tensors named 'D/loss', 'G/loss', ...;
        the trainer reads them back only when it logs, so the hot path never waits on the device."""
        raise NotImplementedError

    def sample_grid(self, n: int, generator: torch.Generator, G: nn.Module, data: Callable[[], Batch]
                    ) -> tuple[torch.Tensor, int | None]:
        """The periodic picture of training: images in the model's range and the grid's row length (None: square).
        `G` is the network to show (the EMA copy when the run keeps one), `generator` the fixed noise, and `data()`
        a fixed batch of training images for systems that show them (translators, encoders). This default draws n
        samples from noise."""
        return self.generate(n, generator=generator, G=G), None

    def generate(self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None
                 ) -> torch.Tensor:
        """n samples (images in [-1, 1]) from G, or from the EMA copy passed as `G`. This default serves every
        system whose G takes z ~ N(0, I) of size cfg.z_dim; the others override it."""
        z = torch.randn(n, self.cfg.z_dim, generator=generator or self.noise, device=self.device)
        return (G or self.G)(z)

    def extra_state(self) -> dict[str, Any]:
        """Training state beyond parameters, buffers and optimizers (e.g. CycleGAN's image pools): saved in every
        checkpoint and restored on resume, so resumed runs stay exact."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what extra_state() returned."""

    # ------------------------------------------------------------------------------------ shared helpers

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def to_device(self, device: torch.device) -> GANModel:
        self.to(device)
        if self.noise.device != device:
            seed = self.noise.initial_seed()
            self.noise = torch.Generator(device=device)
            self.noise.manual_seed(seed)
        return self

    def randn(self, n: int, *shape: int) -> torch.Tensor:
        """n rows of training noise N(0, I)."""
        return self._noise_rows(torch.randn, n, shape)

    def rand(self, n: int, *shape: int) -> torch.Tensor:
        """n rows of training noise U[0, 1)."""
        return self._noise_rows(torch.rand, n, shape)

    def _noise_rows(self, draw: Callable[..., torch.Tensor], n: int, shape: tuple[int, ...]) -> torch.Tensor:
        """Under several processes every one draws the global batch's noise from the same generator and keeps
        its own rows, so N processes see exactly what one process would."""
        d = self.dist
        x = draw(n * d.world, *shape, generator=self.noise, device=self.noise.device)
        return x[d.rank * n:(d.rank + 1) * n] if d.active else x

    def check(self, train: Any, n_images: int) -> None:
        """Reject train settings this model cannot use, and fix schedules that count in steps or in passes over
        the `n_images` training images (called before a run folder is written)."""

    def init_weights(self, seed: int, *nets: nn.Module) -> None:
        """Conv nets get DCGAN's N(0, 0.02) initialisation; MLPs keep PyTorch's (seeded by the trainer)."""
        from ..nn import dcgan_init

        if self.info.is_image:
            generator = torch.Generator().manual_seed(seed)
            for net in nets:
                dcgan_init(net, generator)

    def adam(self, net: nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
        """Adam over `net` with the config's betas; the fused kernel (one launch for all tensors) where this
        PyTorch has one for the device, else the multi-tensor one."""
        return torch.optim.Adam(net.parameters(), lr=lr, betas=(self.cfg.beta1, self.cfg.beta2),
                                weight_decay=weight_decay, **fast_optimizer_kwargs(self.device))

    def optimize(self, name: str, loss: torch.Tensor) -> None:
        """zero_grad (to None: no memset), backward (scaled in fp16), gradients averaged across processes,
        step, for one named optimizer."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        average = None
        if self.dist.active:
            def average() -> None:
                self.dist.average_gradients(p for group in opt.param_groups for p in group["params"])
        self.precision.backward_step(name, opt, loss, before_step=average)

    def input_gradient(self, outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """d(sum outputs)/d(inputs), differentiable (create_graph), safe in fp16: for gradient penalties."""
        return self.precision.input_gradient(outputs, inputs)

    def seeded(self, seed: int | None) -> torch.Generator | None:
        """A fresh generator on the model's device, so a draw is reproducible and leaves training noise alone."""
        return None if seed is None else torch.Generator(device=self.device).manual_seed(seed)

    def for_display(self, x: torch.Tensor) -> torch.Tensor:
        """G's output as users get it: images in [0, 1]; vectors unchanged."""
        return (x.clamp(-1, 1) + 1) / 2 if self.info.is_image else x


def class_labels(model: GANModel, n: int, label: int | torch.Tensor | None) -> torch.Tensor:
    """The labels of n samples: 0, 1, ..., K-1 over and over, all `label`, or the tensor given."""
    K = model.info.num_classes
    if label is None:
        return torch.arange(n, device=model.device) % K
    if isinstance(label, int):
        if not 0 <= label < K:
            raise ArgumentError("label", f"must be between 0 and {K - 1} for {model.info.name}, got {label}")
        return torch.full((n,), label, device=model.device)
    return label.to(model.device)


class ByLabel:
    """For systems whose G takes a class label (cGAN, Triple-GAN): `generate(..., label=)` draws the labels given,
    and the sample grid has one row per class."""

    def class_labels(self, n: int, label: int | torch.Tensor | None) -> torch.Tensor:
        return class_labels(self, n, label)

    def sample_grid(self, n, generator, G, data):
        """One row per class, n // K columns (at least 4)."""
        K = self.info.num_classes
        cols = max(4, n // K)
        y = torch.arange(K, device=self.device).repeat_interleave(cols)
        return self.generate(len(y), generator, G, label=y), cols


def fast_optimizer_kwargs(device: torch.device) -> dict[str, bool]:
    """fused=True where torch has fused Adam kernels for the device (CUDA; CPU since torch 2.4), else foreach."""
    if device.type in ("cuda", "cpu"):
        return {"fused": True}
    return {"foreach": True}
