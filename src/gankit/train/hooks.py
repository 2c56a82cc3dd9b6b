"""What happens around the training step: progress, stats, sample grids, checkpoints.

A hook sees the trainer after each step (`step`), at each logging point with the interval's mean values (`log`),
and at the start and end. Hooks never touch the models' maths.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..images import grid, save_png, scatter
from .trainer import Hook

__all__ = ["Checkpoints", "Evaluation", "Hook", "ProgressBar", "SampleGrids", "StatsFile", "drop_rows_after"]


class ProgressBar(Hook):
    """tqdm bar with step, ETA and images per second; losses shown at each logging point."""

    def start(self, tr):
        self.bar = tqdm(total=tr.cfg.train.steps, initial=tr.step, desc=tr.cfg.model.name, unit="step",
                        dynamic_ncols=True, file=sys.stderr, smoothing=0.1)

    def step(self, tr):
        self.bar.update(1)

    def log(self, tr, values):
        shown = {k: f"{v:.3g}" for k, v in values.items() if k != "img_per_s"}
        shown["img/s"] = f"{values['img_per_s']:.0f}"
        self.bar.set_postfix(shown, refresh=False)

    def end(self, tr, status):
        self.bar.close()


class StatsFile(Hook):
    """stats.jsonl (one JSON object per logging point) and TensorBoard scalars. On resume, rows past the
    checkpoint's step are dropped so the record matches the weights."""

    def __init__(self, run_dir: Path, tensorboard: bool):
        self.path = run_dir / "stats.jsonl"
        self.tb_dir = run_dir / "tb"
        self.tensorboard = tensorboard
        self.writer = None

    def start(self, tr):
        drop_rows_after(self.path, tr.step)
        self.file = open(self.path, "a")
        if self.tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # slow import: only when asked for

            self.writer = SummaryWriter(str(self.tb_dir), purge_step=tr.step + 1 if tr.step else None)

    def log(self, tr, values):
        row = {"step": tr.step, "time": round(time.time(), 3), **{k: round(v, 6) for k, v in values.items()}}
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, v, tr.step)

    def end(self, tr, status):
        self.file.close()
        if self.writer is not None:
            self.writer.close()

    def rewind(self, tr):
        self.end(tr, "rewound")
        self.start(tr)


def drop_rows_after(path: Path, step: int) -> None:
    """Keep the JSON-lines rows of steps <= `step`: on resume, the record must match the restored weights."""
    if path.exists():
        kept = [line for line in path.read_text().splitlines() if line.strip() and _row_step(line) <= step]
        path.write_text("".join(line + "\n" for line in kept))


def _row_step(line: str) -> int:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return 1 << 62  # unreadable rows (a line cut by a crash) are dropped too


class SampleGrids(Hook):
    """A grid from the same noise every `every` steps: samples/step_XXXXXXXX.png and samples/latest.png."""

    def __init__(self, run_dir: Path, every: int, n: int, seed: int):
        self.dir = run_dir / "samples"
        self.every, self.n, self.seed = every, n, seed

    def start(self, tr):
        self.dir.mkdir(exist_ok=True)
        if tr.step == 0:
            self.save(tr)

    def step(self, tr):
        if tr.step % self.every == 0:
            self.save(tr)

    def end(self, tr, status):
        if tr.step % self.every != 0:
            self.save(tr)

    def save(self, tr):
        if not tr.model.info.is_image:
            picture = scatter(tr.fixed_samples(self.n, self.seed)[0], tr.dataset)
        else:
            images, nrow = tr.fixed_samples(self.n, self.seed)
            picture = grid(images, nrow=nrow)
        save_png(picture, self.dir / f"step_{tr.step:08d}.png")
        save_png(picture, self.dir / "latest.png")


class Evaluation(Hook):
    """Metrics every `every` steps into metrics.jsonl and TensorBoard, so a loss curve can be set against sample
    quality. `make_evaluator(data_cfg, model, progress)` builds the evaluator once, at the first evaluation (whoever
    builds the hooks gives it: gankit.evaluate.make_evaluator). Rows past the resumed step are dropped, as for
    stats.jsonl."""

    def __init__(self, run_dir: Path, every: int, n: int, seed: int, make_evaluator: Callable[..., Any]):
        self.path = run_dir / "metrics.jsonl"
        self.every, self.n, self.seed = every, n, seed
        self.make_evaluator = make_evaluator
        self.evaluator = None

    def start(self, tr):
        drop_rows_after(self.path, tr.step)

    def rewind(self, tr):
        drop_rows_after(self.path, tr.step)

    def step(self, tr):
        if tr.step % self.every:
            return
        if self.evaluator is None:
            self.evaluator = self.make_evaluator(tr.cfg.data, tr.model, progress=False)
        G = tr.ema.copy if tr.ema else None
        metrics = self.evaluator(tr.model, n=self.n, seed=self.seed, G=G)
        row = {"step": tr.step, **{k: v for k, v in metrics.items() if not isinstance(v, list)}}
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        writer = next((h.writer for h in tr.hooks if isinstance(h, StatsFile)), None)
        if writer is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    writer.add_scalar(f"eval/{k}", v, tr.step)


class Checkpoints(Hook):
    def __init__(self, every: int):
        self.every = every

    def step(self, tr):
        if tr.step % self.every == 0:
            tr.save_checkpoint()

    def end(self, tr, status):
        if status != "failed" and tr.last_checkpoint_step != tr.step:
            tr.save_checkpoint()

