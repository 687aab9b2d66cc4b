"""Atomic output: a killed or failing stage leaves either the old complete output or none.

Files go to a hidden temporary name beside their target and are renamed onto it when complete
(`atomic_path`); a stage that writes a folder of files fills a hidden temporary folder that takes
the folder's place only when the stage has written everything (`atomic_dir`). Renames within one
file system are atomic, so no reader, and no later `dvc repro`, ever sees half an output.
Temporaries are removed on any exception, including the SystemExit that `errors.run_stage` turns
SIGTERM into; only a hard kill (SIGKILL, power loss) leaves them, hidden (names start with '.'),
and `data_files` and the next `atomic_dir` of the same folder skip or remove them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


PARTIAL = ".partial-"  # marks the temporary folders of atomic_dir: .<name>.partial-XXXX


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty hidden folder beside `path`; on success it replaces `path` whole.

    On an exception the temporary folder is deleted and `path` is left as it was. Between the
    two renames of the swap a crash leaves no `path` at all, never a mix of old and new files.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}{PARTIAL}*"):  # left by a hard kill of an earlier run
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}{PARTIAL}", dir=path.parent))
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it owner-only; outputs are ordinary folders
        if path.exists() or path.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}{PARTIAL}old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def data_files(directory: str | os.PathLike, pattern: str) -> list[Path]:
    """Files of `directory` matching `pattern`, sorted, without hidden ones ('.'-names): those are
    temporaries of an interrupted atomic write or macOS's '._' companions, never data."""
    return sorted(p for p in Path(directory).glob(pattern) if p.is_file() and not p.name.startswith("."))


def save_npz(path: str | os.PathLike, compressed: bool = True, **arrays: np.ndarray) -> None:
    """Write arrays to an .npz file atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically, pretty-printed and newline-terminated."""
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
