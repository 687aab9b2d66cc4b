"""User-facing errors and the wrapper that turns them into one line and a non-zero exit.

Anything the user can fix (a bad params.yaml, an unreadable video, a malformed annotation or
heatmap file, a training run that diverged or ran out of memory) raises a subclass of
`InputError` whose message names the file (or parameter) and the problem. Stage scripts run
through `run_stage`, which prints such an error as one line on stderr and exits with status 1;
any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import signal
import sys
from typing import Callable


class InputError(ValueError):
    """Bad input the user can fix; the message is one line naming the file and the problem."""


def _terminated(signum: int, frame: object) -> None:
    # SIGTERM (what `kill`, DVC's queue and job schedulers send) would end Python without
    # unwinding; as an exception it runs every `finally`, so atomic writes remove their
    # temporaries (climbpose.core.io) before the process exits with the usual 128 + 15.
    raise SystemExit(128 + signum)


def stage_arguments(argv: list[str], doc: str) -> bool:
    """A stage takes no arguments (params.yaml is its input): True to run it; for --help / -h, print
    `doc` (what the stage reads and writes) and return False; anything else is an InputError."""
    if not argv:
        return True
    if argv in (["--help"], ["-h"]):
        print(doc.strip())
        return False
    raise InputError(f"unexpected argument {' '.join(argv)!r}: a stage takes no arguments; set params.yaml "
                     "(or `dvc exp run -S key=value`) and run it through `dvc repro`; --help says what it reads and writes")


def run_stage(main: Callable[[], None], doc: str = "") -> None:
    """Run a stage's main(); an InputError becomes 'error: <message>' and exit status 1.

    `--help` prints the stage's `doc` and exits 0 without doing anything. While main() runs,
    SIGTERM unwinds like Ctrl-C does, so an interrupted stage leaves its old outputs or none,
    never a half-written one.
    """
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        if stage_arguments(sys.argv[1:], doc or "(no description)"):
            main()
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
