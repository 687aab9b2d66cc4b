"""Penn Action (Zhang, Zhu and Derpanis, ICCV 2013) as pretraining keypoint sequences.

Layout as distributed (Penn_Action.tar.gz); only the labels are read, the frames never:

    <penn_action_dir>/labels/0001.mat ... 2326.mat
    <penn_action_dir>/frames/0001/000001.jpg ...      (not needed)

Each .mat file (read with scipy.io.loadmat) holds one video: `x`, `y` (T, 13) joint
coordinates, `visibility` (T, 13), `bbox` (T, 4) x1, y1, x2, y2, `nframes`, `dimensions`
(height, width, T), `action`, `pose` and `train` (1 training, -1 test video). Joints, in order:
head, left/right shoulder, elbow, wrist, hip, knee, ankle. The head becomes the project's nose;
the project's other 12 keypoints (ears, hands, heels, feet) are missing (NaN), so they give no
pretraining loss (docs/design.md#input-noise-and-the-three-experiments).

Coordinates are MATLAB's: 1-based pixels. They are shifted by -1 to the project's 0-based
convention (pixel (1, 1) of MATLAB is pixel (0, 0) here). Joints marked invisible keep their
annotated position with `visible` 0, the project's rule for occluded keypoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from climbpose.core.checks import check_finite
from climbpose.data.sources import SourceError
from climbpose.data.sources.layout import to_project_layout
from climbpose.core.io import data_files

PENN_JOINTS: tuple[str, ...] = (
    "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
PENN_TO_PROJECT = {"head": "nose"}  # the other 12 share the project's names


@dataclass
class PennActionVideo:
    name: str
    keypoints: np.ndarray  # (T, 25, 3) float32, 0-based pixels, NaN where Penn Action has no joint
    bboxes: np.ndarray  # (T, 4) float32 x1, y1, x2, y2, 0-based; NaN rows where the file has none
    action: str
    train: bool  # Penn Action's own training/test flag


def _matrix(mat: dict, key: str, path: Path) -> np.ndarray:
    if key not in mat:
        raise SourceError(f"{path}: no '{key}' field; not a Penn Action label file")
    return np.atleast_2d(np.asarray(mat[key], dtype=np.float64))


def load_video(path: str | Path) -> PennActionVideo:
    """One label file -> keypoints in the project's layout and pixel convention."""
    from scipy.io import loadmat  # only pretraining on Penn Action needs scipy's MATLAB reader

    path = Path(path)
    try:
        mat = loadmat(path)
    except (OSError, ValueError, TypeError) as error:
        raise SourceError(f"{path}: cannot read as a MATLAB file ({type(error).__name__}: {error})") from None
    x, y, vis = (_matrix(mat, key, path) for key in ("x", "y", "visibility"))
    if not x.shape == y.shape == vis.shape or x.shape[1] != len(PENN_JOINTS):
        raise SourceError(f"{path}: x {x.shape}, y {y.shape}, visibility {vis.shape}; expected (T, 13) each")
    check_finite(path, "x, y", np.stack([x, y], axis=-1), allow_nan=True)  # NaN: not labelled; inf: a broken file
    t = len(x)
    joints = np.stack([x - 1.0, y - 1.0, (vis > 0).astype(np.float64)], axis=-1)
    keypoints = to_project_layout(joints, PENN_JOINTS, PENN_TO_PROJECT)
    # Some label files carry fewer box rows than frames: pad with NaN rather than guess.
    bboxes = np.full((t, 4), np.nan, dtype=np.float32)
    if "bbox" in mat:
        box = _matrix(mat, "bbox", path)
        if box.shape[-1] == 4:
            n = min(t, len(box))
            bboxes[:n] = box[:n] - 1.0
    action = str(np.asarray(mat["action"]).ravel()[0]) if "action" in mat else ""
    train = bool(np.asarray(mat.get("train", 1)).ravel()[0] > 0)
    return PennActionVideo(path.stem, keypoints, bboxes, action, train)


def label_files(directory: str | Path) -> list[Path]:
    """The label files of a Penn Action folder (sorted); raises when there are none."""
    folder = Path(directory) / "labels"
    files = data_files(folder, "*.mat")
    if not files:
        raise SourceError(f"{folder}: no Penn Action .mat label files (pretrain.penn_action_dir; "
                          "docs/data-formats.md#public-pose-datasets-for-pretraining-pretrainsources)")
    return files
