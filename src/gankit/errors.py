"""Errors a user can fix. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GankitError(Exception):
    """A problem with the user's input (names, values, files), not a bug in gankit.

    Its text is always one line: control characters from user input (a newline in a --set value or a file
    name) are shown escaped, so they cannot break the one-line error or forge extra lines in a terminal."""

    def __str__(self) -> str:
        text = super().__str__()
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ConfigError(GankitError):
    """An unknown key or an ill-typed value in a config, a YAML file or a `--set` override."""


class DataError(GankitError):
    """A dataset that cannot be found, read or used."""


class CheckpointError(GankitError):
    """A checkpoint or model folder that is missing, damaged or not gankit's."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown(kind: str, name: str, choices: Iterable[str]) -> str:
    """The one-line message for an unknown name: what was asked, the closest match, every valid choice."""
    choices = sorted(choices)
    return f"unknown {kind} '{name}'{did_you_mean(name, choices)}; valid: {', '.join(choices)}"


class TrainingError(GankitError):
    """A run stopped for a reason the user can act on (divergence, a full disk); its checkpoints are intact."""


# What each job is called in a sentence ("dcgan does not translate images").
TASK_VERBS = {"sample": "draw samples", "translate": "translate images", "encode": "encode images",
              "explore": "have named latent codes to explore", "score": "score anomalies",
              "classify": "classify images", "upscale": "upscale images",
              "refine": "refine images"}


class TaskError(GankitError):
    """A model was asked for a job it does not declare (`model.tasks`). Callers that know which systems do that
    job (the CLI) add it."""

    def __init__(self, model: str, task: str, tasks: Iterable[str] = ()):
        self.model, self.task, self.tasks = model, task, tuple(tasks)
        can = f" (it can: {', '.join(self.tasks)})" if self.tasks else ""
        super().__init__(f"{model} does not {TASK_VERBS.get(task, task)}{can}")


class ArgumentError(GankitError):
    """A bad value for a named argument of a library call. Its text names the argument as the Python API spells it
    (`label`); the CLI words it with its flag (`--label`)."""

    def __init__(self, name: str, problem: str):
        self.name, self.problem = name, problem
        super().__init__(f"{name} {problem}")
