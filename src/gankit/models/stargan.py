"""StarGAN — Choi et al., "StarGAN: Unified Generative Adversarial Networks for Multi-Domain Image-to-Image
Translation", CVPR 2018.

One generator translates an image to any target label vector c (attributes, or domains of a one-of-N group); one
discriminator both judges realism (D_src, per patch) and classifies the labels (D_cls):
    L_D = -L_adv + lambda_cls L_cls(real, c_real) + lambda_gp GP
    L_G =  L_adv + lambda_cls L_cls(G(x, c), c) + lambda_rec ||x - G(G(x, c), c_real)||_1
with the WGAN-GP adversarial loss (lambda_gp = 10), lambda_cls = 1, lambda_rec = 10, n_critic = 5 (one step here is
5 critic updates and one G update, as gankit's WGAN-GP), Adam 1e-4 (0.5, 0.999), batch 16, the learning rates
decaying linearly to 0 over the second half. L_cls is binary cross-entropy for binary attributes and
cross-entropy for a one-of-N group (losses/classification.py). Targets are the batch's own labels shuffled (within
each dataset), as in the paper's code.
Mask vector: with two datasets (`data.second`, or the built-in `mnist-attrs`), c = [labels of dataset 1, labels of
dataset 2, one-hot mask]; a sample's unknown labels are zeros, and L_cls counts only the labels it has. A target
spanning both datasets is reached in two passes, one per dataset.
Not in the paper, off by default: `lambda_idt`, an identity term lambda_idt ||G(x, c_real) - x||_1 (CycleGAN's,
here with the source's own labels as the target). Nothing else in the objective asks G to leave alone what the
target does not name, in particular the labels of the dataset the mask hides, which a two-pass translation needs.
Networks (appendix, 128x128): G: input image with c replicated spatially, c7s1-64, two 4x4 stride-2 convs,
6 residual blocks, two 4x4 stride-2 transposed convs, c7s1-3, instance norm, ReLU, tanh, zero padding
(nn.ResnetGenerator with sampling_kernel=4, padding="zeros": with reflection padding instance norm would erase the
constant label maps); D: 4x4 stride-2 convs 64, 128, ... with LeakyReLU(0.01), no normalisation, until a map of
2 or 3 pixels (6 convs at 128x128), then D_src (3x3 conv, one logit per patch) and D_cls (a conv over the map).
Use: `gankit translate RUN images --attrs "blond=1,male=0" | --domain happy | --all-domains --grid grid.png`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ArgumentError, ConfigError, GankitError
from ..images import columns
from ..losses.adversarial import wasserstein_critic_loss, wasserstein_generator_loss
from ..losses.classification import attribute_loss, attribute_predictions
from ..losses.penalties import gradient_penalty
from ..nn import ResnetGenerator, frozen, inference
from ..registry import MODELS
from .base import AdamConfig, Batch, DataInfo, GANModel


@dataclass
class StarGANConfig(AdamConfig):
    name: str = "stargan"
    lr_G: float = 1e-4
    lr_D: float = 1e-4
    base_channels: int = 64
    d_base_channels: int = 64
    n_blocks: int = 6
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    lambda_idt: float = 0.0  # not in the paper: G(x, x's own labels) = x (module docstring)
    n_critic: int = 5
    default_data: ClassVar[str] = "mnist-attrs"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 16, "lr_decay": "linear", "lr_decay_start": 0.5,
                                                "n_samples": 8}
    limits: ClassVar[dict] = {"base_channels": (1, None, "[]"), "d_base_channels": (1, None, "[]"),
                              "n_blocks": (0, 64, "[]"), "lambda_cls": (0, None, "[]"), "lambda_rec": (0, None, "[]"),
                              "lambda_gp": (0, None, "[]"), "lambda_idt": (0, None, "[]"),
                              "n_critic": (1, None, "[]")}


class StarDiscriminator(nn.Module):
    """image -> (D_src: a map of realism logits, D_cls: label logits). 4x4 stride-2 convs doubling the width (from
    `base` to at most 32 * base) with LeakyReLU(0.01) until the map is 2 or 3 pixels wide; D_src a 3x3 conv to one
    channel, D_cls a conv as large as the map to the labels. Images of another size are resized for D_cls."""

    def __init__(self, img_size: int, channels: int, n_labels: int, base: int = 64):
        super().__init__()
        if img_size < 8:
            raise ConfigError(f"stargan needs data.img_size >= 8, got {img_size}")
        n = int(math.log2(img_size)) - 1
        layers: list[nn.Module] = []
        c_in, width = channels, base
        for _ in range(n):
            layers += [nn.Conv2d(c_in, width, 4, 2, 1), nn.LeakyReLU(0.01, inplace=True)]
            c_in, width = width, min(width * 2, base * 32)
        self.body = nn.Sequential(*layers)
        self.img_size, side = img_size, img_size >> n
        self.src = nn.Conv2d(c_in, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(c_in, n_labels, side, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.src(h), self.cls(h).mean((2, 3))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """D_cls's logits for images of any size (resized to the training size)."""
        if x.shape[-2:] != (self.img_size, self.img_size):
            x = F.interpolate(x, size=(self.img_size, self.img_size), mode="bilinear", antialias=True,
                              align_corners=False)
        return self(x)[1]


