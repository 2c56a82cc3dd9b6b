"""Helper for test_distributed.py, run as a script (plain or under torchrun): WGAN-GP on ring8 with a generator
without batch norm, so that the whole step is independent of how the batch is split across processes.

usage: python ddp_wgan_gp_no_bn.py OUT_DIR STEPS GLOBAL_BATCH
"""

import os
import sys
from dataclasses import dataclass

import torch.distributed as dist
from torch import nn

import gankit
import gankit.models  # noqa: F401
from gankit.models.wgan_gp import WGANGP, WGANGPConfig
from gankit.registry import MODELS


@dataclass
class NoBNConfig(WGANGPConfig):
    name: str = "wgan-gp-no-bn"


@MODELS.register("wgan-gp-no-bn")
class WGANGPNoBN(WGANGP):
    Config = NoBNConfig

    def __init__(self, cfg, info, init_seed=0):
        super().__init__(cfg, info, init_seed)
        # Built from the global RNG, which differs per process: the trainer's broadcast must make them equal.
        self.G = nn.Sequential(nn.Linear(cfg.z_dim, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                               nn.Linear(32, info.dim))


if __name__ == "__main__":
    out, steps, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    gankit.train("wgan-gp-no-bn", "ring8", steps=steps, batch_size=batch, out=out, device="cpu", progress=False,
                 overrides=["model.z_dim=4", "model.d_width=32", "model.n_critic=2", "model.lr_G=1e-3",
                            "model.lr_D=1e-3", "train.log_every=1", "train.checkpoint_every=100",
                            "train.sample_every=100", "train.tensorboard=false"])
    if dist.is_initialized():
        # As docs/speed.md tells API users and as `gankit` itself ends: a gloo group's worker threads outlive
        # destroy_process_group here and can abort the process while Python shuts down (SIGABRT after every file
        # is written; seen once in a CI run of this test), so a torchrun process leaves without finalizing.
        dist.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
