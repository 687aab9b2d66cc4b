"""The preprocessed videos held as flat frame arrays, and windows as indices into them.

Every video's frames are concatenated once; a window is then a row of flat frame indices.
Training gathers windows by index (on the GPU when there is one) instead of copying samples.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLIT_SETS = ("train", "val", "test")


@dataclass(frozen=True)
class FrameStore:
    """All preprocessed frames of all videos, concatenated in video-name order."""

    names: tuple[str, ...]
    offsets: np.ndarray  # (V + 1,) first flat frame of each video, then the total
    arrays: dict[str, np.ndarray]  # each (N_frames, ...)

    @property
    def frames(self) -> int:
        return int(self.offsets[-1])


def load_frame_store(directory: str | Path, keys: tuple[str, ...]) -> FrameStore:
    """Read the given arrays of every `*.npz` in `directory` (sorted by name) into one store."""
    files = sorted(Path(directory).glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"{directory}: no preprocessed .npz files")
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    lengths = []
    for path in files:
        with np.load(path) as data:
            for key in keys:
                parts[key].append(data[key])
            lengths.append(len(data[keys[0]]))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    arrays = {key: np.concatenate(chunks) for key, chunks in parts.items()}
    return FrameStore(tuple(p.stem for p in files), offsets, arrays)


def format_split_rows(names: tuple[str, ...], rows: np.ndarray) -> str:
    """Format split rows (video index, start, step) as CSV text with video names."""
    lines = ["video,start,step"] + [f"{names[v]},{start},{step}" for v, start, step in rows.tolist()]
    return "\n".join(lines) + "\n"


def read_split_rows(path: str | Path, names: tuple[str, ...]) -> np.ndarray:
    """Read a split CSV back into (video index, start, step) rows for the given video names."""
    index = {name: i for i, name in enumerate(names)}
    with open(path, newline="") as handle:
        rows = [(index[r["video"]], int(r["start"]), int(r["step"])) for r in csv.DictReader(handle)]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def window_frame_indices(rows: np.ndarray, offsets: np.ndarray, window: int) -> np.ndarray:
    """(N, window) flat frame indices of split rows (video index, start, step)."""
    video, start, step = rows[:, 0], rows[:, 1], rows[:, 2]
    return offsets[video][:, None] + start[:, None] + step[:, None] * np.arange(window)[None, :]
