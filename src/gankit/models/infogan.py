"""InfoGAN — Chen et al., "InfoGAN: Interpretable Representation Learning by Information Maximizing Generative
Adversarial Nets", NeurIPS 2016.

G's input is incompressible noise z ~ U(-1, 1)^62 plus latent codes c: categorical codes (default one Cat(10))
and continuous ones (default two U(-1, 1)). The GAN game is regularised by a lower bound on the mutual
information between the codes and the image, read back by an auxiliary network Q that shares D's body:
    D, Q:  min  L_D + lambda_cat * L_cat + lambda_cont * L_cont
    G:     min  L_G + lambda_cat * L_cat + lambda_cont * L_cont
with L_D, L_G the GAN's (non-saturating) losses, L_cat = -E[log Q(c_cat | G(z, c))] (cross-entropy) and L_cont the
negative log-likelihood of the continuous codes under Q's factored Gaussian (unit variance by default, as the
paper's MNIST code: then 0.5 (c - mu)^2 + const). lambda_cat = lambda_cont = 1 (the paper's code for MNIST; its
text suggests a smaller weight for continuous codes when Q also learns the variance: model.learn_std).
Networks (appendix C.1, MNIST): D: conv 64, conv 128 + BN, FC 1024 + BN, LeakyReLU(0.1), a logit head; Q: FC 128
+ BN + LeakyReLU on D's FC layer, then the codes' parameters; G: FC 1024, FC 7x7x128, up 64, up 1, BN + ReLU.
Optimiser: Adam, lr 2e-4 for D and Q, 1e-3 for G, beta1 0.5, batch 128 (the paper's code: 5,000 steps).
Use: `gankit explore RUN --code c1` (traversal grids), `gankit encode RUN images --out codes.npy` (Q's reading:
category index, continuous means), `gankit evaluate` adds the categorical code's accuracy as a classifier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, GankitError
from ..losses.adversarial import bce_discriminator_loss, nonsaturating_generator_loss
from ..losses.information import categorical_code_loss, gaussian_code_loss
from ..nn import ConvEncoder, FCConvGenerator, frozen
from ..registry import MODELS
from .base import AdamConfig, Batch, DataInfo, GANModel


@dataclass
class InfoGANConfig(AdamConfig):
    name: str = "infogan"
    z_dim: int = 62  # incompressible noise, U(-1, 1)
    cat_codes: list[int] = field(default_factory=lambda: [10])  # categories of each categorical code ([]: none)
    cont_codes: int = 2  # continuous codes, U(-1, 1)
    lambda_cat: float = 1.0
    lambda_cont: float = 1.0
    learn_std: bool = False  # Q also predicts each continuous code's standard deviation
    base_channels: int = 64
    hidden: int = 1024  # the fully connected layer of G and of D (Q's input)
    q_hidden: int = 128
    leak: float = 0.1
    lr_G: float = 1e-3
    lr_D: float = 2e-4  # D and Q together
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 128}
    limits: ClassVar[dict] = {"z_dim": (0, None, "[]"), "cont_codes": (0, 64, "[]"), "lambda_cat": (0, None, "[]"),
                              "lambda_cont": (0, None, "[]"), "base_channels": (1, None, "[]"),
                              "hidden": (1, None, "[]"), "q_hidden": (1, None, "[]"), "leak": (0, 1, "[]")}

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(k < 2 or k > 1000 for k in self.cat_codes) or len(self.cat_codes) > 16:
            raise ConfigError(f"'model.cat_codes' lists the categories of each categorical code: at most 16 codes of "
                              f"2 to 1000 categories, got {self.cat_codes}")
        if not self.cat_codes and not self.cont_codes:
            raise ConfigError("infogan needs at least one code (model.cat_codes or model.cont_codes); without codes "
                              "it is a plain GAN: use dcgan")


@MODELS.register("infogan")
class InfoGAN(GANModel):
    Config = InfoGANConfig
    tasks = ("sample", "encode", "explore")
    cpu_channels_last = False  # NHWC measured slower at 32x32, batch 64 (docs/benchmarks/speed.md)

    def __init__(self, cfg: InfoGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if not info.is_image:
            raise ConfigError(f"infogan is a convolutional model for images; {info.name} is vector data")
        self.K = list(cfg.cat_codes)
        code_dim = sum(self.K) + cfg.cont_codes
        self.G = FCConvGenerator(cfg.z_dim + code_dim, info.img_size, info.img_channels, cfg.base_channels,
                                 cfg.hidden)
        self.D = ConvEncoder(info.img_size, info.img_channels, 1, cfg.base_channels, cfg.hidden, cfg.leak)
        q_out = sum(self.K) + cfg.cont_codes * (2 if cfg.learn_std else 1)
        self.Q = nn.Sequential(nn.Linear(cfg.hidden, cfg.q_hidden, bias=False), nn.BatchNorm1d(cfg.q_hidden),
                               nn.LeakyReLU(cfg.leak, inplace=True), nn.Linear(cfg.q_hidden, q_out))
        self.init_weights(init_seed, self.G, self.D, self.Q)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        # Q belongs to D's player: its head and D's shared body both learn to read the codes.
        return {"D": self.adam(nn.ModuleList([self.D, self.Q]), self.cfg.lr_D), "G": self.adam(self.G, self.cfg.lr_G)}

    # ----------------------------------------------------------------------------------- the latent

    def draw(self, n: int, rand: Callable[[int, int], torch.Tensor]
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z, categorical codes (n, len(K)) int64, continuous codes) from the priors, `rand(n, d)` giving U[0, 1)."""
        z = rand(n, self.cfg.z_dim) * 2 - 1
        u = rand(n, len(self.K))
        cat = (u * torch.tensor(self.K, device=u.device, dtype=u.dtype)).long()
        cont = rand(n, self.cfg.cont_codes) * 2 - 1
        return z, cat, cont

    def latent(self, z: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        """G's input: the noise, each categorical code one-hot, the continuous codes."""
        onehots = [F.one_hot(cat[:, i], k).to(z.dtype) for i, k in enumerate(self.K)]
        return torch.cat([z, *onehots, cont], 1)

    def read_codes(self, h: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor | None]:
        """Q on D's features: logits of each categorical code, the continuous codes' means and log-stds (None
        when the standard deviation is fixed at 1)."""
        out = self.Q(h)
        n_cat, n_cont = sum(self.K), self.cfg.cont_codes
        logits = list(out[:, :n_cat].split(self.K, 1)) if self.K else []
        mean = out[:, n_cat:n_cat + n_cont]
        return logits, mean, out[:, n_cat + n_cont:] if self.cfg.learn_std else None

    def code_losses(self, h: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The negative log-likelihoods of the codes under Q (the mutual-information lower bound, less H(c))."""
        logits, mean, log_std = self.read_codes(h)
        zero = h.new_zeros((), dtype=torch.float32)
        loss_cat = sum((categorical_code_loss(lg, cat[:, i]) for i, lg in enumerate(logits)), zero)
        loss_cont = gaussian_code_loss(mean, cont, log_std) if self.cfg.cont_codes else zero
        return loss_cat, loss_cont

    # ------------------------------------------------------------------------------------ training

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        real = next_batch()["x"]
        z, cat, cont = self.draw(real.shape[0], self.rand)
        fake = self.G(self.latent(z, cat, cont))

        # D and Q: real -> 1, fake -> 0, and the codes read back from the fakes through D's body.
        h_fake = self.D.features(fake.detach())
        adv_D = bce_discriminator_loss(self.D.head(self.D.features(real)), self.D.head(h_fake))
        cat_D, cont_D = self.code_losses(h_fake, cat, cont)
        self.optimize("D", adv_D + cfg.lambda_cat * cat_D + cfg.lambda_cont * cont_D)

        # G: fool D and make its codes readable (the same bound, now maximised through G); D and Q frozen.
        with frozen(self.D, self.Q):
            h = self.D.features(fake)
            adv_G = nonsaturating_generator_loss(self.D.head(h))
            cat_G, cont_G = self.code_losses(h, cat, cont)
        self.optimize("G", adv_G + cfg.lambda_cat * cat_G + cfg.lambda_cont * cont_G)

        return {"D/loss": adv_D.detach(), "G/loss": adv_G.detach(), "Q/cat": cat_D.detach(),
                "Q/cont": cont_D.detach()}

    # ----------------------------------------------------------------------------------------- use

    def generate(self, n, generator=None, G=None):
        g = generator or self.noise
        z, cat, cont = self.draw(n, lambda k, d: torch.rand(k, d, generator=g, device=self.device))
        return (G or self.G)(self.latent(z, cat, cont))

    def sample_grid(self, n, generator, G, data):
        """The first categorical code's traversal (one row per category, the noise fixed down each column), or
        random samples when there is none."""
        if not self.K:
            return self.generate(n, generator, G), None
        return self.explore_grid("c1", None, max(4, n // self.K[0]), generator, G)

    def code_names(self) -> list[str]:
        return [f"c{i + 1}" for i in range(len(self.K) + self.cfg.cont_codes)]

    def categorical_codes(self) -> dict[str, int]:
        return {f"c{i + 1}": k for i, k in enumerate(self.K)}

    def encode_batch(self, x: torch.Tensor) -> torch.Tensor:
        """Q's reading of images: each categorical code's most likely category (as a float), then the continuous
        codes' means."""
        logits, mean, _ = self.read_codes(self.D.features(x))
        return torch.cat([*(lg.argmax(1, keepdim=True).to(mean.dtype) for lg in logits), mean], 1)

    def decode_batch(self, codes: torch.Tensor, G: nn.Module | None = None) -> torch.Tensor:
        """G at the codes, with the noise at the centre of its prior (0): what Q saw, without the noise's style."""
        n_cat = len(self.K)
        cat = codes[:, :n_cat].round().long().clamp(min=0)
        cat = torch.minimum(cat, torch.tensor(self.K, device=cat.device) - 1) if n_cat else cat
        z = codes.new_zeros(codes.shape[0], self.cfg.z_dim)  # shape[0], not len(): stays dynamic in a traced graph
        return (G or self.G)(self.latent(z, cat, codes[:, n_cat:]))

    def explore_grid(self, code: str, values: torch.Tensor | None, n: int, generator: torch.Generator,
                     G: nn.Module) -> tuple[torch.Tensor, int]:
        """A traversal of one code with everything else fixed. A categorical code: one row per category, `n`
        columns of different noise and other codes (the same down each column). A continuous code: one column per
        value in `values`, one row per category of c1 (or `n` rows when there is no categorical code), each row
        with its own noise and the other continuous codes at 0."""
        names = self.code_names()
        if code not in names:
            raise GankitError(f"unknown code '{code}'; {self.cfg.name} has {', '.join(names)} "
                              f"(categorical: {', '.join(self.categorical_codes()) or 'none'})")
        i = names.index(code)
        g = generator or self.noise
        rand = lambda k, d: torch.rand(k, d, generator=g, device=self.device)  # noqa: E731
        if i < len(self.K):
            K = self.K[i]
            z, cat, cont = self.draw(n, rand)
            z, cat, cont = z.repeat(K, 1), cat.repeat(K, 1), cont.repeat(K, 1)
            cat[:, i] = torch.arange(K, device=self.device).repeat_interleave(n)
            return (G or self.G)(self.latent(z, cat, cont)), n
        if values is None:
            raise GankitError(f"{code} is continuous: give the values to show")
        values = values.to(self.device, torch.float32)
        rows = self.K[0] if self.K else n
        z, cat, cont = self.draw(rows, rand)
        if self.K:
            cat[:, 0] = torch.arange(rows, device=self.device)
        cont.zero_()
        cols = len(values)
        z, cat, cont = z.repeat_interleave(cols, 0), cat.repeat_interleave(cols, 0), cont.repeat_interleave(cols, 0)
        cont[:, i - len(self.K)] = values.repeat(rows)
        return (G or self.G)(self.latent(z, cat, cont)), cols
