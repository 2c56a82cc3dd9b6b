"""What the benchmark scripts share."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

import gankit
from gankit.errors import GankitError
from gankit.metrics.classifier import SmallCNN, cache_dir, cached_classifier, handwriting_variation, train_classifier
from gankit.train import checkpoint
from gankit.train.hooks import Hook

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def run_main(main: Callable[[], int | None]) -> None:
    """A script's entry point. gankit's own errors (a bad `--set` key, a data folder that is not there) end it the
    way they end the `gankit` command: one line on stderr and exit code 2, no traceback. Anything else is a bug in
    the script and keeps its traceback. main's return value is the exit code."""
    try:
        code = main()
    except GankitError as e:
        print(f"{Path(sys.argv[0]).name}: error: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)


def parser(doc: str, steps: int, out: str, seed: bool = True) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring's first line as the description, and the options all of them have
    (training steps, the shared data folder, the output folder, and the seed where the script uses one)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--steps", type=int, default=steps, help=f"training steps (default {steps})")
    if seed:
        p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root", default=str(SHARED_DATA), help="the shared data folder (mnist/, fashion_mnist/)")
    p.add_argument("--out", default=out, help=f"where runs and results go (default {out})")
    return p


def add_overrides(p: argparse.ArgumentParser, applies_to: str = "the run") -> None:
    """`--set SECTION.KEY=VALUE` (`a.set`), repeatable: config overrides as `gankit train --set` takes them, applied
    after the script's own settings (a later override of the same key wins)."""
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help=f"a config override for {applies_to}, after the script's own (repeatable)")


def shown_overrides(overrides: list[str]) -> str:
    """The overrides as a result's heading gives them, so a printed table says which variant it measured."""
    return "".join(f" --set {o}" for o in overrides)


def train_or_resume(model: str, spec: str, overrides: list[str], steps: int, run_dir: Path, seed: int = 0,
                    progress: bool = True) -> int | None:
    """Train `model` into run_dir, or continue the run already there up to `steps` (a benchmark stopped half way
    picks up where it was). Returns the whole seconds this call spent training, or None when the run had already
    finished and is only evaluated again, so the caller does not report an evaluation call's time as training
    time (`trained_for` says which)."""
    t0 = time.perf_counter()
    if not (run_dir / "checkpoints").is_dir():
        run = gankit.train(model, spec, overrides=overrides, steps=steps, out=run_dir, seed=seed, progress=progress)
    elif gankit.load(run_dir).trained_steps < steps:
        run = gankit.resume(run_dir, steps=steps, progress=progress)
    else:
        return None
    if run.status != "finished":  # stopped (Ctrl-C, SIGTERM): a half-trained model is not what the numbers are for
        sys.exit(f"{run_dir}: training stopped at step {run.step}; run the same command again to continue")
    return round(time.perf_counter() - t0)


class WallClock(Hook):
    """Ends a run after `seconds` of training: the trainer finishes that step and the run ends as finished, with its
    final checkpoint. `at(tr, elapsed)` runs after every step (a subclass stores snapshots there); its own time is
    not counted as training. `elapsed`: the training seconds so far."""

    def __init__(self, seconds: float):
        self.seconds, self.elapsed, self.paused = seconds, 0.0, 0.0

    def start(self, tr) -> None:
        self.t0, self.paused = time.perf_counter(), 0.0

    def step(self, tr) -> None:
        self.elapsed = time.perf_counter() - self.t0 - self.paused
        t = time.perf_counter()
        self.at(tr, self.elapsed)
        self.paused += time.perf_counter() - t
        if self.elapsed >= self.seconds:
            tr.cfg.train.steps = tr.step  # the budget is spent: the run ends at this step

    def at(self, tr, elapsed: float) -> None:
        pass


def trained_for(seconds: int | None) -> str:
    """What a result line says about training time: this call's seconds, or that an earlier call trained."""
    return "trained before this call" if seconds is None else f"{seconds} s"


# How a judge of digits is trained, by name: `plain` sees the training digits moved by up to two pixels (the
# classifier's default), `varied` sees them redrawn as other writers and pens might have drawn them (random slant,
# scale, shear, stroke width and blur: `handwriting_variation`). Values are train_classifier keyword arguments.
JUDGES = {"plain": {}, "varied": {"augment": handwriting_variation}}


def judge_key(judge: str) -> dict:
    """What a judge's training adds to its cache key: nothing for `plain` (so judges cached before there was a
    choice still match), the augmentation's function name otherwise."""
    return {name: f.__name__ for name, f in JUDGES[judge].items()}


def cached_judge(benchmark: str, name: str, key: dict, x_train: torch.Tensor, y_train: torch.Tensor,
                 x_test: torch.Tensor, y_test: torch.Tensor, num_classes: int, judge: str = "plain",
                 **fit) -> tuple[SmallCNN, float]:
    """A benchmark's judge (gankit's small CNN, `fit` and the `judge` training of JUDGES passed to train_classifier)
    is a function of its data, labels, seed and steps, which `key` names, and of its training, which judge_key adds:
    trained once (minutes on one core) and kept in gankit's cache, so evaluating another run is not spent training
    the same judge again."""
    fit = {**fit, **JUDGES[judge]}
    ident = json.dumps({"v": 1, "judge": name, **key, **judge_key(judge)})
    path = cache_dir() / "classifiers" / f"{benchmark}-judge-{name}-{hashlib.sha256(ident.encode()).hexdigest()[:12]}"
    return cached_classifier(path, x_train.shape[1], num_classes, x_train.shape[-1],
                             lambda: train_classifier(x_train, y_train, x_test, y_test, num_classes, progress=False,
                                                      **fit), {"judge": json.loads(ident)})


def over_checkpoints(run_dir: Path, final_step: int, final, measure, since: int = 0) -> dict:
    """`measure(model)` at every checkpoint the run kept from step `since` on, by step, oldest first (is the last
    step still gaining?); the final checkpoint's value is `final`, already measured, so it is not measured twice."""
    values = {}
    for path in reversed(checkpoint.candidates(run_dir / "checkpoints")):
        step = int(path.name.removeprefix("step_"))
        if step >= since:
            values[step] = final if step == final_step else measure(gankit.load(path))
    return values
