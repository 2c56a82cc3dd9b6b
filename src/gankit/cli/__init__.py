"""The command line: parse (parsers.py), call the library (commands.py), turn user errors into one line and exit
code 2."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import parsers
from .commands import COMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    parser = parsers.parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help or a usage error: argparse has printed it; callers get the code
        return e.code if isinstance(e.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    from .. import models  # noqa: F401  (registers the systems)
    from ..errors import GankitError

    if args.command in ("translate", "upscale", "refine"):
        _return_freed_memory()
    try:
        return COMMANDS[args.command](args)
    except GankitError as e:
        print(f"gankit {args.command}: error: {_worded(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # the machine's side (a file that went away, a full disk, a permission): one line
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"gankit {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gankit list | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        _leave_process_group()


# The library's argument names that the CLI spells differently.
FLAGS = {"target": "a target (--attrs, --domain or --all-domains)", "run_dir": "the run folder"}
# The command that serves each task.
TASK_COMMANDS = {"sample": "sample", "translate": "translate", "encode": "encode", "explore": "explore",
                 "score": "score", "classify": "classify", "upscale": "upscale", "refine": "refine"}


def _worded(e: Exception) -> str:
    """A library error in the CLI's words: arguments as flags, and for a job the model does not do, the systems
    that do it."""
    from ..errors import ArgumentError, TaskError

    if isinstance(e, ArgumentError):
        return f"{FLAGS.get(e.name, '--' + e.name.replace('_', '-'))} {e.problem}"
    if isinstance(e, TaskError):
        from ..registry import MODELS

        serving = [name for name in MODELS.names() if e.task in MODELS.get(name).tasks]
        return f"{e}; 'gankit {TASK_COMMANDS[e.task]}' serves {', '.join(serving)}" if serving else str(e)
    return str(e)


def _return_freed_memory() -> None:
    """glibc serves allocations of up to 32 MB from its heap once a buffer that large has been freed, and a heap
    fragmented by image tiles of changing sizes is not given back: a 12-megapixel translation peaked at 1.45 GB
    instead of 0.98 GB. A fixed threshold of 4 MB keeps tile-sized buffers in their own mappings, returned when
    freed. For the commands that run networks over big images only: training reuses
    same-size buffers every step and gains nothing."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").mallopt(-3, 4 * 1024 * 1024)  # M_MMAP_THRESHOLD
        except (OSError, AttributeError):  # not glibc (musl, ...): nothing to set
            pass


def _leave_process_group() -> None:
    """Under torchrun: leave the process group cleanly (PyTorch warns at exit otherwise)."""
    if "torch" in sys.modules:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def program(argv: Sequence[str] | None = None) -> NoReturn:
    """The `gankit` executable: main(), then exit with its code.

    A process that was part of a torchrun group ends with os._exit once everything is written. Why: in this
    PyTorch, destroy_process_group does not free a gloo group once the optimizer's lazy imports have run (they
    keep a reference in C++), so the group's worker threads are still alive when the interpreter finalizes; a
    worker that releases its last finished all-reduce then needs the GIL of a dying interpreter and aborts the
    process (SIGABRT, "terminate called without an active exception": one resume in 13-30 in loops here). Every
    file is closed by then (the hooks' end) and the streams are flushed here, so skipping finalization loses
    nothing."""
    code = main(argv)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)

