"""What a trained model is used for, one file per job: sample, translate, encode (with explore), score, classify,
upscale, refine.

Each file holds the protocol a system implements for that job (structural: the methods it must have), the
tensor-level function the Python API calls, the files-in/files-out runner the CLI calls, and that job's evaluator.
A system declares its jobs in `tasks` (models/base.py); models never import this package.
"""

from __future__ import annotations

import importlib

from ..errors import TaskError

# task -> (module, protocol class name)
PROTOCOLS = {"sample": ("sample", "Sampler"), "translate": ("translate", "Translator"),
             "encode": ("encode", "Encoder"), "explore": ("encode", "Explorer"), "score": ("score", "Scorer"),
             "classify": ("classify", "Classifier"), "upscale": ("upscale", "Upscaler"),
             "refine": ("refine", "Refiner")}


def system_of(model):
    """The system behind a `gankit.load` Model (trained.py), or the system itself: protocol checks look at the
    system's class (from Python 3.12 `isinstance` with a protocol does not see a wrapper's forwarded attributes)."""
    return getattr(model, "system", model)


def require(model, task: str) -> None:
    """A TaskError unless `model` declares `task`."""
    if task not in model.tasks:
        raise TaskError(model.cfg.name, task, model.tasks)


def protocol(task: str) -> type:
    """The protocol class a system declaring `task` implements."""
    module, name = PROTOCOLS[task]
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
