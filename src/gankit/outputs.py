"""Where a command writes. Each command checks its output location before it does any work, so a wrong --out costs
one line, not a traceback after minutes of work. Files are written under a temporary name in the same folder and
renamed at the end, so a failure half-way (a full disk, a permission changed) leaves nothing under the final name.

The checks create nothing: whether a folder can be written in is probed by making (and removing) a temporary file
in the nearest folder that exists, which also catches what permission bits do not say (a read-only mount, /proc,
root's writes).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import ArgumentError


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists() or parent.is_symlink():
            return parent
    return Path(".")


def _writable_folder(flag: str, path: Path, folder: Path, need_bytes: int) -> None:
    if not folder.is_dir():
        raise ArgumentError(flag, f"{path}: {folder} is a file, so nothing can be created below it; choose another "
                                  "path")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ArgumentError(flag, f"{path}: cannot write in {folder} ({e.strerror or e}); choose a folder you can "
                                  "write to") from None
    if need_bytes:
        free = shutil.disk_usage(folder).free
        if free < need_bytes:
            raise ArgumentError(flag, f"{path}: {folder} has {free / 1e6:.0f} MB free, and this needs about "
                                      f"{need_bytes / 1e6:.0f} MB; free some space or choose another folder")


def check_file(path: str | Path, flag: str = "out", need_bytes: int = 0) -> Path:
    """`path` can be written as a file: it is not a folder, and the folder it goes in exists or can be made and can
    be written in (with `need_bytes` free)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ArgumentError(flag, f"{path} is a folder; give a file name (e.g. {path / 'out.png'})")
    _writable_folder(flag, path, _nearest_existing(path.parent), need_bytes)
    return path


def check_folder(path: str | Path, flag: str = "out", need_bytes: int = 0, empty: bool = False) -> Path:
    """`path` can be an output folder: not a file, and it exists (empty, if `empty`) or can be made, and can be
    written in (with `need_bytes` free)."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ArgumentError(flag, f"{path} is a file, and this writes a folder; choose a folder name")
    if empty and path.is_dir() and any(path.iterdir()):
        raise ArgumentError(flag, f"{path} exists and is not empty; choose another folder")
    _writable_folder(flag, path, _nearest_existing(path), need_bytes)
    return path


def write_atomically(path: str | Path, write: Callable[[Path], None]) -> Path:
    """`write(tmp)` writes the file at a temporary path in the same folder; it is then renamed to `path`. On any
    failure the temporary file is removed and nothing is left under `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
