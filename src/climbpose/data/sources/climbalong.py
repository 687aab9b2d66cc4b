"""ClimbAlong's delivery format: the estimator's heatmaps and boxes plus annotated keypoints.

Layout of a ClimbAlong folder (`data.dir`), one pair of files per video, matched by file stem:

    <dir>/inputs/<video>.npz    bboxes   (T, 4)  x1, y1, x2, y2 in image pixels
                                heatmaps (T, 25, S, S) the estimator's raw logits over the box
                                         (may be negative; preprocessing clips them at 0)
    <dir>/targets/<video>.npz   keypoints (T, 1, 25, 3) or (T, 25, 3): x, y, visibility

The heatmaps are the estimator output, so these videos skip the `extract` stage.

"Annotated" follows the thesis: a keypoint is annotated when its coordinates are finite and at
least one of x, y, visibility is positive; (0, 0, 0) is ClimbAlong's placeholder for "not
annotated". Unannotated keypoints become missing (NaN x, y), the project's rule. An annotated
keypoint with visibility 0 is one placed but hidden: it keeps its position and is scored, as
occluded keypoints are everywhere in this project; the `visible` column is 1 where visibility > 0.

Checked as read (`climbpose.core.checks`): heatmaps (T, 25, S, S) of a float type with S =
heatmaps.size and no NaN or inf; keypoint coordinates NaN or finite; visibility 0, 1 or 2.

Frames whose box is empty (zero or negative width or height, or not finite) have no estimate:
they are marked undetected and leave windows, or, with `cut_at_empty_box`, end the video there
(what the thesis did).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from climbpose.core.checks import NUMBER, check_array, check_heatmaps, check_keypoints, narrow_floats, nonempty_boxes, read_npz
from climbpose.data.sources import SourceError
from climbpose.data.sources.layout import mark_missing
from climbpose.core.io import data_files
from climbpose.core.keypoints import K

INPUTS, TARGETS = "inputs", "targets"
log = logging.getLogger(__name__)


@dataclass
class ClimbAlongVideo:
    """One video in the project's conventions (see `climbpose.data.preprocess.preprocess_video`)."""

    name: str
    heatmaps: np.ndarray  # (T, 25, S, S) float32, raw logits
    bboxes: np.ndarray  # (T, 4) float32
    detected: np.ndarray  # (T,) bool: the box is non-empty
    keypoints: np.ndarray  # (T, 25, 3) float32 x, y, visible; NaN x, y where not annotated


def _arrays(path: Path, *keys: str) -> list[np.ndarray]:
    """Named arrays of an npz file; a missing file, member or a broken archive is the user's to fix."""
    arrays = read_npz(path, keys)
    return [arrays[key] for key in keys]


def video_names(directory: str | Path) -> list[str]:
    """Names of the videos in a ClimbAlong folder (sorted); every input needs its target file."""
    directory = Path(directory)
    inputs = [p.stem for p in data_files(directory / INPUTS, "*.npz")]
    if not inputs:
        raise SourceError(f"{directory / INPUTS}: no .npz input files "
                          "(see docs/data-formats.md#climbalongs-format-datasource-climbalong)")
    lacking = [n for n in inputs if not (directory / TARGETS / f"{n}.npz").is_file()]
    if lacking:
        raise SourceError(f"{directory / TARGETS}: no target file for {', '.join(lacking[:5])}"
                                f"{' ...' if len(lacking) > 5 else ''}")
    return inputs


def annotated(raw: np.ndarray) -> np.ndarray:
    """(..., 25, 3) raw ClimbAlong keypoints -> (..., 25) bool: finite and not the (0, 0, 0) placeholder."""
    return np.isfinite(raw).all(axis=-1) & (raw > 0).any(axis=-1)


def read_targets(path: str | Path) -> np.ndarray:
    """A target file's keypoints as (T, 25, 3) float32 x, y, visible with NaN where not annotated."""
    (raw,) = _arrays(Path(path), "keypoints")
    if raw.ndim == 4 and raw.shape[1] == 1:
        raw = raw[:, 0]  # the person axis of ClimbAlong's files: always one climber
    if raw.ndim != 3 or raw.shape[1:] != (K, 3):
        raise SourceError(f"{path}: keypoints of shape {raw.shape}, expected (T, 1, {K}, 3) or (T, {K}, 3) "
                          f"(ClimbAlong files hold the project's {K} keypoints; no keypoint map applies)")
    check_array(path, "keypoints", raw, ("T", K, 3), NUMBER)
    raw = narrow_floats(raw).astype(np.float32)
    # NaN coordinates mean "not annotated"; infinite ones, or a visibility that is NaN or not
    # 0, 1 or 2 (COCO's values; anything > 0 counts as visible), mean a broken export and must
    # not quietly become "missing".
    check_keypoints(path, raw, visibility=(0, 1, 2))
    ok = annotated(raw)
    keypoints = raw.copy()
    keypoints[..., 2] = (raw[..., 2] > 0).astype(np.float32)
    return mark_missing(keypoints, ok)


def read_boxes(path: str | Path) -> np.ndarray:
    """Only the boxes of an input file (T, 4) float32: npz members load lazily, the maps stay on disk."""
    (boxes,) = _arrays(Path(path), "bboxes")
    check_array(path, "bboxes", boxes, ("T", 4), NUMBER)
    return narrow_floats(boxes).astype(np.float32)


def first_frame_annotated(directory: str | Path, name: str) -> int:
    """How many keypoints are annotated in the first frame of a video (the thesis' selection rule)."""
    keypoints = read_targets(Path(directory) / TARGETS / f"{name}.npz")
    return int(np.isfinite(keypoints[0, :, :2]).all(axis=-1).sum()) if len(keypoints) else 0


def load_video(directory: str | Path, name: str, heatmap_size: int, cut_at_empty_box: bool = False) -> ClimbAlongVideo:
    """Read one video's inputs and targets. Inputs and targets of different lengths are cut to the
    shorter, with a warning (the thesis paired them frame by frame the same way).
    `heatmap_size` guards against maps of another resolution."""
    directory = Path(directory)
    path = directory / INPUTS / f"{name}.npz"
    (heatmaps,) = _arrays(path, "heatmaps")
    heatmaps = narrow_floats(heatmaps)
    check_heatmaps(path, heatmaps, heatmap_size)  # shape, a float dtype, no NaN or inf (all-zero maps are fine)
    heatmaps = heatmaps.astype(np.float32)
    bboxes = read_boxes(path)
    keypoints = read_targets(directory / TARGETS / f"{name}.npz")
    if len(heatmaps) != len(bboxes):
        raise SourceError(f"{path}: {len(heatmaps)} heatmap frames but {len(bboxes)} boxes")
    t = min(len(heatmaps), len(keypoints))
    if len(heatmaps) != len(keypoints):
        log.warning("%s: %d input frames but %d target frames; using the first %d", name, len(heatmaps), len(keypoints), t)
    detected = nonempty_boxes(bboxes[:t])
    if cut_at_empty_box and not detected.all():
        t = int(np.argmin(detected))  # the first empty box
        detected = detected[:t]
    # Undetected frames get zero boxes, as the project's own extract writes them (no NaN is stored).
    bboxes = np.where(detected[:, None], bboxes[:t], 0.0).astype(np.float32)
    return ClimbAlongVideo(name, heatmaps[:t], bboxes, detected, keypoints[:t])
