"""LAPGAN (Denton et al. 2015) against the paper's single-scale GAN at equal wall-clock on MNIST 32x32: does the
Laplacian cascade of small conditional GANs beat one GAN of the same family at full size?

Arms, each trained for the same wall-clock budget (`--seconds`, the whole training loop timed: every level of the
cascade and logging included; evaluation excluded), then measured by `gankit evaluate`:
    lapgan     levels 8 -> 16 -> 32 with the paper's nets and optimiser (SGD 0.02, momentum 0.5 -> 0.8), seeds 0, 1
    baseline   the same system with model.levels=1: the coarsest level's fully connected GAN (G 2 x 1200 ReLU units,
               D 2 x 600 with dropout) at 32x32, the paper's single-scale baseline, same optimiser, seeds 0, 1
    dcgan      gankit's DCGAN (base 32, batch 64, Adam 2e-4), seed 0: context only (it postdates LAPGAN)
Every arm uses batch 64 (lapgan's D: 32 real and 32 generated images per level; the paper's batch is 128). The
finer G_k and D_k have `--width` feature maps, 32 by default, half the paper's 64: at 64 one step costs about 1.7
CPU-seconds (batch 64), so a 7-minute budget would buy some 250 steps (docs/benchmarks/lapgan.md has the measured
speeds). `--set` adds overrides to both lapgan arms (e.g. model.optimizer=adam).
Data: the first 10,000 MNIST training images, zero-padded 28 -> 32 (data.fit=pad).
Metrics on `--n` samples: Fréchet distance (FD), precision and recall in the MNIST classifier's features; for the
cascade each level's FD (the level and the real images' same level both expanded to 32x32 by the pyramid's u()),
the FD of the chain with every residual set to zero (what the residual generators add), and the FD of the finest
generator on real 16x16 images (that level without the chain's error). Claim: FD(lapgan) < FD(baseline) for each
seed.

    python -m benchmarks.lapgan_mnist [--seconds 420] [--width 32] [--n 10000] [--set model.optimizer=adam]

Writes OUT/results.json, OUT/results.md, and per run OUT/<arm>-s<seed>/ (the run folder, samples.png; lapgan:
levels.png, a row per level of the chain). A run cut short is trained again from the start (its clock would not be
comparable); finished runs are only evaluated again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

import gankit
from benchmarks.common import SHARED_DATA, WallClock, run_main, shown_overrides
from gankit.config import DataConfig
from gankit.evaluate import make_evaluator
from gankit.tasks.sample import sample_to_file

NEVER = 10**9  # steps: the budget ends every run
COMMON = ["data.img_size=32", "data.fit=pad", "train.tensorboard=false", f"train.checkpoint_every={NEVER}",
          "train.log_every=50", f"train.sample_every={NEVER}"]
TINY = {"lapgan": ["model.z_dim=8", "model.coarse_g_hidden=16", "model.coarse_d_hidden=16", "train.batch_size=8",
                   "data.img_size=16"],
        "dcgan": ["model.base_channels=8", "model.z_dim=16", "train.batch_size=8", "data.img_size=16"]}


def arms(a) -> list[tuple[str, int, str, list[str]]]:
    """(name, seed, system, overrides) of every run."""
    lapgan = ["train.batch_size=64", f"model.base_channels={a.width}"]
    dcgan = ["train.batch_size=64", "model.base_channels=32"]
    if a.tiny:
        lapgan, dcgan = [f"model.base_channels={a.width}", *TINY["lapgan"]], TINY["dcgan"]
    runs = [(f"lapgan-s{s}", s, "lapgan", [*lapgan, *a.set]) for s in a.seeds]
    runs += [(f"baseline-s{s}", s, "lapgan", [*lapgan, *a.set, "model.levels=1"]) for s in a.seeds]
    runs += [("dcgan-s0", 0, "dcgan", dcgan)]
    return runs


def train_for(system: str, spec: str, overrides: list[str], seed: int, seconds: float, run_dir: Path) -> dict:
    """Train until the budget is spent (or reuse a run that finished its budget before): steps and seconds."""
    done = run_dir / "budget.json"
    if done.is_file():
        return json.loads(done.read_text())
    if run_dir.exists():  # cut short: its clock is lost, so it starts again
        shutil.rmtree(run_dir)
    budget = WallClock(seconds)
    run = gankit.train(system, spec, overrides=[*COMMON, *overrides], steps=NEVER, out=run_dir, seed=seed,
                       progress=False, hooks=[budget])
    if run.status != "finished" or budget.elapsed < seconds:  # stopped by the user, not by the budget
        raise SystemExit(f"{run_dir}: training stopped at step {run.step} before its budget; run the same command "
                         "again to train it afresh")
    result = {"steps": run.step, "train_seconds": round(budget.elapsed, 1),
              "steps_per_s": round(run.step / budget.elapsed, 3)}
    done.write_text(json.dumps(result) + "\n")
    return result


def row(name: str, r: dict, fd_key: str, sizes: list[int]) -> str:
    level = " | ".join(f"{r[f'fd_level_{s}px']:.2f}" if f"fd_level_{s}px" in r else "–" for s in sizes)
    extra = " | ".join(f"{r[k]:.2f}" if k in r else "–" for k in ("fd_zero_residuals", "fd_from_real_coarse"))
    return (f"| {name} | {r['steps']} | {r['train_seconds']:.0f} | {r[fd_key]:.2f} | {r['precision']:.3f} | "
            f"{r['recall']:.3f} | {level} | {extra} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=420, help="training wall-clock per run (default 420)")
    p.add_argument("--width", type=int, default=32, help="feature maps of lapgan's G_k and D_k (default 32)")
    p.add_argument("--n", type=int, default=10_000, help="samples per evaluation (default 10000)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--data", help="dataset spec (default: mnist in --root)")
    p.add_argument("--root", default=str(SHARED_DATA), help="the shared data folder (mnist/)")
    p.add_argument("--out", default="runs/bench-lapgan", help="where runs and results go")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="a config override for both lapgan arms, after the script's own (repeatable)")
    p.add_argument("--tiny", action="store_true", help="tiny nets at 16x16 (the test suite's check of the script)")
    a = p.parse_args()
    out = Path(a.out)
    spec = a.data or f"mnist:{Path(a.root) / 'mnist'}"
    size = 16 if a.tiny else 32
    sizes = [s for s in (8, 16, 32) if s <= size]

    evaluator, fd_key, results = None, "", {}
    for name, seed, system, overrides in arms(a):
        run_dir = out / name
        r = train_for(system, spec, overrides, seed, a.seconds, run_dir)
        model = gankit.load(run_dir)
        if evaluator is None:
            evaluator = make_evaluator(DataConfig(spec=spec, img_size=size, fit="pad"), model, progress=False)
            fd_key = f"fd_{spec.split(':')[0].replace('-', '_')}_classifier"
        t0 = time.perf_counter()
        r.update(evaluator(model, n=a.n, seed=0))
        r["eval_seconds"] = round(time.perf_counter() - t0, 1)
        r.update(system=system, seed=seed, overrides=[*COMMON, *overrides])
        results[name] = r
        sample_to_file(model, run_dir / "samples.png", n=64, seed=0)
        if name.startswith("lapgan"):
            sample_to_file(model, run_dir / "levels.png", n=10, seed=0, levels=True)
        print(f"{name}: {r['steps']} steps in {r['train_seconds']:.0f} s ({r['steps_per_s']} steps/s), "
              f"FD {r[fd_key]:.2f}, evaluated in {r['eval_seconds']:.0f} s", flush=True)

    header = ("| run | steps | train s | FD | precision | recall | " + " | ".join(f"FD {s}px" for s in sizes)
              + " | FD zero residuals | FD from real coarse |")
    lines = [f"LAPGAN vs single-scale GAN on {spec}, {a.seconds:g} s of training each, {a.n} samples"
             f"{shown_overrides(a.set)}", "", header, "|" + "---|" * (header.count("|") - 1)]
    lines += [row(name, r, fd_key, sizes) for name, r in results.items()]
    fd = {arm: [results[f"{arm}-s{s}"][fd_key] for s in a.seeds] for arm in ("lapgan", "baseline")}
    each = all(x < y for x, y in zip(fd["lapgan"], fd["baseline"]))
    zero = [results[f"lapgan-s{s}"].get("fd_zero_residuals", np.nan) for s in a.seeds]
    lines += ["", f"mean FD: lapgan {np.mean(fd['lapgan']):.2f}, baseline {np.mean(fd['baseline']):.2f}, "
                  f"dcgan {results['dcgan-s0'][fd_key]:.2f}",
              f"claim FD(lapgan) < FD(baseline) for every seed: {'met' if each else 'not met'}",
              f"residual generators matter, FD(zero residuals) > FD(lapgan) for every seed: "
              f"{'yes' if all(z > f for z, f in zip(zero, fd['lapgan'])) else 'no'}"]
    print("\n" + "\n".join(lines))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps({"seconds": a.seconds, "n": a.n, "data": spec, "width": a.width,
                                                  "set": a.set, "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    run_main(main)
