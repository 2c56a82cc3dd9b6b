"""Training from Python, which `gankit train` and `gankit resume` mirror: train, resume."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import RunConfig, drop_retired, load_yaml, resolve_config
from .data import load_dataset
from .data.stream import mix
from .errors import ConfigError, GankitError
from .evaluate import make_evaluator
from .modelio import build_model, pick_device
from .models import GANModel
from .outputs import check_folder
from .registry import MODELS
from .runtime import distributed
from .runtime.distributed import Dist
from .train import checkpoint
from .train.hooks import Checkpoints, Evaluation, Hook, ProgressBar, SampleGrids, StatsFile
from .train.trainer import Trainer, seed_everything
from .trained import Model


@dataclass
class Run:
    run_dir: Path
    status: str  # finished | interrupted
    step: int
    model: Model
    seconds: float

    @property
    def resume_command(self) -> str:
        return f"gankit resume {self.run_dir}"


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(f"gankit: {message}", file=sys.stderr)


def _new_run_dir(root: Path, cfg: RunConfig) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d+)-", p.name))]
    data_name = re.sub(r"[^A-Za-z0-9_-]+", "_", cfg.data.spec.split(":")[0])
    return root / f"{max(numbers, default=0) + 1:03d}-{cfg.model.name}-{data_name}"


def _hooks(cfg: RunConfig, run_dir: Path, progress: bool, extra: Sequence[Hook], dist: Dist) -> list[Hook]:
    if not dist.main:  # other processes only join the collective parts of checkpointing
        return [Checkpoints(cfg.train.checkpoint_every)]
    t = cfg.train
    hooks: list[Hook] = [ProgressBar()] if progress else []
    hooks += [StatsFile(run_dir, t.tensorboard), SampleGrids(run_dir, t.sample_every, t.n_samples,
                                                              mix(t.seed, 4))]
    if t.eval_every:
        hooks.append(Evaluation(run_dir, t.eval_every, t.eval_n, mix(t.seed, 9), make_evaluator))
    hooks += list(extra)
    hooks.append(Checkpoints(t.checkpoint_every))  # it records the state the other hooks left
    hooks.append(Report(run_dir))  # after the last checkpoint, which it reads
    return hooks


class Report(Hook):
    """report.html (gankit report) at the end of every run, stopped or finished. A page that cannot be written is
    said in one line; the run's own files are already safe."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir

    def end(self, tr, status):
        from .report import write_report

        try:
            write_report(self.run_dir)
        except (OSError, GankitError) as e:
            print(f"gankit: report.html not written: {e}", file=sys.stderr)


