"""Resuming killed work: what identifies a piece of work, and a folder of the parts already done.

Training resumes from its per-epoch checkpoint (`train.checkpoint`), extraction from its per-video
files (`estimator.extract`). Both are keyed by a `fingerprint` of everything that defines the work,
the code it runs included, so leftovers of other settings or older code are never reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from climbpose.core.io import write_json

def fingerprint(config: dict[str, Any], files: list[Path], code: list[Path]) -> str:
    """SHA-256 of a JSON-able config, the bytes of the given data files and of the source files
    `code` (the work's import closure, `climbpose.core.imports`).

    The code is part of it: after a fix to what the work runs, an old checkpoint must not be
    resumed; an edit anywhere else in the package keeps it.
    """
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for path in [*sorted(files), *sorted(code)]:
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def source_identity(path: str | os.PathLike) -> list:
    """Name, size and modification time: enough to notice a replaced input on the same machine."""
    stat = os.stat(path)
    return [Path(path).name, stat.st_size, stat.st_mtime_ns]


class PartsDir:
    """`<root>/<fingerprint>`: the finished parts of one piece of work, each a file plus a note
    saying which input it came from. Opening it removes the parts of any other fingerprint."""

    def __init__(self, root: str | os.PathLike, key: str) -> None:
        self.root = Path(root)
        self.path = self.root / key[:16]
        if self.root.is_dir():
            for other in self.root.iterdir():
                if other != self.path:
                    shutil.rmtree(other) if other.is_dir() else other.unlink()
        self.path.mkdir(parents=True, exist_ok=True)

    def _note(self, part: Path) -> Path:
        return self.path / f"{part.name}.done.json"

    def finished(self, part: Path, source: str | os.PathLike) -> dict[str, Any] | None:
        """The record saved with `part` when it was made from this same `source`, else None."""
        note = self._note(part)
        if not (part.is_file() and note.is_file()):
            return None
        saved = json.loads(note.read_text())
        return saved["record"] if saved.get("source") == source_identity(source) else None

    def mark_finished(self, part: Path, source: str | os.PathLike, record: dict[str, Any]) -> None:
        """Note that `part` (already written) is complete; written after it, so a kill in between
        only costs that part again."""
        write_json(self._note(part), {"source": source_identity(source), "record": record})

    def remove(self) -> None:
        """Drop every part: the work is complete and its output is elsewhere."""
        shutil.rmtree(self.root, ignore_errors=True)