def label_layout(info: DataInfo) -> tuple[list[str], list[list[int]], list[int]]:
    """(label names, one-of-N groups, labels per dataset): attribute data as it is, class data as one group."""
    if info.attrs:
        layout = list(info.attrs), [list(g) for g in info.attr_groups], list(info.label_sets) or [len(info.attrs)]
    elif info.num_classes >= 2:
        K = info.num_classes
        layout = info.label_names, [list(range(K))], [K]
    else:
        raise ConfigError(f"stargan translates between labelled domains: {info.name} has no attributes or classes "
                          "(use attributes:DIR, mnist-attrs, or a folder with one sub-folder per domain)")
    return layout


@MODELS.register("stargan")
class StarGAN(GANModel):
    Config = StarGANConfig
    tasks = ("translate",)
    cpu_channels_last = False  # NHWC measured slower at 64x64, batch 16 (docs/benchmarks/speed.md)
    ema_target = None  # the sample grid translates training images with the trained G
    no_compile = {"D": "its gradient penalty needs a double backward, which compiled graphs do not support"}

    def __init__(self, cfg: StarGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if not info.is_image or info.kind:
            raise ConfigError(f"stargan translates images by labels; {info.name} is "
                              f"{'vector data' if not info.is_image else info.kind + ' translation data'}")
        self.attrs, self.groups, self.label_sets = label_layout(info)
        L, M = len(self.attrs), len(self.label_sets) if len(self.label_sets) > 1 else 0
        # owner[j]: the dataset whose label j is (for the mask vector)
        self.register_buffer("owner", torch.repeat_interleave(torch.arange(len(self.label_sets)),
                                                              torch.tensor(self.label_sets)), persistent=False)
        self.n_masks = M
        C = info.img_channels
        self.G = ResnetGenerator(C + L + M, C, cfg.n_blocks, cfg.base_channels, "instance", sampling_kernel=4,
                                 padding="zeros")
        self.D = StarDiscriminator(info.img_size, C, L, cfg.d_base_channels)
        self.init_weights(init_seed, self.G, self.D)

    def check(self, train, n_images: int) -> None:
        if train.ema_beta > 0:
            raise ConfigError("stargan keeps no EMA copy: leave train.ema_beta at 0")
        # Checked when training starts, not when a model loads: a model trained before this check still loads.
        for name in self.attrs:  # each must be addressable as --attrs "name=1,other=0" and --domain name
            if not name or name != name.strip() or any(c in name for c in ",=") or not name.isprintable():
                raise ConfigError(f"stargan: the label name {name!r} of {self.info.name} cannot be named in --attrs "
                                  "(empty, surrounding spaces, ',' '=' or a control character): rename it")

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam(self.G, self.cfg.lr_G), "D": self.adam(self.D, self.cfg.lr_D)}

    # ----------------------------------------------------------------------------------------- labels

    def labels(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(c (N, L) labels, mask (N, datasets)) of a batch: attribute data as it is, class indices one-hot."""
        if "attrs" in batch:
            c = batch["attrs"].float()
        else:
            c = F.one_hot(batch["label"], len(self.attrs)).float()
        mask = batch.get("mask")
        if mask is None:
            mask = c.new_ones(len(c), 1)
        return c, mask.float()

    def condition(self, c: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """G's label input: the labels, and with two datasets the mask vector."""
        return torch.cat([c, mask], 1) if self.n_masks else c

    def G_at(self, x: torch.Tensor, cond: torch.Tensor, G: nn.Module | None = None) -> torch.Tensor:
        """G on x with the label vector replicated over every pixel."""
        maps = cond[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3]).to(x.dtype)
        return (G or self.G)(torch.cat([x, maps], 1))

    def known(self, mask: torch.Tensor) -> torch.Tensor:
        """(N, L): 1 where a sample has label j (its dataset's labels), 0 elsewhere."""
        return mask[:, self.owner]

    def shuffled(self, c: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Targets: the batch's labels shuffled among the samples of the same dataset."""
        dataset = mask.argmax(1)
        in_order = dataset.argsort(stable=True)  # grouped by dataset, in batch order
        shuffled = (self.rand(len(c)) + 2 * dataset).argsort()  # grouped by dataset, random within
        target = torch.empty_like(c)
        target[in_order] = c[shuffled]
        return target

    # ------------------------------------------------------------------------------------ training

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        for _ in range(cfg.n_critic):
            batch = next_batch()
            real = batch["x"]
            c, mask = self.labels(batch)
            c_trg = self.shuffled(c, mask)
            with torch.no_grad():
                fake = self.G_at(real, self.condition(c_trg, mask))
            src_real, cls_real = self.D(real)
            src_fake, _ = self.D(fake)
            adv_D = wasserstein_critic_loss(src_real, src_fake)
            cls_D = attribute_loss(cls_real, c, self.groups, self.known(mask))
            gp = gradient_penalty(lambda v: self.D(v)[0], real, fake, self.rand(real.shape[0]), self.input_gradient)
            self.optimize("D", adv_D + cfg.lambda_cls * cls_D + cfg.lambda_gp * gp)

        # G: fool D, be classified as the target, and come back to x from the translation.
        fake = self.G_at(real, self.condition(c_trg, mask))
        with frozen(self.D):
            src_fake, cls_fake = self.D(fake)
        adv_G = wasserstein_generator_loss(src_fake)
        cls_G = attribute_loss(cls_fake, c_trg, self.groups, self.known(mask))
        own = self.condition(c, mask)  # back to x's own labels: the reconstruction's target, and the identity's
        rec = F.l1_loss(self.G_at(fake, own), real)
        loss_G = adv_G + cfg.lambda_cls * cls_G + cfg.lambda_rec * rec
        stats = {"D/adv": adv_D.detach(), "D/cls": cls_D.detach(), "D/gp": gp.detach(), "G/adv": adv_G.detach(),
                 "G/cls": cls_G.detach(), "G/rec": rec.detach()}
        if cfg.lambda_idt > 0:  # asked for x's own labels, G should give x back untouched
            idt = F.l1_loss(self.G_at(real, own), real)
            loss_G = loss_G + cfg.lambda_idt * idt
            stats["G/idt"] = idt.detach()
        self.optimize("G", loss_G)
        return stats

    # ----------------------------------------------------------------------------------------- use

    def parse_target(self, attrs: str | None = None, domain: str | None = None) -> dict[str, Any]:
        """'name=1,other=0' and/or a domain name (a member of a group, or a binary attribute set to 1) -> a target
        {name: 0 | 1}; unknown names and bad values are a GankitError listing the valid ones."""
        target: dict[str, Any] = {}
        valid = ", ".join(self.attrs)
        for part in (attrs or "").split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            name, value = name.strip(), value.strip().lower()
            if name not in self.attrs:
                raise GankitError(f"unknown attribute '{name}'; this model has {valid}")
            if not sep or value not in ("0", "1", "true", "false"):
                raise ArgumentError("attrs", f"takes name=1 or name=0 pairs separated by commas; got '{part.strip()}'")
            target[name] = 1 if value in ("1", "true") else 0
        if domain is not None:
            if domain not in self.attrs:
                raise GankitError(f"unknown domain '{domain}'; this model has {valid}")
            target[domain] = 1
        for group in self.groups:
            ones = [self.attrs[j] for j in group if target.get(self.attrs[j]) == 1]
            if len(ones) > 1:
                raise GankitError(f"{' and '.join(ones)} exclude each other: set one of them to 1")
        if not target:
            raise ArgumentError("target", "is needed")
        return target

    def all_targets(self) -> list[tuple[str, dict[str, Any]]]:
        """One target per domain: each member of each group, and each binary attribute flipped."""
        grouped = {j for group in self.groups for j in group}
        targets = [(self.attrs[j], {self.attrs[j]: 1}) for group in self.groups for j in group]
        targets += [(f"{name}-flipped", {name: "flip"}) for j, name in enumerate(self.attrs) if j not in grouped]
        return targets

    def predict_attributes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """What D_cls reads in images x in [-1, 1]: per label name, (N,) 0/1 (one-of-N groups: their argmax)."""
        pred = attribute_predictions(self.D.classify(x), self.groups)
        return {name: pred[:, j] for j, name in enumerate(self.attrs)}

    def passes(self, x: torch.Tensor, target: dict[str, Any]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The (labels, mask) of each pass that takes x to `target`: one per dataset the target touches. A dataset's
        labels not named in the target keep what D_cls reads in x; a group member set to 1 clears the others."""
        base = attribute_predictions(self.D.classify(x), self.groups)
        touched = sorted({int(self.owner[self.attrs.index(name)]) for name in target})
        out = []
        for k in touched:
            c = torch.zeros_like(base)
            own = self.owner == k
            c[:, own] = base[:, own]
            for name, value in target.items():
                j = self.attrs.index(name)
                if int(self.owner[j]) != k:
                    continue
                if value == 1:
                    for group in self.groups:
                        if j in group:
                            c[:, group] = 0
                c[:, j] = (1 - base[:, j]) if value == "flip" else float(value)
            mask = F.one_hot(torch.full((len(x),), k, device=x.device), max(len(self.label_sets), 1)).float()
            out.append((c, mask))
        return out

    def retarget(self, x: torch.Tensor, target: dict[str, Any], G: nn.Module | None = None) -> torch.Tensor:
        """x in [-1, 1] translated to `target` (as parse_target returns it)."""
        for c, mask in self.passes(x, target):
            x = self.G_at(x, self.condition(c, mask), G)
        return x

    def translator(self, direction: str = "AtoB", target: dict[str, Any] | None = None) -> tuple[nn.Module, int]:
        if direction != "AtoB":
            raise ArgumentError("direction", "does not apply: stargan has one generator for every target; give a "
                                             "target instead")
        if target is None:
            raise ArgumentError("target", "is needed")
        return Retargeted(self, target), self.G.multiple

    def sample_grid(self, n, generator, G, data):
        """Rows of fixed training images: the image, then its translation to every domain."""
        x = data()["x"]
        return columns(x, *(self.retarget(x, target) for _, target in self.all_targets()))


class Retargeted(nn.Module):
    """StarGAN's G bound to one target, for gankit translate."""

    def __init__(self, model: StarGAN, target: dict[str, Any]):
        super().__init__()
        self.model, self.target = model, target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with inference(self.model.D):
            return self.model.retarget(x, self.target)
