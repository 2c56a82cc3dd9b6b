"""Reading and writing tensors as safetensors, with the checks a file from elsewhere deserves.

safetensors never unpickles; on top of that the header is checked before anything is allocated, so a file
that claims a multi-gigabyte header, or is not safetensors at all (a renamed pickle), is refused in one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import CheckpointError

MAX_HEADER_BYTES = 100 * 1024 * 1024


def check_header(path: Path) -> dict:
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{path}: not a safetensors file ({size} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES or n > size - 8:
                if head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or head[:2] == b"PK":
                    raise CheckpointError(
                        f"{path}: is a pickle/zip (torch.save) file, not safetensors; gankit never unpickles "
                        "files because they can run code")
                raise CheckpointError(f"{path}: not a safetensors file (header length {n} for a {size}-byte file)")
            header = json.loads(f.read(n))
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: damaged safetensors header") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: damaged safetensors header")
    return header


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    check_header(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: damaged safetensors data: {str(e).splitlines()[0]}") from None


def write_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
                  ) -> None:
    """Write and fsync. Tensors are made contiguous CPU copies; shared storage is split (safetensors needs it)."""
    cpu = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    save_file(cpu, str(path), metadata=metadata)
    fsync_path(path)


def fsync_path(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks: checkpoints' tensors, the one imported weights file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
