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

Frames whose box is empty (zero or negative width or height, or not finite) have no estimate:
they are marked undetected and leave windows, or, with `cut_at_empty_box`, end the video there
(what the thesis did).
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from climbpose.data.sources import SourceError
from climbpose.data.sources.layout import mark_missing
from climbpose.keypoints import K

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
    try:
        with np.load(path) as z:
            return [np.asarray(z[key]) for key in keys]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise SourceError(f"{path}: cannot read {', '.join(keys)} ({type(error).__name__}: {error})") from None


def video_names(directory: str | Path) -> list[str]:
    """Names of the videos in a ClimbAlong folder (sorted); every input needs its target file."""
    directory = Path(directory)
    inputs = sorted(p.stem for p in (directory / INPUTS).glob("*.npz"))
    if not inputs:
        raise SourceError(f"{directory / INPUTS}: no .npz input files (see README, 'Your own data')")
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
    raw = raw.astype(np.float32)
    if raw.ndim == 4 and raw.shape[1] == 1:
        raw = raw[:, 0]  # the person axis of ClimbAlong's files: always one climber
    if raw.ndim != 3 or raw.shape[1:] != (K, 3):
        raise SourceError(f"{path}: keypoints of shape {raw.shape}, expected (T, 1, {K}, 3) or (T, {K}, 3)")
    ok = annotated(raw)
    keypoints = raw.copy()
    keypoints[..., 2] = (raw[..., 2] > 0).astype(np.float32)
    return mark_missing(keypoints, ok)


def read_boxes(path: str | Path) -> np.ndarray:
    """Only the boxes of an input file (T, 4) float32: npz members load lazily, the maps stay on disk."""
    (boxes,) = _arrays(Path(path), "bboxes")
    boxes = boxes.astype(np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise SourceError(f"{path}: bboxes of shape {boxes.shape}, expected (T, 4)")
    return boxes


def box_ok(bboxes: np.ndarray) -> np.ndarray:
    """(T,) bool: boxes with finite corners and positive width and height."""
    finite = np.isfinite(bboxes).all(axis=-1)
    with np.errstate(invalid="ignore"):
        return finite & (bboxes[:, 2] > bboxes[:, 0]) & (bboxes[:, 3] > bboxes[:, 1])


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
    heatmaps = heatmaps.astype(np.float32)
    bboxes = read_boxes(path)
    keypoints = read_targets(directory / TARGETS / f"{name}.npz")
    if heatmaps.ndim != 4 or heatmaps.shape[1:] != (K, heatmap_size, heatmap_size):
        raise SourceError(f"{path}: heatmaps of shape {heatmaps.shape}, expected (T, {K}, {heatmap_size}, "
                         f"{heatmap_size}) (heatmaps.size in params.yaml)")
    if len(heatmaps) != len(bboxes):
        raise SourceError(f"{path}: {len(heatmaps)} heatmap frames but {len(bboxes)} boxes")
    t = min(len(heatmaps), len(keypoints))
    if len(heatmaps) != len(keypoints):
        log.warning("%s: %d input frames but %d target frames; using the first %d", name, len(heatmaps), len(keypoints), t)
    detected = box_ok(bboxes[:t])
    if cut_at_empty_box and not detected.all():
        t = int(np.argmin(detected))  # the first empty box
        detected = detected[:t]
    # Undetected frames get zero boxes, as the project's own extract writes them (no NaN is stored).
    bboxes = np.where(detected[:, None], bboxes[:t], 0.0).astype(np.float32)
    return ClimbAlongVideo(name, heatmaps[:t], bboxes, detected, keypoints[:t])
