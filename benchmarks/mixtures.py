"""PacGAN's 2-D mixture benchmark (Lin et al. 2018, Table 1), one command:

    python benchmarks/mixtures.py [--steps 6000] [--seeds 5] [--data ring8 grid25] [--configs ...]

Trains each configuration on each mixture with every seed through gankit's own API (the same call for the
baseline and for the remedies), draws 2,500 samples, and reports the PacGAN protocol's numbers, mean (and
min-max) over seeds: modes captured (a mode needs one sample within 3 sigma), the share of high-quality samples,
and the reverse KL of the mode histogram. Published anchor (PacGAN Table 1): GAN 6.3 ring / 17.3 grid modes,
PacGAN4 7.8 / 24.8.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import gankit
from gankit.evaluate import Evaluator

# name -> (model, overrides). PacGAN's 2-D setting: z in R^2, G 4x400 ReLU + BN, D 3x200, batch 100, Adam 1e-4.
CONFIGS = {
    "gan (minimax)": ("gan", ["model.g_loss=minimax"]),
    "gan (non-saturating)": ("gan", ["model.g_loss=nonsaturating"]),
    "gan + pack 4 (PacGAN4)": ("gan", ["model.g_loss=nonsaturating", "model.pack=4"]),
    "wgan-gp": ("wgan-gp", []),
}
COMMON = ["model.z_dim=2", "model.lr_G=1e-4", "model.lr_D=1e-4", "train.batch_size=100", "train.tensorboard=false",
          "train.sample_every=1000000", "train.checkpoint_every=1000000", "train.log_every=500"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--data", nargs="+", default=["ring8", "grid25"])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--n", type=int, default=2500)
    p.add_argument("--json", help="also write all per-seed numbers here")
    a = p.parse_args()

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for data in a.data:
            for label in a.configs:
                model_name, overrides = CONFIGS[label]
                per_seed = []
                t0 = time.perf_counter()
                for seed in range(a.seeds):
                    out = Path(tmp) / f"{data}-{model_name}-{len(results)}-{seed}"
                    run = gankit.train(model_name, data, overrides=[*COMMON, *overrides], steps=a.steps,
                                       seed=seed, out=out, device="cpu", progress=False)
                    per_seed.append(Evaluator(run_cfg_data(data), run.model.info, progress=False)(
                        run.model, n=a.n, seed=1000 + seed))
                seconds = (time.perf_counter() - t0) / a.seeds
                results[(data, label)] = per_seed
                m = {k: [r[k] for r in per_seed] for k in ("modes", "high_quality", "reverse_kl")}
                print(f"{data:7} {label:24} modes {np.mean(m['modes']):5.2f} ({min(m['modes'])}-{max(m['modes'])})"
                      f"  high-quality {100 * np.mean(m['high_quality']):5.1f}%"
                      f"  reverse KL {np.mean([v for v in m['reverse_kl'] if v is not None]):.3f}"
                      f"  [{seconds:.0f} s/run]", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({f"{d}|{c}": v for (d, c), v in results.items()}, indent=1))


def run_cfg_data(data: str):
    from gankit.config import DataConfig

    return DataConfig(spec=data)


if __name__ == "__main__":
    main()
