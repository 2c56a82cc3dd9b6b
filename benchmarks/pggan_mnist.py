"""PGGAN grown vs the same networks at full resolution from the start, at equal wall-clock (issue 39, benchmark 2).

    python -m benchmarks.pggan_mnist [--minutes 7] [--points 5] [--phase-kimg 0.8] [--seeds 0 1]
                                     [--context dcgan wgan-gp] [--eval-n 2000] [--root ../shared/data]

The paper's claims (Karras et al. 2018, Section 3 and Table 1): progressive growing reaches a given quality faster
and trains more stably than the same networks trained at the final resolution from the start. Arms, on MNIST
train10k zero-padded to 32x32 (`--data fashion-mnist` for Fashion-MNIST), every run with the same wall-clock
budget of training (`--minutes`; setup and measurements not counted):
  grown  `pggan-cpu` (128/128/64/32 channels at 4..32, z 128, batch 16, EMA `--ema-beta`), 4x4 -> 32x32 with
         `--phase-kimg` thousand images alone and as many of fade-in per resolution, then 32x32 to the end;
  fixed  the same config object except model.start_res=32 (level 3, alpha 1 from the first step);
  dcgan, wgan-gp  context, not judged (base 32, batch 64, their papers' optimisers), one seed.
At `--points` evenly spaced moments of each run's budget the generator that gankit samples from (the EMA copy where
the run keeps one) is stored; afterwards each is measured on `--eval-n` samples against the dataset's yardstick
classifier (gankit evaluate's `fd_<data>_classifier`, precision, recall; not the Inception FID). Prints one table
and writes OUT/pggan_mnist.json (every point, with steps, images and the growing level) and OUT/pggan_mnist.md.
Judged, as the research notes propose: at the end mean FD(grown) < mean FD(fixed); mean grown below mean fixed at
>= 70 % of the points after grown reaches 32x32; seed spread (max - min final FD) of grown <= that of fixed; no grown
run's FD rises > 50 % between consecutive points after its last fade.

The EMA: the paper's 0.999 (the official code: a half-life of 10k images, about 0.9989 at batch 16) would leave a
run of a few hundred steps sampling mostly its initial weights (0.999^300 = 0.74), so the pggan arms average with
0.95 per step, the same in both arms; dcgan and wgan-gp keep no EMA, as by default.

A run whose folder holds budget.json is not run again; one without it (stopped half way) starts over, since a
wall-clock budget cannot be resumed fairly. Defaults: 6 runs x 7 min + setup and measurements = about 50 min on
one core (OMP_NUM_THREADS=1 taskset -c 1).
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
from pathlib import Path
from statistics import mean

import gankit
from benchmarks.common import SHARED_DATA, WallClock, run_main
from gankit.config import load_yaml, resolve_config
from gankit.evaluate import make_evaluator
from gankit.safetensors_io import read_tensors, write_tensors

SUBDIR = {"mnist": "mnist", "fashion-mnist": "fashion_mnist"}
ENDLESS = 10**8  # steps: the budget, not the step count, ends every run


class Budget(WallClock):
    """Ends a run after `seconds` of training and stores the sampled generator at `points` evenly spaced moments
    (the time spent storing is not counted)."""

    def __init__(self, seconds: float, points: int, out: Path):
        super().__init__(seconds)
        self.out = out
        self.marks = [seconds * (i + 1) / points for i in range(points)]
        self.rows: list[dict] = []

    def start(self, tr):
        super().start(tr)
        self.out.mkdir(parents=True, exist_ok=True)

    def at(self, tr, elapsed):
        if not self.marks or elapsed < self.marks[0]:
            return
        G = tr.ema.copy if tr.ema else tr.model.G
        path = self.out / f"G_{len(self.rows)}.safetensors"
        write_tensors(path, {k: v.detach().cpu().contiguous() for k, v in G.state_dict().items()})
        level = getattr(tr.model.G, "level", None)  # PGGAN's growing level (last_level: the data's size)
        while self.marks and elapsed >= self.marks[0]:  # one row per mark, so point i is mark i in every run
            self.marks.pop(0)
            self.rows.append({"seconds": round(elapsed, 1), "step": tr.step,
                              "images": tr.stream.drawn * tr.cfg.train.batch_size,
                              "level": None if level is None else float(level),
                              "full_size": level is None or float(level) == tr.model.last_level,
                              "G": "ema" if tr.ema else "raw", "file": path.name})


def arms(a) -> list[tuple[str, str, list[str], list[int]]]:
    """(arm, model, overrides, seeds); grown and fixed differ in model.start_res only."""
    pg = ["train.batch_size=16", f"model.train_kimg={a.phase_kimg}", f"model.fade_kimg={a.phase_kimg}",
          f"train.ema_beta={a.ema_beta}"]
    context = ["model.base_channels=32", "train.batch_size=64"]
    out = [("grown", "pggan-cpu", pg, a.seeds), ("fixed", "pggan-cpu", [*pg, f"model.start_res={a.size}"], a.seeds)]
    return out + [(name, name, context, a.seeds[:1]) for name in a.context]


def run_arm(arm: str, model: str, overrides: list[str], seed: int, a, spec: str) -> dict:
    run_dir = Path(a.out) / f"{arm}-seed{seed}"
    done = run_dir / "budget.json"
    if done.is_file():
        return json.loads(done.read_text())
    shutil.rmtree(run_dir, ignore_errors=True)
    settings = [*overrides, f"data.img_size={a.size}", "data.fit=pad", "train.tensorboard=false", "train.log_every=50",
                f"train.sample_every={ENDLESS}", f"train.checkpoint_every={ENDLESS}", *a.set]
    budget = Budget(a.minutes * 60, a.points, run_dir / "budget")
    run = gankit.train(model, spec, overrides=settings, steps=ENDLESS, out=run_dir, seed=seed, hooks=[budget],
                       progress=False)
    system = gankit.load(run_dir).system
    cfg = resolve_config(load_yaml(run_dir / "config.yaml"))
    evaluator = make_evaluator(cfg.data, system, progress=False)
    fd_key = f"fd_{a.data.replace('-', '_')}_classifier"
    for row in budget.rows:
        G = copy.deepcopy(system.G)
        G.load_state_dict(read_tensors(run_dir / "budget" / row["file"]))
        m = evaluator(system, n=a.eval_n, seed=0, G=G.eval())
        row.update(fd=round(m[fd_key], 3), precision=round(m["precision"], 4), recall=round(m["recall"], 4))
    result = {"arm": arm, "model": model, "seed": seed, "overrides": settings, "budget_s": a.minutes * 60,
              "steps": run.step, "steps_per_s": round(run.step / (a.minutes * 60), 3), "eval_n": a.eval_n,
              "points": budget.rows}
    done.write_text(json.dumps(result, indent=2) + "\n")
    return result


def judge(results: list[dict]) -> list[str]:
    """The claims, where both arms ran."""
    grown = [r for r in results if r["arm"] == "grown"]
    fixed = [r for r in results if r["arm"] == "fixed"]
    if not grown or not fixed:
        return []
    n = min(len(r["points"]) for r in grown + fixed)
    mean_at = lambda rs, i: mean(r["points"][i]["fd"] for r in rs)  # noqa: E731
    end_g, end_f = mean_at(grown, n - 1), mean_at(fixed, n - 1)
    full = [i for i in range(n) if all(r["points"][i]["full_size"] for r in grown)]
    below = sum(mean_at(grown, i) < mean_at(fixed, i) for i in full)
    spread = lambda rs: max(r["points"][-1]["fd"] for r in rs) - min(r["points"][-1]["fd"] for r in rs)  # noqa: E731
    jumps = [r["points"][i + 1]["fd"] / r["points"][i]["fd"] for r in grown for i in full[:-1]]
    verdict = lambda ok: "yes" if ok else "NO"  # noqa: E731
    return [f"final mean FD grown {end_g:.2f} < fixed {end_f:.2f}: {verdict(end_g < end_f)}",
            f"grown below fixed at {below} of {len(full)} points after it is fully grown (>= 70 %): "
            f"{verdict(bool(full) and below >= 0.7 * len(full))}",
            f"seed spread of the final FD grown {spread(grown):.2f} <= fixed {spread(fixed):.2f}: "
            f"{verdict(spread(grown) <= spread(fixed))}",
            f"largest rise between points after the last fade {max(jumps, default=1) - 1:+.0%} (<= +50 %): "
            f"{verdict(max(jumps, default=1) <= 1.5)}"]


def table(results: list[dict]) -> list[str]:
    n = max(len(r["points"]) for r in results)
    head = f"| arm | seed | steps/s | images | {' | '.join(f'FD @{i + 1}/{n}' for i in range(n))} | recall (end) |"
    lines = [head, "|" + "---|" * (n + 5)]
    for r in results:
        cells = [f"{p['fd']:.2f}" + (f" (L{p['level']:.2g})" if p["level"] is not None else "") for p in r["points"]]
        cells += [""] * (n - len(cells))
        end = r["points"][-1]
        lines.append(f"| {r['arm']} | {r['seed']} | {r['steps_per_s']:.2f} | {end['images']:,} | "
                     f"{' | '.join(cells)} | {end['recall']:.3f} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=str(SHARED_DATA), help="the shared data folder (mnist/, fashion_mnist/)")
    p.add_argument("--out", default="runs/bench-pggan", help="where runs and results go (default runs/bench-pggan)")
    p.add_argument("--minutes", type=float, default=7.0, help="training wall-clock per run (default 7)")
    p.add_argument("--points", type=int, default=5, help="measurements per run, evenly spaced (default 5)")
    p.add_argument("--phase-kimg", type=float, default=0.8,
                   help="grown arm: thousands of images per resolution alone and per fade-in (default 0.8)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--context", nargs="*", default=["dcgan", "wgan-gp"], help="unjudged context models, one seed")
    p.add_argument("--data", default="mnist", choices=[*SUBDIR, "digits"],
                   help="mnist (train10k), fashion-mnist, or the built-in digits (quick checks)")
    p.add_argument("--eval-n", type=int, default=2000)
    p.add_argument("--ema-beta", type=float, default=0.95,
                   help="pggan arms' EMA of G per step (default 0.95: a 20-step lag for runs of a few hundred steps)")
    p.add_argument("--size", type=int, default=32, help="image size, the fixed arm's resolution (default 32)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="a config override for every run, after the script's own (repeatable)")
    a = p.parse_args()
    spec = "digits" if a.data == "digits" else f"{a.data}:{Path(a.root) / SUBDIR[a.data]}"

    results = []
    for arm, model, overrides, seeds in arms(a):
        for seed in seeds:
            r = run_arm(arm, model, overrides, seed, a, spec)
            results.append(r)
            print(f"{arm:7} seed {seed}  {r['steps']:6d} steps ({r['steps_per_s']:.2f}/s)  FD "
                  + "  ".join(f"{p['fd']:.2f}@{p['seconds']:.0f}s" for p in r["points"]), flush=True)
    title = f"# PGGAN grown vs fixed resolution, {a.data} {a.size}x{a.size}, {a.minutes:g} min per run"
    lines = [title, "", *table(results), "", *(f"- {line}" for line in judge(results))]
    print("\n".join(lines))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pggan_mnist.json").write_text(json.dumps({"settings": vars(a), "runs": results}, indent=2) + "\n")
    (out / "pggan_mnist.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    run_main(main)
