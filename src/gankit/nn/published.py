"""Published weights that exist only as torch.save (pickle) files: read once, safely, into a safetensors cache.

This is the one torch.load in gankit (tests/nn/test_efficientnet.py keeps it so): weights_only=True, so the restricted
unpickler builds tensors and plain containers and runs no code; the state dict is checked against the architecture
before anything is cached; every later call reads only the safetensors copy, whose metadata keeps the source's
SHA-256 so a changed source is converted again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..outputs import write_atomically
from ..safetensors_io import check_header, read_tensors, write_tensors


def read_state_dict(source: Path) -> dict[str, torch.Tensor]:
    """A file of tensors by name, through torch.load(weights_only=True)."""
    try:
        state = torch.load(source, weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any failure of the restricted unpickler means an unusable file
        raise CheckpointError(f"{source}: cannot read as a weights-only state dict: {str(e).splitlines()[0]}"
                              ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{source}: not a state dict of tensors")
    return dict(state)


def cached_weights(source: Path, digest: str, cache: Path,
                   fit: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]],
                   metadata: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """The state dict of `source` (SHA-256 `digest`), from `cache` when it was made from this very file, else read
    with `read_state_dict`, passed through `fit` (checks it against the architecture, raising CheckpointError, and
    returns what to store) and written to `cache` atomically first."""
    if cache.is_file():
        try:
            fresh = check_header(cache).get("__metadata__", {}).get("source_sha256") == digest
        except CheckpointError:
            fresh = False  # a damaged cache is rebuilt from the source
        if fresh:
            return read_tensors(cache)
    try:
        fitted = fit(read_state_dict(source))
    except CheckpointError as e:
        raise CheckpointError(f"{source}: {e}") from None
    tensors = {k: v.contiguous() for k, v in fitted.items()}
    write_atomically(cache, lambda tmp: write_tensors(tmp, tensors, metadata={
        "source": source.name, "source_sha256": digest, **(metadata or {})}))
    return read_tensors(cache)
