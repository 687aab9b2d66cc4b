"""The preprocessed videos held as flat frame arrays, and windows as indices into them.

Every video's frames are concatenated once; a window is then a row of flat frame indices.
Training gathers windows by index (on the GPU when there is one) instead of copying samples.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from climbpose.core.checks import FLAG, FLOAT, INTEGER, NUMBER, DataError, check_array, check_finite, narrow_floats, read_npz
from climbpose.core.io import data_files
from climbpose.core.keypoints import K

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


# The preprocessed arrays (docs/data-formats.md#data-formats): shape, dtype kind, and whether values must be
# finite. Files are this pipeline's own output, but a store is also what a user may copy around
# or hand-edit, so they are checked like any input.
FRAME_ARRAYS: dict[str, tuple[tuple[int | str, ...], str, bool]] = {
    "inputs": (("T", K, "S", "S"), FLOAT, True),
    "targets": (("T", K, "S", "S"), FLOAT, True),
    "target_cells": (("T", K, 2), INTEGER, False),
    "present": (("T", K), FLAG, False),
    "usable": (("T",), FLAG, False),
    "bboxes": (("T", 4), NUMBER, True),
    "landmark_cells": (("T", K, 2), FLOAT, False),  # NaN where the estimator gave no landmark
    "landmark_scores": (("T", K), NUMBER, True),
}


def load_frame_store(directory: str | Path, keys: tuple[str, ...]) -> FrameStore:
    """Read the given arrays of every `*.npz` in `directory` (sorted by name) into one store.

    Each array is checked against FRAME_ARRAYS; the arrays of one file must agree on T, and
    heatmaps of all files on S. Problems are DataErrors naming the file.
    """
    files = data_files(directory, "*.npz")
    if not files:
        raise DataError(f"{directory}: no preprocessed .npz files (run the preprocess stage)")
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    lengths = []
    shared: dict[str, int] = {}  # S, the same in every file
    for path in files:
        arrays = read_npz(path, keys)
        dims = dict(shared)
        for key in keys:
            spec, kinds, finite = FRAME_ARRAYS[key]
            dims = check_array(path, key, arrays[key], spec, kinds, dims)
            array = narrow_floats(arrays[key])  # training computes in float32 at most
            if finite:
                check_finite(path, key, array)
            parts[key].append(array.astype(bool) if kinds == FLAG else array)
        shared.update({name: size for name, size in dims.items() if name != "T"})
        lengths.append(dims["T"])
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
    try:
        with open(path, newline="") as handle:
            rows = [(index[r["video"]], int(r["start"]), int(r["step"])) for r in csv.DictReader(handle)]
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    except (KeyError, TypeError, ValueError) as error:  # a missing column or video, a non-integer
        raise DataError(f"{path}: malformed split file ({type(error).__name__}: {error}); run the split stage again") from None
    return np.array(rows, dtype=np.int64).reshape(-1, 3)