def checkpoint_bytes(cfg: RunConfig, model: GANModel) -> int:
    """About what a run's checkpoints take on disk at their peak: the weights, two Adam moments and an EMA copy
    per parameter, for the kept checkpoints and the one being written."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return 4 * weights * (cfg.train.keep_checkpoints + 1)


def check_runnable(cfg: RunConfig, model: GANModel, n_images: int, dist: Dist = distributed.SINGLE) -> None:
    """Settings that are each valid but cannot train together (on `n_images` training images): fail before
    anything is written."""
    model.check(cfg.train, n_images)
    local_batch = cfg.train.batch_size // dist.world
    # Batch norm over vectors (MLPs) has one value per feature and sample; image batch norm also pools over
    # pixels, so pix2pix's batch 1 works (its 1x1 bottleneck is unnormalised for that reason).
    if local_batch < 2 and any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules()):
        raise ConfigError(f"{cfg.model.name} uses batch norm on vectors, which needs at least 2 samples per batch"
                          f"{' and process' if dist.active else ''}; got {local_batch} (train.batch_size)")


def _prepare(cfg: RunConfig, dist: Dist) -> tuple[Any, GANModel, torch.device]:
    """Dataset and model, built (and so validated) before anything is written."""
    device = distributed.device_for(dist, pick_device(cfg.train.device))
    if cfg.train.batch_size % dist.world:
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} (the global batch) must be divisible by "
                          f"the {dist.world} processes")
    if cfg.train.sync_bn and dist.active and device.type != "cuda":
        raise ConfigError("train.sync_bn needs GPUs (PyTorch's SyncBatchNorm has no CPU implementation)")
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    dataset = load_dataset(cfg.data)
    seed_everything(cfg.train.seed, dist.rank)
    model = build_model(cfg, dataset.info, device)
    check_runnable(cfg, model, len(dataset), dist)
    return dataset, model, device


def _run(cfg: RunConfig, run_dir: Path, state: dict[str, Any] | None, progress: bool, hooks: Sequence[Hook],
         prepared: tuple[Any, GANModel, torch.device], dist: Dist) -> Run:
    dataset, model, device = prepared
    progress = progress and dist.main
    trainer = Trainer(cfg, run_dir, model, dataset, device, _hooks(cfg, run_dir, progress, hooks, dist), dist)
    if state is not None:
        trainer.load_state(state)
    info = dataset.info
    where = f"{device} x {dist.world} processes" if dist.active else str(device)
    _say(progress, f"{cfg.model.name} on {cfg.data.spec} ({len(dataset)} images, {info.img_size}x{info.img_size}"
                   f"x{info.img_channels}) on {where}, step {trainer.step} -> {cfg.train.steps}; run: {run_dir}")
    t0 = time.perf_counter()
    status = trainer.fit()
    seconds = time.perf_counter() - t0
    if status == "interrupted":
        _say(progress, f"stopped at step {trainer.step}, checkpoint saved; resume with: gankit resume {run_dir}")
    else:
        _say(progress, f"done: step {trainer.step} in {seconds:.0f} s; samples: {run_dir / 'samples' / 'latest.png'}")
    # The model handed back is the one `gankit.load(run_dir)` gives: the averaged generator where the run kept one,
    # and the standard layout (NHWC was a speed choice for training), so both compute the same, bit for bit.
    if trainer.ema:
        getattr(model, model.ema_target).load_state_dict(trainer.ema.state_dict())
    model.to(memory_format=torch.contiguous_format).eval()
    return Run(run_dir=run_dir, status=status, step=trainer.step, model=Model(model), seconds=seconds)


def train(model: str = "dcgan", data: str | None = None, *, config: str | Path | Mapping | None = None,
          overrides: Sequence[str] = (), steps: int | None = None, batch_size: int | None = None,
          out: str | Path | None = None, device: str | None = None, seed: int | None = None,
          hooks: Sequence[Hook] = (), progress: bool = True) -> Run:
    """Train `model` on `data` (a spec such as 'digits', 'mnist:DIR', 'folder:DIR') and return the Run.

    Config precedence: the model's paper defaults < `config` (YAML path or dict) < `overrides`
    ('section.key=value') < the explicit keyword arguments.
    """
    tree: dict[str, Any] = {}
    if config is not None:
        tree = dict(config) if isinstance(config, Mapping) else load_yaml(config)
    model_tree = dict(tree.get("model") or {})
    if model_tree.get("name") not in (None, model):
        raise ConfigError(f"the config file is for model '{model_tree['name']}', not '{model}'")
    MODELS.get(model)  # unknown names fail here, with the valid ones listed
    model_tree["name"] = model
    tree["model"] = model_tree
    explicit = [f"data.spec={data}" if data is not None else None,
                f"train.steps={steps}" if steps is not None else None,
                f"train.batch_size={batch_size}" if batch_size is not None else None,
                f"train.device={device}" if device is not None else None,
                f"train.seed={seed}" if seed is not None else None]
    cfg = resolve_config(tree, [*overrides, *(e for e in explicit if e)])
    dist = distributed.from_env()
    if dist.main:  # before any work: a run folder that cannot be written is one line, not a traceback later
        check_folder(out if out is not None else "runs")
    prepared = _prepare(cfg, dist)  # bad data or a bad model setting fails here, before a run folder is made
    if dist.main:
        check_folder(out if out is not None else "runs", need_bytes=checkpoint_bytes(cfg, prepared[1]))
    # Rank 0 picks the folder (numbering it is a race otherwise) and tells the others, errors included.
    decision: tuple[str, str] = ("", "")
    if dist.main:
        run_dir = Path(out) if out is not None else _new_run_dir(Path("runs"), cfg)
        if checkpoint.candidates(run_dir / "checkpoints"):
            decision = ("error", f"{run_dir} already holds a run: continue it with 'gankit resume {run_dir}' or "
                                 "choose another --out")
        elif run_dir.is_dir() and any(run_dir.iterdir()) and not (run_dir / "config.yaml").is_file():
            decision = ("error", f"--out {run_dir} holds other files; choose a new or empty folder for the run")
        else:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text(cfg.to_yaml())
            decision = ("ok", str(run_dir))
    kind, value = dist.broadcast_object(decision)
    if kind == "error":
        raise GankitError(value)
    return _run(cfg, Path(value), None, progress, hooks, prepared, dist)


def resume(run_dir: str | Path, steps: int | None = None, *, hooks: Sequence[Hook] = (), progress: bool = True
           ) -> Run:
    """Continue a run from its newest good checkpoint (falling back past damaged ones) up to `steps`.

    A run stopped before its first checkpoint starts over from its config.yaml (from step 0 is exactly where it
    was); a run whose checkpoints are all damaged is an error, never silently restarted."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GankitError(f"{run_dir} is not a run folder")
    dist = distributed.from_env()
    if dist.main:
        check_folder(run_dir, flag="run_dir")
    if not checkpoint.candidates(run_dir / "checkpoints") and (run_dir / "config.yaml").is_file():
        tree = _saved_config(load_yaml(run_dir / "config.yaml"), progress and dist.main)
        cfg = resolve_config(tree, [f"train.steps={steps}"] if steps is not None else [])
        _say(progress and dist.main, f"{run_dir} stopped before its first checkpoint: starting it over from step 0")
        return _run(cfg, run_dir, None, progress, hooks, _prepare(cfg, dist), dist)
    ckpt, problems = checkpoint.latest(run_dir / "checkpoints")
    if dist.main:
        for problem in problems:
            _say(True, f"skipping a damaged checkpoint: {problem}")
        for bad in checkpoint.candidates(run_dir / "checkpoints"):
            if int(bad.name[5:]) > ckpt.step:  # keep it for inspection, out of the way of pruning and resuming
                os.rename(bad, bad.with_name(f".damaged-{bad.name}-{int(time.time())}"))
        if problems:
            _say(True, f"resuming from {ckpt.path}")
    dist.barrier()
    tree = _saved_config(ckpt.state["config"], progress and dist.main)
    if steps is not None:
        tree = {**tree, "train": {**tree["train"], "steps": steps}}
    cfg = resolve_config(tree)
    if cfg.train.steps <= ckpt.step:
        raise GankitError(f"{run_dir} is already at step {ckpt.step}; pass --steps N with N > {ckpt.step} "
                          "to train further")
    prepared = _prepare(cfg, dist)
    if dist.main:
        (run_dir / "config.yaml").write_text(cfg.to_yaml())
    return _run(cfg, run_dir, ckpt.state, progress, hooks, prepared, dist)


def _saved_config(tree: dict[str, Any], say: bool) -> dict[str, Any]:
    """A run's saved config, without keys its system has retired since (each one said, as the run now trains
    without it)."""
    tree, dropped = drop_retired(tree)
    for line in dropped:
        _say(say, line)
    return tree


