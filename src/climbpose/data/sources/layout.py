"""Moving keypoints of another layout onto the project's 25 (docs/design.md#keypoints), by keypoint name.

Every importer ends here: a dataset's rows are named (COCO's 17, Penn Action's 13, a labelling
tool's own list), each name is looked up in a mapping and then in the project's own names, and
the project keypoints nothing maps to stay missing: NaN coordinates, never zeros (a zero would be
a real point in the image's corner and would be trained on and scored).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from climbpose.data.sources import SourceError
from climbpose.core.keypoints import INDEX, K

# COCO's person keypoints, in COCO's order (also BRACE's and most labelling tools' default).
COCO17: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)


def layout_indices(names: Sequence[str], mapping: Mapping[str, str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Which source rows feed which project keypoints.

    A name maps through `mapping` when it is a key there ('' drops it), else to the project
    keypoint of the same name, else it is dropped (COCO's eyes, for instance). Returns source row
    indices, the project indices they fill, and the dropped names. Raises ValueError when two
    names land on the same project keypoint.
    """
    mapping = mapping or {}
    src, dst, dropped = [], [], []
    for i, name in enumerate(names):
        target = mapping.get(name, name)
        if target in INDEX:
            src.append(i)
            dst.append(INDEX[target])
        else:
            dropped.append(name)
    if len(set(dst)) != len(dst):
        twice = sorted({n for n, d in zip([names[i] for i in src], dst) if dst.count(d) > 1})
        raise SourceError(f"keypoint names {twice} map onto the same project keypoint; fix the keypoint map")
    return np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64), dropped


def to_project_layout(values: np.ndarray, names: Sequence[str], mapping: Mapping[str, str] | None = None) -> np.ndarray:
    """(..., J, 3) x, y, visible in the layout `names` -> (..., 25, 3) float32 in the project's.

    Project keypoints without a source row get NaN x, y and visible 0.
    """
    values = np.asarray(values, dtype=np.float32)
    if values.shape[-2] != len(names) or values.shape[-1] != 3:
        raise SourceError(f"keypoints of shape {values.shape} do not match {len(names)} names with x, y, visible")
    src, dst, _ = layout_indices(names, mapping)
    out = missing_keypoints(values.shape[:-2])
    out[..., dst, :] = values[..., src, :]
    return out


def missing_keypoints(shape: tuple[int, ...]) -> np.ndarray:
    """An all-missing (..., 25, 3) array: NaN x, y and visible 0."""
    out = np.full((*shape, K, 3), np.nan, dtype=np.float32)
    out[..., 2] = 0.0
    return out


def mark_missing(keypoints: np.ndarray, annotated: np.ndarray) -> np.ndarray:
    """Set the keypoints where `annotated` is False to missing (NaN x, y, visible 0), in place."""
    keypoints[~annotated, :2] = np.nan
    keypoints[~annotated, 2] = 0.0
    return keypoints
