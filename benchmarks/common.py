"""What the benchmark scripts share."""

from __future__ import annotations

from pathlib import Path

import gankit


def train_or_resume(model: str, spec: str, overrides: list[str], steps: int, run_dir: Path, seed: int = 0,
                    progress: bool = True) -> None:
    """Train `model` into run_dir, or continue the run already there up to `steps` (a benchmark stopped half way
    picks up where it was; one that finished is only evaluated again)."""
    if not (run_dir / "checkpoints").is_dir():
        gankit.train(model, spec, overrides=overrides, steps=steps, out=run_dir, seed=seed, progress=progress)
    elif gankit.load(run_dir).trained_steps < steps:
        gankit.resume(run_dir, steps=steps, progress=progress)
