"""A benchmark script's entry point, kept apart from common.py so that scripts which keep torch out of their parent
process (speed.py times fresh child processes) can use it too."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def run_main(main: Callable[[], int | None]) -> None:
    """Run a script's main(). gankit's own errors (a bad `--set` key, a data folder that is not there) end it the way
    they end the `gankit` command: one line on stderr and exit code 2, no traceback. Anything else is a bug in the
    script and keeps its traceback."""
    try:
        code = main()
    except Exception as e:
        from gankit.errors import GankitError  # here, not above: importing gankit imports torch

        if not isinstance(e, GankitError):
            raise
        print(f"{Path(sys.argv[0]).name}: error: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)
