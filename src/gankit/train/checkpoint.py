"""Checkpoints that survive crashes: safetensors for tensors, JSON for everything else, written atomically.

A checkpoint is a folder `checkpoints/step_00001000/` with `tensors.safetensors` and `state.json`. It is built in
a hidden temporary folder, every file fsynced, read back and verified, and only then renamed into place; the
state file records the tensor file's SHA-256, so a damaged checkpoint is detected on load. Older checkpoints are
removed only after a newer one is complete, so the last good one is never lost.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from ..safetensors_io import fsync_path, read_tensors, sha256_of, write_tensors

FORMAT = "gankit-checkpoint"
VERSION = 1
TENSORS = "tensors.safetensors"
STATE = "state.json"


# --------------------------------------------------------- nested state <-> (JSON tree, flat tensors)


def split_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested structure by a reference into `tensors`; keep the rest JSON-able.
    Dicts with non-string keys (optimizer state is keyed by int) and tuples are tagged so they come back as
    they were."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: split_tensors(v, f"{prefix}/{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[k, split_tensors(v, f"{prefix}/{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [split_tensors(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [split_tensors(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix} in a checkpoint")


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__items__" in obj:
            return {k: join_tensors(v, tensors) for k, v in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(join_tensors(v, tensors) for v in obj["__tuple__"])
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


# ------------------------------------------------------------------------------------- files on disk


def step_dir_name(step: int) -> str:
    return f"step_{step:08d}"


@dataclass
class Checkpoint:
    path: Path
    step: int
    state: dict[str, Any]  # the JSON part, tensors already joined back in
    tensors: dict[str, torch.Tensor]


def write(root: Path, step: int, state: dict[str, Any]) -> Path:
    """Write `state` (a nested structure of tensors and JSON values) as checkpoint `step` under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    tmp = root / f".tmp-{step_dir_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        tensors: dict[str, torch.Tensor] = {}
        tree = split_tensors(state, "", tensors)
        write_tensors(tmp / TENSORS, tensors)
        meta = {"format": FORMAT, "version": VERSION, "step": step,
                "tensors_sha256": sha256_of(tmp / TENSORS), "state": tree}
        with open(tmp / STATE, "w") as f:
            json.dump(meta, f)
            f.flush()
            os.fsync(f.fileno())
        fsync_path(tmp)
        read(tmp)  # verify: what is on disk parses and matches its hash before it may replace anything
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a half-written checkpoint must not take the space it lacked
        raise
    if final.exists():  # re-saving a step (e.g. interrupted right after a periodic save): swap, then drop
        old = root / f".old-{step_dir_name(step)}-{os.getpid()}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)
    fsync_path(root)
    return final


def read(path: Path) -> Checkpoint:
    """Load and verify one checkpoint folder; every problem is a CheckpointError naming the file."""
    path = Path(path)
    state_file, tensor_file = path / STATE, path / TENSORS
    for f in (state_file, tensor_file):
        if not f.is_file():
            raise CheckpointError(f"{f}: missing")
    try:
        meta = json.loads(state_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{state_file}: damaged JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{state_file}: not a gankit checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{state_file}: checkpoint format version {meta.get('version')} is not {VERSION}")
    if sha256_of(tensor_file) != meta.get("tensors_sha256"):
        raise CheckpointError(f"{tensor_file}: contents do not match the hash in {STATE} (damaged file)")
    tensors = read_tensors(tensor_file)
    try:
        state = join_tensors(meta["state"], tensors)
    except KeyError as e:
        raise CheckpointError(f"{tensor_file}: tensor {e} named in {STATE} is missing") from None
    return Checkpoint(path=path, step=int(meta["step"]), state=state, tensors=tensors)


def candidates(root: Path) -> list[Path]:
    """Complete checkpoint folders under `root`, newest first (temporary ones are never candidates)."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("step_") and p.name[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[5:]), reverse=True)


def latest(root: Path) -> tuple[Checkpoint, list[str]]:
    """The newest checkpoint that verifies, and one line for each newer one that did not."""
    problems = []
    for path in candidates(root):
        try:
            return read(path), problems
        except CheckpointError as e:
            problems.append(str(e))
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise CheckpointError(f"no usable checkpoint in {root}{detail}")


def prune(root: Path, keep: int) -> None:
    """Remove all but the newest `keep` checkpoints, and temporary folders left by a killed writer."""
    for path in candidates(root)[keep:]:
        shutil.rmtree(path, ignore_errors=True)
    for path in root.glob(".tmp-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in root.glob(".old-*"):
        shutil.rmtree(path, ignore_errors=True)
