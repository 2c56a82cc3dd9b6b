"""PacGAN's 2-D mixture benchmark (Lin et al. 2018, Table 1), one command:

    python -m benchmarks.mixtures [--steps 5000] [--seeds 5] [--first-seed 0] [--data ring8 grid25] [--configs ...]
                                  [--workers 2] [--set model.d_maxout=5 ...] [--json FILE]
    python -m benchmarks.mixtures --merge FILE [FILE ...]

Trains each configuration on each mixture with every seed through gankit's own API (the same call for the
baseline and for the remedies: lr 1e-4 decaying linearly to 0 over the second half, D sees 100 inputs per step,
so PacGAN4 draws 400 samples), draws 2,500 samples, and reports the PacGAN protocol's numbers, mean (and
min-max) over seeds: modes captured (a mode needs one sample within 3 sigma), the share of high-quality samples,
and the reverse KL of the mode histogram. Published anchor (PacGAN Table 1): GAN 6.3 ring / 17.3 grid modes,
PacGAN4 7.8 / 24.8.

`--merge` prints the same lines for the seeds of several earlier `--json` files together (runs split over
processes or sessions), refusing files that repeat a seed or mix step counts or overrides.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

import gankit
from benchmarks.common import add_overrides, run_main
from gankit.errors import GankitError
from gankit.evaluate import make_evaluator

# name -> (model, overrides). PacGAN's 2-D setting: z in R^2, G 4x400 ReLU + BN, D 3x200, Adam 1e-4, and D
# judging 100 inputs per step (so packing m draws 100 m samples).
CONFIGS = {
    "gan (minimax)": ("gan", ["model.g_loss=minimax", "train.batch_size=100"]),
    "gan (non-saturating)": ("gan", ["model.g_loss=nonsaturating", "train.batch_size=100"]),
    "gan + pack 4 (PacGAN4)": ("gan", ["model.g_loss=nonsaturating", "model.pack=4", "train.batch_size=400"]),
    "wgan-gp": ("wgan-gp", ["train.batch_size=100"]),
}
COMMON = ["model.z_dim=2", "model.lr_G=1e-4", "model.lr_D=1e-4", "train.lr_decay=linear", "train.tensorboard=false",
          "train.sample_every=1000000", "train.checkpoint_every=1000000", "train.log_every=500"]


def one_run(job: tuple[str, str, int, int, int, str, list[str]]) -> tuple[str, str, dict, float]:
    """Train and evaluate one (data, configuration, seed); runs in a worker process with one thread."""
    data, label, seed, steps, n, tmp, extra = job
    import torch

    from gankit.config import DataConfig

    torch.set_num_threads(1)
    model_name, overrides = CONFIGS[label]
    t0 = time.perf_counter()
    out = Path(tmp) / f"{data}-{model_name}-{label.replace(' ', '_')}-{seed}"
    run = gankit.train(model_name, data, overrides=[*COMMON, *overrides, *extra], steps=steps, seed=seed, out=out,
                       device="cpu", progress=False)
    metrics = make_evaluator(DataConfig(spec=data), run.model, progress=False)(run.model, n=n, seed=1000 + seed)
    secs = time.perf_counter() - t0
    return data, label, {"seed": seed, "steps": steps, "overrides": extra, **metrics, "seconds": round(secs, 1)}, secs


def summary(data: str, label: str, runs: list[dict], seconds: list[float] | None) -> str:
    """One line per (data, configuration): the mean over its seeds, and the min-max of modes."""
    m = {k: [r[k] for r in runs] for k in ("modes", "high_quality", "reverse_kl")}
    kls = [v for v in m["reverse_kl"] if v is not None]
    time_note = f"{np.mean(seconds):.0f} s/run, 1 thread" if seconds else f"{len(runs)} seeds merged"
    return (f"{data:7} {label:24} modes {np.mean(m['modes']):5.2f} ({min(m['modes'])}-{max(m['modes'])})"
            f"  high-quality {100 * np.mean(m['high_quality']):5.1f}%"
            f"  reverse KL {np.mean(kls) if kls else float('nan'):.3f}  [{time_note}]")


RECORD = {"seed", "modes", "high_quality", "reverse_kl"}  # what every per-seed entry of a --json file holds


def merge(paths: list[str]) -> list[str]:
    """The summary lines over every seed in earlier `--json` files, with a line per seed first."""
    results: dict[str, list[dict]] = {}
    for path in paths:
        try:
            table = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise GankitError(f"cannot read {path} as a mixtures.py --json file: {e}") from None
        if not isinstance(table, dict) or not all("|" in k and isinstance(v, list) and all(
                isinstance(r, dict) and RECORD <= r.keys() for r in v) for k, v in table.items()):
            raise GankitError(f"{path} is not a mixtures.py --json file")
        for key, runs in table.items():
            for run in runs:
                earlier = results.setdefault(key, [])
                if any(r["seed"] == run["seed"] for r in earlier):
                    raise GankitError(f"{key}: seed {run['seed']} appears twice (again in {path})")
                # Files written before the settings were recorded have none to compare; those that do must agree,
                # or the mean would average different experiments.
                for setting in ("steps", "overrides"):
                    known = {repr(r[setting]) for r in earlier if setting in r}
                    if setting in run and known and repr(run[setting]) not in known:
                        raise GankitError(f"{key}: {path} has {setting} {run[setting]}, other files {known.pop()}")
                earlier.append(run)
    lines = []
    for key, runs in results.items():
        data, label = key.split("|", 1)
        runs.sort(key=lambda r: r["seed"])
        lines += [f"  seed {r['seed']}: modes {r['modes']}  high-quality {100 * r['high_quality']:.2f}%"
                  f"  reverse KL {r['reverse_kl'] if r['reverse_kl'] is not None else float('nan'):.3f}"
                  for r in runs]
        lines.append(summary(data, label, runs, None))
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0,
                   help="seeds run: first-seed .. first-seed + seeds - 1 (add seeds to an earlier call's)")
    p.add_argument("--data", nargs="+", default=["ring8", "grid25"])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--n", type=int, default=2500)
    p.add_argument("--json", help="also write all per-seed numbers here")
    p.add_argument("--workers", type=int, default=2, help="parallel single-threaded runs")
    add_overrides(p, "every run")
    p.add_argument("--merge", nargs="+", metavar="FILE",
                   help="train nothing: the mean over every seed in these earlier --json files")
    a = p.parse_args()
    if a.merge:
        print("\n".join(merge(a.merge)))
        return
    if a.set:
        print("every run also with: " + " ".join(a.set), flush=True)

    results: dict[tuple[str, str], list[dict]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(a.workers, mp_context=get_context("spawn")) as pool:
        seeds = range(a.first_seed, a.first_seed + a.seeds)
        jobs = [(d, c, s, a.steps, a.n, tmp, a.set) for d in a.data for c in a.configs for s in seeds]
        for data, label, metrics, secs in pool.map(one_run, jobs):
            results.setdefault((data, label), []).append(metrics)
            seconds.setdefault((data, label), []).append(secs)
            if len(results[(data, label)]) < a.seeds:
                continue
            print(summary(data, label, results[(data, label)], seconds[(data, label)]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({f"{d}|{c}": v for (d, c), v in results.items()}, indent=1))


if __name__ == "__main__":
    run_main(main)
