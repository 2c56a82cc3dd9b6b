"""`gankit evaluate`: how good is a model at its jobs, in numbers? Each task's evaluator lives in its file in
tasks/; this module picks them by what the model declares and writes the table.

Translators are evaluated on the held-out split (tasks/translate.py). Everything else is measured against the
dataset's Reference (metrics/reference.py): the samples (tasks/sample.py), then, on labelled images other than
Stacked MNIST, the encoder (tasks/encode.py), the classifier (tasks/classify.py) and the anomaly scorer
(tasks/score.py), in that order.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from .config import DataConfig
from .metrics.reference import ImageNetReference, Reference
from .outputs import check_file, write_atomically
from .tasks import classify, encode, refine, sample, score, translate, upscale


class Evaluator:
    """The evaluation of one model's tasks against one dataset; what does not change between calls is kept."""

    def __init__(self, data_cfg: DataConfig, model, progress: bool = True, inception=None):
        info = model.info
        if info.is_image and info.num_classes < 2 and not data_cfg.spec.startswith("stacked-mnist"):
            self.reference = ImageNetReference(data_cfg, info, progress=progress)  # no labels: label-free numbers
        else:
            self.reference = Reference(data_cfg, info, progress=progress)
        self.tasks = model.tasks
        # With the FID Inception net: standard FID/KID/IS against the same real images (metrics/standard.py).
        self.inception = None
        if inception is not None:
            from .config import cache_dir
            from .metrics.standard import InceptionReference

            real = self.reference.real_x  # ImageNetReference keeps [0, 1], Reference [-1, 1]
            real01 = real if isinstance(self.reference, ImageNetReference) else (real + 1) / 2
            self.inception = InceptionReference(inception, real01, cache=cache_dir())

    def __call__(self, model, n: int = 10_000, seed: int = 0, G=None) -> dict[str, Any]:
        with torch.random.fork_rng():
            ref = self.reference
            m = sample.evaluate(model, ref, n, seed, G, inception=self.inception) if "sample" in self.tasks else {}
            if ref.info.is_image and not ref.stacked and isinstance(ref, Reference):
                if "encode" in self.tasks:
                    m.update(encode.evaluate(model, ref, G))
                if "classify" in self.tasks:
                    m.update(classify.evaluate(model, ref))
                if "score" in self.tasks:
                    m.update(score.evaluate(model, ref))
            return m


class UpscaleEvaluator:
    """Super-resolution on the held-out split's whole images (tasks/upscale.py), at most `max_items` of them."""

    def __init__(self, data_cfg: DataConfig, channels: int, max_items: int = 100):
        import dataclasses

        from PIL import Image

        from .data import load_dataset
        from .data.transforms import pil_to_tensor, to_mode

        data = load_dataset(dataclasses.replace(data_cfg, split="test"))
        self.images = []
        for path in data.files[:max_items]:
            with Image.open(path) as img:
                self.images.append(pil_to_tensor(to_mode(img, channels)).float() / 255)

    def __call__(self, model, n: int = 100, seed: int = 0, G=None) -> dict[str, Any]:
        return upscale.evaluate(model, self.images[:n], seed=seed)


class RefineEvaluator:
    """Refinement on the synthetic set's held-out split, measured against the real images (tasks/refine.py)."""

    def __init__(self, data_cfg: DataConfig, model, progress: bool = True, max_items: int = 5000):
        import dataclasses

        from .data import load_dataset, read_batch

        test = load_dataset(dataclasses.replace(data_cfg, real="", split="test", flip=False))
        batch = read_batch(test, torch.arange(min(len(test), max_items)))
        self.x, labels = batch["x"].cpu(), batch.get("label")
        self.labels = None if labels is None else labels.cpu().numpy()
        info = model.info
        real_cfg = dataclasses.replace(data_cfg, spec=data_cfg.real, real="", img_size=info.img_size,
                                       channels=info.img_channels)
        real_info = load_dataset(dataclasses.replace(real_cfg, split="train")).info
        # The real images' labels serve this measurement (a classifier of real images) and nothing else.
        self.reference = Reference(real_cfg, real_info, progress=progress) if real_info.num_classes >= 2 else None

    def __call__(self, model, n: int = 5000, seed: int = 0, G=None) -> dict[str, Any]:
        with torch.random.fork_rng():
            return refine.evaluate(model, self.x[:n], None if self.labels is None else self.labels[:n],
                                   self.reference)


def make_evaluator(data_cfg: DataConfig, model, progress: bool = True, inception=None):
    """A callable `(model, n, seed, G) -> metrics` for the model's tasks on `data_cfg`'s dataset. `inception`: the
    FID Inception net (nn/inception.py), for the standard FID/KID/IS of models that sample images."""
    if inception is not None:
        if not ("sample" in model.tasks and model.info.is_image) or {"translate", "upscale", "refine"} & set(
                model.tasks):
            from .errors import ArgumentError

            raise ArgumentError("inception", f"measures images sampled from noise; {model.cfg.name} on "
                                f"{model.info.name} does not draw them")
        return Evaluator(data_cfg, model, progress=progress, inception=inception)
    if "translate" in model.tasks:
        return translate.make_evaluator(data_cfg, model, progress=progress)
    if "upscale" in model.tasks:
        return UpscaleEvaluator(data_cfg, model.info.img_channels)
    if "refine" in model.tasks:
        return RefineEvaluator(data_cfg, model, progress=progress)
    return Evaluator(data_cfg, model, progress=progress)


def table(metrics: dict[str, Any]) -> str:
    rows = [(k, v) for k, v in metrics.items() if not isinstance(v, list)]
    width = max(len(k) for k, _ in rows)
    fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
    return "\n".join(f"{k:<{width}}  {fmt(v)}" for k, v in rows)


def evaluate(path: str | Path, n: int = 10_000, seed: int = 0, out: str | Path | None = None,
             progress: bool = True, inception: str | Path | None = None, device: str = "cpu") -> dict[str, Any]:
    """Evaluate a run folder's newest checkpoint (or a model folder trained on a built-in dataset). `inception`: the
    published FID Inception weights file, for the standard FID/KID/IS beside gankit's own metrics
    (docs/standard-fid.md). `device` runs the model and the Inception network; the small feature networks of
    gankit's own metrics stay on the CPU."""
    from .config import load_yaml, resolve_config
    from .modelio import load, pick_device

    path = Path(path)
    target = pick_device(device)  # a device this machine lacks is a one-line error before anything slow
    if out is not None:
        out = check_file(out)
    if inception is not None:  # checked (SHA-256) and converted before anything slow
        from .config import cache_dir
        from .nn.inception import fid_inception

        inception = fid_inception(inception, cache_dir()).to(target)
    model = load(path, device=str(target))
    if (path / "config.yaml").is_file():
        tree = {k: v for k, v in load_yaml(path / "config.yaml").items() if k in ("data", "train")}
        data_cfg = resolve_config({"model": {"name": model.cfg.name}, **tree}).data
    else:
        data_cfg = DataConfig(spec=model.info.name, img_size=model.info.img_size or None,
                              channels=model.info.img_channels or None, fit=model.info.fit)
    evaluator = make_evaluator(data_cfg, model, progress=progress, inception=inception)
    metrics = {"step": getattr(model, "trained_steps", None), **evaluator(model, n=n, seed=seed)}
    if out is not None:
        write_atomically(out, lambda tmp: tmp.write_text(json.dumps(metrics, indent=2) + "\n"))
    if progress:
        print(table(metrics), file=sys.stdout)
    return metrics
