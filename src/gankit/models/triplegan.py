"""Triple-GAN — Li, Xu, Zhu & Zhang, "Triple Generative Adversarial Nets", NeurIPS 2017.

Semi-supervised classification with three players: a classifier C (x -> y), a conditional generator G (z, y -> x)
and a discriminator D judging pairs (x, y). D separates data pairs from C's pairs (x, C(x)) and G's pairs
(G(z, y), y), mixed with alpha = 1/2:
    D:  max  E_p[log D(x, y)] + alpha E_pc[log(1 - D(x, y))] + (1 - alpha) E_pg[log(1 - D(G(z, y), y))]
    C:  min  alpha E_pc[-log D(x, C(x))] + R_L + alpha_P R_P + lambda_entropy H(C(x_u))
    G:  min  (1 - alpha) E_pg[-log D(G(z, y), y)]
R_L is the cross-entropy on the labelled images; R_P (alpha_P = 0.1) the cross-entropy of C on G's pairs, switched
on when G's pairs are worth learning from: as in the paper's code, after 299 passes of the game over the training
images (`rp_after_epochs`; its epoch 300 of 1000), so a short run never uses it.
As in the paper's code, C is first trained alone (`pretrain`, a share of the steps: R_L, the entropy of its
predictions on unlabelled images and a class-balance term, weight 0.3): C's labels feed D's data pairs from the first
adversarial step, and a C at chance would teach D and G wrong pairs. Throughout, C's loss also holds the
class-balance term (1e-3: the cross-entropy of the batch's mean prediction against uniform, so C does not put every
unlabelled image in a few classes) and weight decay on its output layer (1e-4); and C classifies with a running
average of its weights (rate 0.01 per step), which is what the paper's code evaluates.
As in the paper's code: C's pair is its most likely label, C's adversarial term weighted by that label's
probability (the argmax approximation, so the gradient reaches C); the data pairs D accepts are the labelled pairs
and unlabelled images with C's label (a labelled batch alone would let D, and G, memorise a hundred images);
C also minimises the entropy of its predictions on unlabelled images (weight 0.3); D adds Gaussian noise to its
input (sigma 0.3 of the data range) and hidden layers (0.5). Two unlabelled batches per step: C's, and D's data.
Networks (the paper's MNIST code): C a CNN (conv 32 5x5, pool, conv 64 3x3, conv 64 3x3, pool, conv 128 3x3 x 2,
global average pool, dense; batch norm, ReLU, dropout 0.5 after the pools); G an MLP (500, 500, softplus, batch
norm; the paper's code weight-normalises the output layer: `g_weight_norm`) and D an MLP (1000, 500, 250, 250, 250,
LeakyReLU; the paper's code normalises each layer's weights to norm 1 per unit and uses ReLU: `d_unit_norm`), both
with the one-hot label appended to every layer's input.
z ~ U(0, 1)^100. Adam 1e-3, beta1 0.5, batch 100 (labelled and unlabelled), learning rate decaying linearly from
30 % of the run.
Data: a labelled set with `data.labels_per_class=N` (the rest unlabelled); with every label kept it is a fully
supervised Triple-GAN. Use: `gankit classify RUN images --out labels.csv`; `gankit sample RUN --label 3`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..losses.adversarial import bce_discriminator_loss, nonsaturating_generator_loss
from ..losses.information import categorical_code_loss
from ..nn import UnitNormLinear, frozen
from ..registry import MODELS
from ..runtime.ema import average_into
from .base import AdamConfig, Batch, ByLabel, DataInfo, GANModel


@dataclass
class TripleGANConfig(AdamConfig):
    name: str = "triplegan"
    z_dim: int = 100
    alpha: float = 0.5  # D's weight of C's pairs against G's (1 - alpha)
    alpha_p: float = 0.1  # R_P: C's cross-entropy on G's pairs
    # ... once the game (after C's pretraining) has made this many passes over the training images, as in the
    # paper's code (its epoch 300): earlier, G still draws one image per label whatever z is, and R_P would teach C
    # those (docs/benchmarks/triplegan.md).
    rp_after_epochs: float = 299
    lambda_entropy: float = 0.3  # C's prediction entropy on unlabelled images (the paper's code)
    pretrain: float = 0.2  # share of train.steps in which only C trains (the paper's code: 30 epochs first)
    lambda_balance: float = 1e-3  # C's mean prediction on unlabelled images against uniform ...
    lambda_balance_pretrain: float = 0.3  # ... and while C trains alone
    c_weight_decay: float = 1e-4  # L2 on C's output layer
    c_average: float = 0.01  # rate of the running average of C's weights that classifies; 1: C's own weights
    g_width: int = 500
    # true: G's output layer weight-normalised (a learned gain per pixel from 1), as in the paper's code. It keeps
    # G from collapsing to one image per label, but C did not gain from it, with or without R_P, so it is off
    # (docs/benchmarks/triplegan.md).
    g_weight_norm: bool = False
    base_channels: int = 32  # C's first conv; the others 64, 64, 128, 128 scaled alike
    d_noise_input: float = 0.3  # Gaussian noise on D's input, in units of the data range (0 to 1)
    d_noise: float = 0.5  # on D's hidden layers
    # true: D's layers weight-normalised at scale 1 with ReLU, as in the paper's code. Off by default: C did worse
    # with it on MNIST with 100 labels (docs/benchmarks/triplegan.md).
    d_unit_norm: bool = False
    lr_G: float = 1e-3
    lr_D: float = 1e-3
    lr_C: float = 1e-3
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 100, "lr_decay": "linear", "lr_decay_start": 0.3}
    retired: ClassVar[dict[str, str]] = {
        "rp_from": "R_P now starts after model.rp_after_epochs passes over the training images, not at a share of "
                   "the run"}
    limits: ClassVar[dict] = {"z_dim": (1, None, "[]"), "alpha": (0, 1, "[]"), "alpha_p": (0, None, "[]"),
                              "rp_after_epochs": (0, None, "[]"), "lambda_entropy": (0, None, "[]"),
                              "pretrain": (0, 1, "[]"),
                              "lambda_balance": (0, None, "[]"), "lambda_balance_pretrain": (0, None, "[]"),
                              "c_weight_decay": (0, None, "[]"), "c_average": (0, 1, "(]"), "g_width": (1, None, "[]"),
                              "base_channels": (1, None, "[]"), "d_noise_input": (0, None, "[]"),
                              "d_noise": (0, None, "[]"), "lr_C": (0, None, "(]")}


class PairGenerator(nn.Module):
    """G(z, y): two hidden layers of `width` units (softplus, batch norm), the one-hot y appended to each layer's
    input, a tanh image; `weight_norm`: the output layer weight-normalised with a learned gain per pixel."""

    def __init__(self, z_dim: int, num_classes: int, img_size: int, img_channels: int, width: int,
                 weight_norm: bool = False):
        super().__init__()
        self.shape = (img_channels, img_size, img_size)
        self.hidden = nn.ModuleList([nn.Linear(z_dim + num_classes, width, bias=False),
                                     nn.Linear(width + num_classes, width, bias=False)])
        self.norms = nn.ModuleList([nn.BatchNorm1d(width), nn.BatchNorm1d(width)])
        Out = partial(UnitNormLinear, learn_scale=True) if weight_norm else nn.Linear
        self.out = Out(width + num_classes, img_channels * img_size * img_size)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = z
        for layer, norm in zip(self.hidden, self.norms):
            h = F.softplus(norm(layer(torch.cat([h, y], 1))))
        return torch.tanh(self.out(torch.cat([h, y], 1))).view(-1, *self.shape)


class PairDiscriminator(nn.Module):
    """D(x, y): an MLP over the flattened image (1000, 500, 250, 250, 250 units) with the one-hot y appended to every
    layer's input and Gaussian noise on its input and hidden layers while training. `unit_norm`: every layer's weights
    normalised to norm 1 per unit and ReLU, as in the paper's code (a D that cannot sharpen its verdicts by growing its
    weights, so G keeps a gradient); otherwise plain linear layers and LeakyReLU 0.2."""

    widths = (1000, 500, 250, 250, 250)

    def __init__(self, in_dim: int, num_classes: int, noise_input: float, noise: float, unit_norm: bool = False):
        super().__init__()
        dims = (in_dim, *self.widths)
        Linear = UnitNormLinear if unit_norm else nn.Linear
        self.layers = nn.ModuleList([Linear(a + num_classes, b) for a, b in zip(dims[:-1], dims[1:])])
        self.head = Linear(dims[-1] + num_classes, 1)
        self.noise_input, self.noise = noise_input, noise
        self.leak = 0.0 if unit_norm else 0.2

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        if self.training and self.noise_input:
            h = h + torch.randn_like(h) * self.noise_input * 2  # images span [-1, 1]: twice the data range unit
        for layer in self.layers:
            h = F.leaky_relu(layer(torch.cat([h, y], 1)), self.leak)
            if self.training and self.noise:
                h = h + torch.randn_like(h) * self.noise
        return self.head(torch.cat([h, y], 1)).flatten()


class PairClassifier(nn.Module):
    """C(x): the paper's MNIST CNN, logits over the classes."""

    def __init__(self, img_channels: int, num_classes: int, width: int = 32):
        super().__init__()
        w = width

        def block(c_in: int, c_out: int, k: int, pad: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, k, padding=pad, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        self.net = nn.Sequential(
            *block(img_channels, w, 5, 0), nn.MaxPool2d(2), nn.Dropout(0.5),
            *block(w, 2 * w, 3, 1), *block(2 * w, 2 * w, 3, 0), nn.MaxPool2d(2), nn.Dropout(0.5),
            *block(2 * w, 4 * w, 3, 1), *block(4 * w, 4 * w, 3, 1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the predicted class distributions."""
    logp = F.log_softmax(logits.float(), 1)
    return -(logp.exp() * logp).sum(1).mean()


def imbalance(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the uniform distribution against the batch's mean predicted one: log K when C spreads a
    batch evenly over the K classes, more as classes go empty."""
    mean = F.softmax(logits.float(), 1).mean(0)
    return -mean.clamp_min(1e-6).log().mean()


@MODELS.register("triplegan")
class TripleGAN(ByLabel, GANModel):
    Config = TripleGANConfig
    tasks = ("sample", "classify")

    def __init__(self, cfg: TripleGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if not info.is_image or info.num_classes < 2:
            raise ConfigError(f"triplegan classifies labelled images (digits, mnist, class folders); {info.name} "
                              f"{'is vector data' if not info.is_image else 'has no labels'}")
        if info.img_size < 16:
            raise ConfigError(f"triplegan's classifier needs data.img_size >= 16, got {info.img_size}")
        K, C, S = info.num_classes, info.img_channels, info.img_size
        self.G = PairGenerator(cfg.z_dim, K, S, C, cfg.g_width, cfg.g_weight_norm)
        self.D = PairDiscriminator(C * S * S, K, cfg.d_noise_input, cfg.d_noise, cfg.d_unit_norm)
        self.C = PairClassifier(C, K, cfg.base_channels)
        self.init_weights(init_seed, self.G, self.D, self.C)  # weight-normalised layers keep their own (nn.init)
        # The running average of C's weights, the classifier users get (saved with the model: a submodule).
        self.C_avg = copy.deepcopy(self.C).requires_grad_(False)
        self.game_step = 0  # C alone before this step; set by check() from train.steps
        self.rp_step: int | None = None  # R_P from this step on

    def check(self, train, n_images: int) -> None:
        self.game_step = round(train.steps * self.cfg.pretrain)
        steps_per_pass = max(1, n_images // train.batch_size)  # train.batch_size: the global batch
        self.rp_step = self.game_step + round(self.cfg.rp_after_epochs * steps_per_pass)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        return {"D": self.adam(self.D, cfg.lr_D), "G": self.adam(self.G, cfg.lr_G), "C": self.adam(self.C, cfg.lr_C)}

    def onehot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, self.info.num_classes).float()

    def classifier_loss(self, logits_u: torch.Tensor, x_l: torch.Tensor, y_l: torch.Tensor, balance: float
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """C's own terms: R_L, confidence and class balance on unlabelled images, weight decay; and R_L alone."""
        cfg = self.cfg
        r_l = categorical_code_loss(self.C(x_l), y_l)
        loss = (r_l + cfg.lambda_entropy * entropy(logits_u) + balance * imbalance(logits_u)
                + cfg.c_weight_decay * self.C.net[-1].weight.square().sum())
        return loss, r_l

    def update_C(self, loss: torch.Tensor) -> None:
        self.optimize("C", loss)
        average_into(self.C_avg, self.C, self.cfg.c_average)

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        batch = next_batch()
        if "x_l" in batch:  # semi-supervised: an unlabelled batch and a labelled one
            x_u, x_l, y_l = batch["x"], batch["x_l"], batch["label_l"]
        else:  # every label known: a fully supervised Triple-GAN
            x_u, x_l, y_l = batch["x"], batch["x"], batch["label"]
        if step < self.game_step:  # C alone, so that its labels are worth something when D and G start
            loss_C, r_l = self.classifier_loss(self.C(x_u), x_l, y_l, cfg.lambda_balance_pretrain)
            self.update_C(loss_C)
            return {"C/loss": loss_C.detach(), "C/labelled": r_l.detach()}
        n, K = x_u.shape[0], self.info.num_classes
        y_g = (self.rand(n) * K).long().clamp(max=K - 1)
        fake = self.G(self.rand(n, cfg.z_dim), self.onehot(y_g))

        # C's pairs: its most likely label for each unlabelled image, and that label's probability.
        logits_u = self.C(x_u)
        p_u, y_c = F.softmax(logits_u.float(), 1).max(1)

        # D: data pairs against C's (weight alpha) and G's (1 - alpha). As in the authors' code, the data pairs are
        # mostly another unlabelled batch with C's labels, with one labelled pair per hundred: real labelled pairs
        # alone would be a hundred images that D, and then G, would learn by heart.
        x_d = next_batch()["x"]
        with torch.no_grad():
            y_d = self.C(x_d).argmax(1)
        k = max(1, n // 100)
        real = torch.cat([self.D(x_l[:k], self.onehot(y_l[:k])), self.D(x_d, self.onehot(y_d))])
        fake_C, fake_G = self.D(x_u, self.onehot(y_c.detach())), self.D(fake.detach(), self.onehot(y_g))
        loss_D = (cfg.alpha * bce_discriminator_loss(real, fake_C)
                  + (1 - cfg.alpha) * bce_discriminator_loss(real, fake_G))
        self.optimize("D", loss_D)

        # G: make D take its pairs for data.
        with frozen(self.D):
            loss_G = (1 - cfg.alpha) * nonsaturating_generator_loss(self.D(fake, self.onehot(y_g)))
        self.optimize("G", loss_G)

        # C: fool D with its pairs (through the chosen label's probability: the label itself is discrete), fit the
        # labels, be confident on unlabelled images, and, once G is worth it, learn from G's pairs.
        with frozen(self.D):
            adv_C = (p_u * F.softplus(-self.D(x_u, self.onehot(y_c)))).mean()
        own, r_l = self.classifier_loss(logits_u, x_l, y_l, cfg.lambda_balance)
        loss_C = cfg.alpha * adv_C + own
        stats = {"D/loss": loss_D.detach(), "G/loss": loss_G.detach(), "C/labelled": r_l.detach()}
        if self.rp_step is not None and step >= self.rp_step and cfg.alpha_p > 0:
            r_p = categorical_code_loss(self.C(fake.detach()), y_g)
            loss_C = loss_C + cfg.alpha_p * r_p
            stats["C/pairs_of_G"] = r_p.detach()
        self.update_C(loss_C)
        return {**stats, "C/loss": loss_C.detach()}

    # ----------------------------------------------------------------------------------------- use

    def generate(self, n, generator=None, G=None, label: int | torch.Tensor | None = None):
        z = torch.rand(n, self.cfg.z_dim, generator=generator or self.noise, device=self.device)
        return (G or self.G)(z, self.onehot(self.class_labels(n, label)))

    def classify_batch(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.C_avg(x).float(), 1)
