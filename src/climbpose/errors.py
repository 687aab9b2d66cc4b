"""User-facing errors and the wrapper that turns them into one line and a non-zero exit.

Anything the user can fix (a bad params.yaml, an unreadable video, a malformed annotation or
heatmap file) raises a subclass of `InputError` whose message names the file and the problem.
Stage scripts run through `run_stage`, which prints such an error as one line on stderr and
exits with status 1; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Callable


class InputError(ValueError):
    """Bad input the user can fix; the message is one line naming the file and the problem."""


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main(); an InputError becomes 'error: <message>' and exit status 1."""
    try:
        main()
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
