"""Trained models in and out of files: the model-folder format (config.json + model.safetensors), loading from a
model folder, a run folder or a checkpoint, building a system from its config, and the device to run it on."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch

from . import __version__
from .config import RunConfig, drop_retired, resolve_config, to_dict
from .data.info import DataInfo
from .data.stream import mix
from .errors import ArgumentError, CheckpointError, ConfigError, GankitError
from .models import GANModel
from .outputs import check_folder
from .registry import MODELS
from .safetensors_io import read_tensors, write_tensors
from .train import checkpoint
from .trained import Model

MODEL_FORMAT = "gankit-model"
MODEL_FORMAT_VERSION = 1


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.split(":")[0] not in ("cpu", "cuda", "mps"):
        raise ArgumentError("device", f"'{name}' is unknown; valid: auto, cpu, cuda, mps")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ArgumentError("device", f"{name}: no CUDA GPU is visible to this torch build; use cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ArgumentError("device", "mps: Apple's MPS backend is not available here; use cpu")
    return torch.device(name)


def build_model(cfg: RunConfig, info: DataInfo, device: torch.device) -> GANModel:
    try:
        model = MODELS.get(cfg.model.name)(cfg.model, info, init_seed=mix(cfg.train.seed, 0))
    except (RuntimeError, MemoryError) as e:  # e.g. model.base_channels=9554: tens of gigabytes of weights
        if isinstance(e, MemoryError) or "allocate" in str(e):
            need = re.search(r"allocate (\d+) bytes", str(e))
            size = f" ({int(need.group(1)) / 2**30:.1f} GiB for one tensor)" if need else ""
            raise ConfigError(f"{cfg.model.name} as configured does not fit in memory{size}; use smaller "
                              "model.base_channels / widths / z_dim") from None
        raise
    model.noise.manual_seed(mix(cfg.train.seed, 5))
    return model.to_device(device)


def _model_from_checkpoint(ckpt: checkpoint.Checkpoint) -> GANModel:
    cfg = resolve_config(drop_retired(ckpt.state["config"])[0])
    info = DataInfo.from_dict(ckpt.state["data_info"])
    model = build_model(cfg, info, torch.device("cpu"))
    try:
        model.load_state_dict(ckpt.state["model"])
        if ckpt.state.get("ema"):  # sampling uses the averaged generator when the run kept one
            getattr(model, model.ema_target).load_state_dict(ckpt.state["ema"])
    except RuntimeError as e:
        raise CheckpointError(f"{ckpt.path}: weights do not fit the model: {str(e).splitlines()[0]}") from None
    model.trained_steps = ckpt.step
    return model


def load(path: str | Path, device: str = "cpu") -> Model:
    """A trained model, ready to use (`model.sample(n)`), from a model folder, a run folder or a checkpoint."""
    path = Path(path)
    if (path / "config.json").is_file():
        model = _load_model_dir(path)
    elif (path / "checkpoints").is_dir():
        model = _model_from_checkpoint(checkpoint.latest(path / "checkpoints")[0])
    elif (path / checkpoint.STATE).is_file():
        model = _model_from_checkpoint(checkpoint.read(path))
    else:
        raise GankitError(f"{path} is not a gankit model folder (config.json), run folder (checkpoints/) "
                          "or checkpoint (state.json)")
    return Model(model.to_device(pick_device(device)).eval())


def _load_model_dir(path: Path) -> GANModel:
    try:
        meta = json.loads((path / "config.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path / 'config.json'}: not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{path / 'config.json'}: not a gankit model folder (no \"format\": \"{MODEL_FORMAT}\")")
    if meta.get("format_version") != MODEL_FORMAT_VERSION:
        raise CheckpointError(f"{path / 'config.json'}: model format version {meta.get('format_version')} "
                              f"is not {MODEL_FORMAT_VERSION}")
    try:
        cfg = resolve_config(drop_retired({"model": meta["model"], "train": {"seed": 0}})[0])
        info = DataInfo.from_dict(meta["data"])
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{path / 'config.json'}: missing or malformed entry {e}") from None
    model = build_model(cfg, info, torch.device("cpu"))
    tensors = read_tensors(path / "model.safetensors")
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{path / 'model.safetensors'}: weights do not fit the model: "
                              f"{str(e).splitlines()[0]}") from None
    model.trained_steps = int(meta.get("trained_steps", 0))
    return model


def export(run_dir: str | Path, out: str | Path) -> Path:
    """Write a self-describing model folder (config.json + model.safetensors) from a run's newest checkpoint."""
    run_dir = Path(run_dir)
    out = check_folder(out, empty=True)
    model = load(run_dir)
    meta = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "gankit_version": __version__,
        "model": to_dict(model.cfg),
        "data": to_dict(model.info),
        "trained_steps": model.trained_steps,
        "source_run": str(run_dir),
    }
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_tensors(tmp / "model.safetensors", model.state_dict())
    (tmp / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    if out.exists():
        out.rmdir()
    os.rename(tmp, out)
    return out
