"""The error every user-fixable problem of `climbpose predict` becomes: one line naming the file."""

from __future__ import annotations

from climbpose.core.errors import InputError


class PredictError(InputError):
    """A problem the user can fix (missing or unreadable file, bad option); one line, names the file."""


def first_line(error: BaseException) -> str:
    """An exception's message cut to its first line (or its type's name when it has none), so that
    a library's multi-line error still fits the command's one-line message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
