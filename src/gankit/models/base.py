"""The contract every system implements, and the few helpers their training steps share.

A system is an `nn.Module` holding its networks (`G`, `D`, `E`, ...). It says how to build them from its config
and the data, which optimizers it uses, and writes its whole update in `train_step`, top to bottom. The trainer
owns everything around that: data, logging, samples, checkpoints, EMA.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import GankitError
from ..train.distributed import SINGLE
from ..train.precision import Precision

# "x": (N, C, H, W) images in [-1, 1], or (N, D) vectors; "label": (N,) int64 when the data has labels
Batch = dict[str, torch.Tensor]


@dataclass
class DataInfo:
    """What a model needs to know about its data; saved with every model so it can be rebuilt alone."""

    name: str
    img_size: int  # 0 for vector data
    img_channels: int  # 0 for vector data
    num_classes: int = 0
    class_names: list[str] = dataclasses.field(default_factory=list)
    dim: int = 0  # vector data (e.g. 2-D mixtures): the dimension; 0 for images
    # Translation data (batches hold "A" and "B"): "paired" or "unpaired", and the input domain's channels
    # (img_channels is then the output domain's). Empty / 0 for everything else.
    kind: str = ""
    in_channels: int = 0
    # How smaller images were brought to img_size in training ("resize", "pad" or "box", data.fit): encode, score and
    # classify bring new images to the model's size the same way.
    fit: str = "resize"
    # Multi-domain data (StarGAN): the name of each label, groups of mutually exclusive labels (index lists; the
    # others are binary attributes), and how many labels each dataset brings (two datasets: a mask vector).
    attrs: list[str] = dataclasses.field(default_factory=list)
    attr_groups: list[list[int]] = dataclasses.field(default_factory=list)
    label_sets: list[int] = dataclasses.field(default_factory=list)

    @property
    def is_image(self) -> bool:
        return self.dim == 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInfo:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


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
    Config: ClassVar[type[ModelConfig]]
    # The network an EMA copy tracks and sampling uses; a model without a generator sets None.
    ema_target: ClassVar[str | None] = "G"
    conditional: ClassVar[bool] = False  # True: generate()/sample() take label=
    # True: an image-to-image model (batches hold "A" and "B"); it defines translator() instead of generate(),
    # and its sample_grid() gets a fixed batch of training images.
    translation: ClassVar[bool] = False
    # True: the periodic sample grid also shows training images (sample_grid gets them as `batch=`).
    display_data: ClassVar[bool] = False
    # True: the model maps images back to latent codes (BiGAN's E, InfoGAN's Q): it defines code_names(),
    # encode_batch() and decode_batch(), and `gankit encode` serves it.
    encodes: ClassVar[bool] = False
    # True: anomaly_scores() is defined (`gankit score`); classify_batch() is defined (`gankit classify`).
    scores_anomalies: ClassVar[bool] = False
    classifies: ClassVar[bool] = False
    # Networks torch.compile must leave alone, with the reason shown to the user (see train/performance.py).
    no_compile: ClassVar[dict[str, str]] = {}

    def __init__(self, cfg: ModelConfig, info: DataInfo):
        super().__init__()
        self.cfg = cfg
        self.info = info
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        # Noise for training comes from this generator, not the global one, so that a checkpoint can restore
        # it exactly; it is re-seeded by the trainer and moved with the model by `to_device`.
        self.noise = torch.Generator()
        # Set by the trainer: how to run forward/backward (autocast, gradient scalers) and which processes share
        # the work. Defaults: fp32, one process.
        self.precision = Precision()
        self.dist = SINGLE

    # ------------------------------------------------------------------------- what each system defines

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        """One update of every network. Draws as many batches as it needs from `next_batch` (WGAN's critic
        takes several per generator step). Returns detached scalar tensors named 'D/loss', 'G/loss', ...;
        the trainer reads them back only when it logs, so the hot path never waits on the device."""
        raise NotImplementedError

    def generate(self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None
                 ) -> torch.Tensor:
        """n samples (images in [-1, 1]) from G, or from the EMA copy passed as `G`. This default serves every
        model whose G takes z ~ N(0, I) of size cfg.z_dim; conditional models override it."""
        z = torch.randn(n, self.cfg.z_dim, generator=generator or self.noise, device=self.device)
        return (G or self.G)(z)

    def translator(self, direction: str = "AtoB", target: dict[str, Any] | None = None) -> tuple[nn.Module, int]:
        """Translation models: the network mapping one domain to the other (multi-domain models: to `target`, label
        name -> value), and the multiple that image sizes must be padded to for it."""
        raise GankitError(f"{self.cfg.name} does not translate images")

    def parse_target(self, attrs: str | None = None, domain: str | None = None) -> dict[str, Any]:
        """Multi-domain models: a target from '--attrs name=1,...' and/or '--domain NAME'."""
        raise GankitError(f"{self.cfg.name} takes no target: --attrs, --domain and --all-domains are for stargan")

    def all_targets(self) -> list[tuple[str, dict[str, Any]]]:
        """Multi-domain models: (name, target) for every domain."""
        raise GankitError(f"{self.cfg.name} takes no target: --attrs, --domain and --all-domains are for stargan")

    def inference_mode(self) -> str:
        """How translate() runs the network: 'eval' (eval mode) or 'paper' (pix2pix: dropout on, per-image
        normalisation statistics)."""
        return "eval"

    def set_test_mode(self, mode: str) -> None:
        """Choose inference_mode() from now on, for models whose test-time noise is a choice (pix2pix)."""
        raise GankitError(f"--test-mode is for pix2pix; {self.cfg.name} has no test-time noise to choose")

    def extra_state(self) -> dict[str, Any]:
        """Training state beyond parameters, buffers and optimizers (e.g. CycleGAN's image pools): saved in every
        checkpoint and restored on resume, so resumed runs stay exact."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what extra_state() returned."""

    def code_names(self) -> list[str]:
        """Encoding models: the name of each column encode() returns."""
        raise GankitError(f"{self.cfg.name} has no encoder: 'gankit encode' serves bigan and infogan")

    def categorical_codes(self) -> dict[str, int]:
        """Encoding models: the columns of encode() that are categories (name -> number of categories)."""
        return {}

    def encode_batch(self, x: torch.Tensor) -> torch.Tensor:
        """Encoding models: images in [-1, 1] at the model's size -> codes (N, len(code_names()))."""
        raise GankitError(f"{self.cfg.name} has no encoder: 'gankit encode' serves bigan and infogan")

    def decode_batch(self, codes: torch.Tensor, G: nn.Module | None = None) -> torch.Tensor:
        """Encoding models: codes as encode_batch() returns them -> images in [-1, 1] (G, or the EMA copy)."""
        raise GankitError(f"{self.cfg.name} has no encoder: 'gankit encode' serves bigan and infogan")

    def explore_grid(self, code: str, values: torch.Tensor, rows: int, generator: torch.Generator,
                     G: nn.Module) -> tuple[torch.Tensor, int]:
        """Models with named latent codes (InfoGAN): a traversal grid varying `code`, and its row length."""
        raise GankitError(f"{self.cfg.name} has no named latent codes to explore: 'gankit explore' serves infogan")

    def anomaly_scores(self, x: torch.Tensor, scorer: str | None = None, z0: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Anomaly scorers (AnoGAN): images in [-1, 1] -> (one score per image, the G(z) each was compared with);
        `z0` starts a latent search."""
        raise GankitError(f"{self.cfg.name} does not score anomalies: 'gankit score' serves anogan")

    def classify_batch(self, x: torch.Tensor) -> torch.Tensor:
        """Classifiers (Triple-GAN's C): images in [-1, 1] at the model's size -> class probabilities (N, K)."""
        raise GankitError(f"{self.cfg.name} has no classifier: 'gankit classify' serves triplegan")

    def encode(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images as floats in [0, 1], (N, C, H, W) of any size (resized to the model's) -> codes (N, D), columns
        named by code_names()."""
        from ..encode import encode_tensor

        return encode_tensor(self, images, batch_size)[0]

    def reconstruct(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images in [0, 1] -> G(E(x)) in [0, 1], at the model's size."""
        from ..encode import encode_tensor

        return encode_tensor(self, images, batch_size, reconstruct=True)[1]

    def translate(self, images: torch.Tensor, direction: str = "AtoB", seed: int = 0,
                  target: dict[str, Any] | None = None) -> torch.Tensor:
        """Images as floats in [0, 1], (N, C, H, W) of any size -> their translations, same size, in [0, 1].
        Multi-domain models (StarGAN) take a `target` such as {"blond": 1, "male": 0}."""
        from ..translate import translate_tensor

        return translate_tensor(self, images, direction, seed, target=target)

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

    def sample_grid(self, n: int, generator: torch.Generator, G: nn.Module) -> tuple[torch.Tensor, int | None]:
        """Images for the periodic sample grid and its row length (None: square). Conditional models: one row per
        class, n // K columns (at least 4)."""
        if not self.conditional:
            return self.generate(n, generator=generator, G=G), None
        K = self.info.num_classes
        cols = max(4, n // K)
        y = torch.arange(K, device=self.device).repeat_interleave(cols)
        return self.generate(len(y), generator, G, label=y), cols

    def class_labels(self, n: int, label: int | torch.Tensor | None) -> torch.Tensor:
        """Conditional models: the labels of n samples: 0, 1, ..., K-1 over and over, all `label`, or the tensor
        given."""
        K = self.info.num_classes
        if label is None:
            return torch.arange(n, device=self.device) % K
        if isinstance(label, int):
            if not 0 <= label < K:
                raise GankitError(f"--label must be between 0 and {K - 1} for {self.info.name}, got {label}")
            return torch.full((n,), label, device=self.device)
        return label.to(self.device)

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

    def sample(self, n: int = 64, seed: int | None = None, **kwargs: Any) -> torch.Tensor:
        """n images as floats in [0, 1], shape (n, C, H, W) (vector data: (n, D), unscaled). `seed` makes the
        draw reproducible and leaves the training noise untouched. Conditional models take `label=`."""
        if self.translation:
            raise GankitError(f"{self.cfg.name} translates images rather than drawing them from noise: use "
                              "'gankit translate' (or model.translate(images))")
        with inference(getattr(self, self.ema_target)):
            return self.for_display(self.generate(n, generator=self.seeded(seed), **kwargs))


def columns(*images: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Image batches of equal size side by side, row i holding image i of each (grayscale ones shown as RGB when
    any is in colour): a sample grid and its row length."""
    channels = max(x.shape[1] for x in images)
    return torch.stack([x.expand(-1, channels, -1, -1) for x in images], 1).flatten(0, 1), len(images)


def fast_optimizer_kwargs(device: torch.device) -> dict[str, bool]:
    """fused=True where torch has fused Adam kernels for the device (CUDA; CPU since torch 2.4), else foreach."""
    if device.type in ("cuda", "cpu"):
        return {"fused": True}
    return {"foreach": True}


@contextlib.contextmanager
def inference(net: nn.Module) -> Iterator[None]:
    """Eval mode (batch-norm running statistics, no dropout) and no autograd, restoring the mode after."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        net.train(was_training)


@contextlib.contextmanager
def frozen(*nets: nn.Module) -> Iterator[None]:
    """No parameter gradients for `nets` inside the block: G's update does not also fill D's .grad."""
    saved = [[p.requires_grad for p in net.parameters()] for net in nets]
    for net in nets:
        net.requires_grad_(False)
    try:
        yield
    finally:
        for net, flags in zip(nets, saved):
            for p, flag in zip(net.parameters(), flags):
                p.requires_grad_(flag)
