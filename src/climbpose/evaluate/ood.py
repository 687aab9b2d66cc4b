"""The held-out-domain ("ood") test set: preprocessed videos of a domain no training video comes from.

The `ood` stage writes them to OOD_DIR in the format of data/preprocessed. Like validation and test,
each video gives its largest set of windows that share no frame
(docs/design.md#windows-and-the-split), so every usable frame counts at most once; the windows are
rows of a split file (`climbpose.data.dataset.format_split_rows`) and can be scored by the same code
as the test split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from climbpose.core.checks import DataError
from climbpose.data.dataset import FrameStore, load_frame_store
from climbpose.data.windows import disjoint_windows
from climbpose.core.io import data_files

__all__ = ["OOD_DIR", "load_ood_store", "ood_rows"]

OOD_DIR = Path("data/ood/preprocessed")


def load_ood_store(directory: str | Path, keys: tuple[str, ...]) -> FrameStore:
    """The held-out-domain frames (with their `usable` flags); a missing or empty folder is a one-line DataError."""
    if not data_files(directory, "*.npz"):
        raise DataError(f"{directory}: no held-out-domain .npz files; the evaluate stage scores that test set (run the ood stage)")
    return load_frame_store(directory, keys=tuple(dict.fromkeys((*keys, "usable"))))


def ood_rows(store: FrameStore, window: int, step: int) -> np.ndarray:
    """(video index, start, step) rows: every video's largest set of disjoint windows of `window`
    usable frames, `step` frames apart. Raises DataError when no video has a single window."""
    usable = store.arrays["usable"]
    rows = [(v, int(start), step) for v in range(len(store.names))
            for start in disjoint_windows(usable[store.offsets[v]:store.offsets[v + 1]], window, step)]
    if not rows:
        raise DataError(f"held-out-domain videos ({', '.join(store.names)}): no window of {window} usable frames "
                        f"{step} apart in any of them")
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)
