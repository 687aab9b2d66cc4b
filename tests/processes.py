"""Child processes as a terminal would start them, whatever started the test run."""

from __future__ import annotations

import signal


def terminal_sigint() -> None:
    """A `preexec_fn`: SIGINT back to its default in the child. A test run started in the background
    without job control (nohup, `cmd &` in a script) passes SIGINT on as ignored, and a child that
    ignores it cannot show what Ctrl-C does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
