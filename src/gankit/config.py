"""Typed configs: dataclasses with the papers' defaults, YAML round trips, dotted `--set` overrides.

A run's config has three sections: `model` (the system's own dataclass, chosen by `model.name`), `data` and
`train`. Every value is type-checked on the way in and every unknown key is rejected with the valid ones
listed, so a typo fails before any training starts instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from .errors import ConfigError, did_you_mean
from .registry import MODELS


def _fail_if(bad: bool, message: str) -> None:
    if bad:
        raise ConfigError(message)


# ---------------------------------------------------------------------------------------------- typing


def _check_value(tp: Any, value: Any, where: str) -> Any:
    """Return `value` converted to `tp`, or raise ConfigError naming `where`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"'{where}' must be a mapping of keys, got {value!r}")
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_value(arg, value, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"'{where}' has an invalid value {value!r}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(map(str, args))
            raise ConfigError(
                f"'{where}' must be one of {choices}, got {value!r}{did_you_mean(value, map(str, args))}"
            )
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{where}' must be a list, got {value!r}")
        item_tp = args[0] if args else Any
        return origin(_check_value(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"'{where}' must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"'{where}' must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads '2e-4' (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ConfigError(f"'{where}' must be a finite number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"'{where}' must be a string, got {value!r}")
    raise TypeError(f"config type {tp!r} at '{where}' is not supported")


def from_dict(cls: type, data: Mapping[str, Any], where: str = "") -> Any:
    """Build dataclass `cls` from a mapping; unknown keys and ill-typed values raise ConfigError."""
    hints = typing.get_type_hints(cls)
    valid = {f.name: f for f in fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key in getattr(cls, "retired", {}):
            raise ConfigError(f"'{path}' is no longer a setting: {cls.retired[key]}")
        if key not in valid:
            section = f"'{where}'" if where else "the config"
            raise ConfigError(
                f"unknown config key '{path}'{did_you_mean(str(key), valid)}; "
                f"valid keys in {section}: {', '.join(sorted(valid))}"
            )
        kwargs[key] = _check_value(hints[key], value, path)
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain dict (lists, not tuples) that YAML and JSON can write."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return plain(cfg)


# ------------------------------------------------------------------------------------------- sections



def cache_dir() -> Path:
    """Where gankit keeps what it makes once and reuses (yardstick classifiers, converted weights, rendered data):
    $GANKIT_CACHE, default ~/.cache/gankit."""
    return Path(os.environ.get("GANKIT_CACHE", Path.home() / ".cache" / "gankit")).expanduser()

@dataclass
class ModelConfig:
    """Base of every system's config. Subclasses add the paper's hyper-parameters with its defaults."""

    name: str = ""
    # Train-section defaults that belong to the paper (e.g. its batch size); user values override them.
    train_defaults: ClassVar[dict[str, Any]] = {}
    # The dataset trained on when none is given ("" : data.spec's own default, digits).
    default_data: ClassVar[str] = ""
    # Allowed ranges, (low, high, kind) with kind "[]" (inclusive), "(]" (low excluded), "[)" (high excluded);
    # None: unbounded. Collected over the class hierarchy, so a subclass adds its own fields' ranges.
    limits: ClassVar[dict[str, tuple[float | None, float | None, str]]] = {}
    # Keys this system no longer has -> what replaced them. Setting one is an error that says so; a saved model or
    # run that still carries one loads without it (drop_retired), so models trained before the change keep working.
    retired: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        merged: dict[str, tuple[float | None, float | None, str]] = {}
        for cls in reversed(type(self).__mro__):
            merged.update(vars(cls).get("limits", {}))
        for key, (low, high, kind) in merged.items():
            value = getattr(self, key, None)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            ok = math.isfinite(value)
            if ok and low is not None:
                ok = value > low if kind[0] == "(" else value >= low
            if ok and high is not None:
                ok = value < high if kind[1] == ")" else value <= high
            if not ok:
                lo = "-inf" if low is None else f"{low:g}"
                hi = "inf" if high is None else f"{high:g}"
                raise ConfigError(f"'model.{key}' must be in {kind[0]}{lo}, {hi}{kind[1]}, got {value}")


@dataclass
class DataConfig:
    spec: str = "digits"  # digits | mnist[:DIR] | fashion-mnist[:DIR] | folder:DIR | paired:DIR | unpaired:DIR | ...
    img_size: int | None = None  # None: the dataset's default (32 for the built-in sets, 64 for folders)
    channels: int | None = None  # 1 (grayscale) or 3 (RGB); None: the dataset's own
    fit: Literal["resize", "pad", "box"] = "resize"  # fixed-size sets: resize to img_size, zero-pad (28 -> 32),
    # or crop each image to its ink's bounding box and fit that to the frame (light-on-dark digits)
    load_size: int | None = None  # folders: images resized to this (see `resize`) before cropping img_size
    resize: Literal["shorter", "width", "square"] = "shorter"  # shorter side, or width, to load_size keeping the
    # aspect ratio; or squash to load_size x load_size (the pix2pix code's resize_and_crop)
    crop: Literal["center", "random"] | None = None  # None: the dataset's default (random for translation data)
    flip: bool | None = None  # random horizontal flips; None: the dataset's default (never for digits: a
    # mirrored 3 is not a digit; on for the translation folders, as in the pix2pix/CycleGAN papers)
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # translation data: which domain is the input
    in_channels: int | None = None  # translation data: channels of the input domain (None: from its files)
    split: Literal["train", "test", "all"] = "train"
    workers: int = 0  # DataLoader worker processes for folders (0: decode in the training process)
    # Labelled sets: classes left out of the data (anomaly detection trains on "normal" classes only), and
    # semi-supervised training: keep the labels of only this many images per class (0: all labels).
    exclude_classes: list[int] = field(default_factory=list)
    labels_per_class: int = 0
    # Multi-domain data (StarGAN): attributes to use from an attribute table (empty: all), groups of mutually
    # exclusive ones (one-of-N, e.g. hair colours), the table's file (default: found in the folder), and a second
    # dataset with its own labels (the mask vector).
    attrs: list[str] = field(default_factory=list)
    attr_groups: list[list[str]] = field(default_factory=list)
    attr_file: str = ""
    second: str = ""
    sr_scale: int = 4  # super-resolution data (sr:DIR, cbsd68): the input is this many times smaller
    # Refinement (SimGAN): the spec of the unlabelled real images the synthetic ones (data.spec) should come to look
    # like; brought to the synthetic images' size and channels, and its labels, if it has any, are never read.
    real: str = ""

    def __post_init__(self) -> None:
        _fail_if(self.img_size is not None and self.img_size < 4, "'data.img_size' must be at least 4")
        _fail_if(self.channels not in (None, 1, 3), "'data.channels' must be 1 or 3")
        _fail_if(self.in_channels not in (None, 1, 3), "'data.in_channels' must be 1 or 3")
        _fail_if(self.load_size is not None and self.load_size < 1, "'data.load_size' must be positive")
        _fail_if(self.workers < 0, "'data.workers' must be 0 or more")
        _fail_if(self.sr_scale not in (2, 4), "'data.sr_scale' must be 2 or 4")
        _fail_if(self.labels_per_class < 0, "'data.labels_per_class' must be 0 (all labels) or more")
        _fail_if(any(c < 0 for c in self.exclude_classes), "'data.exclude_classes' lists class indices (0, 1, ...)")


@dataclass
class TrainConfig:
    steps: int = 10_000
    batch_size: int = 64
    seed: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    deterministic: bool = True  # deterministic kernels: makes CPU runs bit-exact and resumable exactly
    log_every: int = 50  # steps between stats.jsonl / TensorBoard rows (losses are read back only then)
    sample_every: int = 500  # steps between fixed-noise sample grids in samples/
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3  # older ones are deleted only after a newer one is written and verified
    ema_beta: float = 0.0  # 0 turns the EMA copy of G off; 0.999 is a common choice
    n_samples: int = 64  # images in each sample grid
    tensorboard: bool = True
    lr_decay: Literal["none", "linear"] = "none"  # linear: every learning rate falls to 0 at the last step
    lr_decay_start: float = 0.5  # ... starting at this fraction of train.steps (pix2pix/CycleGAN: half)
    eval_every: int = 0  # steps between `gankit evaluate` metrics in metrics.jsonl (0: never)
    eval_n: int = 2000  # samples per periodic evaluation
    # Speed (docs/speed.md). precision: autocast dtype for the training step (fp16 adds gradient scalers).
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    # NHWC memory layout for conv nets and their batches. auto: on where it measured faster (docs/speed.md): on the
    # CPU for image models without instance norm; off on GPUs (not measured there yet) and for vector data.
    channels_last: bool | Literal["auto"] = "auto"
    compile: bool = False  # torch.compile the networks (falls back to eager with a warning where it cannot)
    sync_bn: bool = False  # under torchrun on GPUs: batch-norm statistics over the global batch
    # A NaN/Inf loss or weight: roll back to the last good checkpoint with the learning rates scaled by
    # rollback_lr_factor, at most max_rollbacks times, then stop; or stop at once (divergence=stop).
    divergence: Literal["rollback", "stop"] = "rollback"
    max_rollbacks: int = 3
    rollback_lr_factor: float = 0.5

    def __post_init__(self) -> None:
        _fail_if(not 0.0 <= self.lr_decay_start < 1.0, "'train.lr_decay_start' must be in [0, 1)")
        _fail_if(self.eval_every < 0, "'train.eval_every' must be 0 (off) or more")
        for key in ("steps", "eval_n", "batch_size", "log_every", "sample_every", "checkpoint_every",
                    "keep_checkpoints", "n_samples"):
            _fail_if(getattr(self, key) < 1, f"'train.{key}' must be at least 1, got {getattr(self, key)}")
        _fail_if(not 0.0 <= self.ema_beta < 1.0, "'train.ema_beta' must be in [0, 1)")
        _fail_if(self.seed < 0, "'train.seed' must be 0 or more")
        _fail_if(self.max_rollbacks < 0, "'train.max_rollbacks' must be 0 or more")
        _fail_if(not 0.0 < self.rollback_lr_factor <= 1.0, "'train.rollback_lr_factor' must be in (0, 1]")


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_yaml(self) -> str:
        return yaml.safe_dump(to_dict(self), sort_keys=False)


# ---------------------------------------------------------------------------------------- resolution


def set_dotted(tree: dict[str, Any], assignment: str) -> None:
    """Apply one `a.b=value` override to a nested dict; the value is read as YAML (1e-4, true, [1, 2])."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    _fail_if(not sep or not key, f"override '{assignment}' must look like section.key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    parts = key.split(".")
    node = tree
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"'{'.'.join(parts[: depth + 1])}' is a value, not a section (in '{assignment}')")
        node = child
    node[parts[-1]] = value


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively lay `extra` over `base` (both plain dicts)."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if tree is None:
        return {}
    _fail_if(not isinstance(tree, dict), f"{path} must hold a mapping with model/data/train sections")
    return tree


def default_config(model_name: str) -> RunConfig:
    """The full default config of a system: its paper's model and train defaults."""
    return resolve_config({"model": {"name": model_name}})


def drop_retired(tree: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A saved config (a model's or a run's) without the model keys its system has since retired, and a line on
    each one dropped."""
    model_tree = dict(tree.get("model") or {})
    retired = MODELS.get(str(model_tree.get("name"))).Config.retired if model_tree.get("name") else {}
    dropped = [f"model.{key} is no longer a setting, ignored: {retired[key]}" for key in model_tree if key in retired]
    for key in retired:
        model_tree.pop(key, None)
    return {**tree, "model": model_tree}, dropped


def resolve_config(tree: Mapping[str, Any], overrides: Sequence[str] = ()) -> RunConfig:
    """Defaults <- `tree` (e.g. a YAML file) <- dotted overrides, type-checked into a RunConfig."""
    tree = merge({"model": {}, "data": {}, "train": {}}, tree)
    for assignment in overrides:
        set_dotted(tree, assignment)
    unknown_sections = set(tree) - {"model", "data", "train"}
    if unknown_sections:
        bad = sorted(unknown_sections)[0]
        raise ConfigError(
            f"unknown config section '{bad}'{did_you_mean(bad, ['model', 'data', 'train'])}; "
            "valid: data, model, train"
        )
    model_tree = tree.get("model") or {}
    _fail_if(not isinstance(model_tree, Mapping), "'model' must be a mapping of keys")
    name = model_tree.get("name")
    _fail_if(not name, "the config does not say which model to train (model.name)")
    model_cls = MODELS.get(str(name))
    config_cls = model_cls.Config
    train_tree = tree.get("train") or {}
    _fail_if(not isinstance(train_tree, Mapping), "'train' must be a mapping of keys")
    train_tree = merge(dict(config_cls.train_defaults), train_tree)
    model_cfg = _check_value(config_cls, model_tree, "model")
    data_tree = tree.get("data") or {}
    if config_cls.default_data and isinstance(data_tree, Mapping) and "spec" not in data_tree:
        data_tree = {**data_tree, "spec": config_cls.default_data}
    data_cfg = _check_value(DataConfig, data_tree, "data")
    train_cfg = _check_value(TrainConfig, train_tree, "train")
    return RunConfig(model=model_cfg, data=data_cfg, train=train_cfg)
