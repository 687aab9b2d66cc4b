"""Building the training `WindowSet`s: pretraining from keypoint sequences, finetuning from the split.

Pretraining boxes follow docs/design.md#the-pretraining-box: the tight box of the keypoints widened
by 5% of its width and height on each side, mapped to the heatmap grid without keeping the aspect
ratio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from climbpose.data.dataset import FrameStore, read_split_rows
from climbpose.data.windows import disjoint_windows, valid_windows, window_frames
from climbpose.heatmaps import to_box_cells
from climbpose.data.window_sets import NoiseSpec, WindowSet

PRETRAIN_BOX_MARGIN = 0.05


def pretraining_boxes(keypoints_xy: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(T, K, 2) keypoints -> (T, 4) tight boxes of the present ones, widened by 5% per side."""
    xy = np.where(present[..., None], keypoints_xy, np.nan)
    low, high = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)
    pad = (high - low) * PRETRAIN_BOX_MARGIN
    # A degenerate box (one point, or all on a line) still needs a non-zero extent.
    pad = np.maximum(pad, 1.0)
    return np.concatenate([low - pad, high + pad], axis=1).astype(np.float32)


def sequences_to_cells(sequences: list[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoint sequences (T, K, 2+: x, y, ...) -> flat cells (F, K, 2), present (F, K), offsets.

    A keypoint is present when its coordinates are finite (NaN marks one a dataset lacks);
    visibility does not matter here: an occluded keypoint still has a known position.
    """
    cells, present = [], []
    for keypoints in sequences:
        ok = np.isfinite(keypoints[..., :2]).all(axis=-1)
        boxes = pretraining_boxes(keypoints[..., :2], ok)
        grid, _ = to_box_cells(np.nan_to_num(keypoints[..., :2]).astype(np.float32), boxes, size)
        cells.append(grid.numpy())
        present.append(ok)
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in cells])]).astype(np.int64)
    return np.concatenate(cells), np.concatenate(present), offsets


def pretraining_windows(sequences: list[np.ndarray], window: int, step: int, size: int, c: float, sigma: float,
                        noise: NoiseSpec, input_kind: str, device: torch.device, disjoint: bool = False) -> WindowSet:
    """A WindowSet whose inputs are rendered on `device` from noisy copies of the sequences' keypoints.

    `disjoint` keeps only windows that share no frame (validation: every frame counts once).
    """
    cells, present, offsets = sequences_to_cells(sequences, size)
    starts = disjoint_windows if disjoint else valid_windows
    rows = [offsets[i] + start for i, seq in enumerate(sequences)
            for start in starts(np.ones(len(seq), dtype=bool), window, step)]
    windows = window_frames(np.asarray(rows, dtype=np.int64), window, step)
    return WindowSet(
        windows=torch.from_numpy(windows).to(device),
        target_cells=torch.from_numpy(cells).to(device),
        present=torch.from_numpy(present).to(device),
        size=size, c=c, sigma=sigma, input_kind=input_kind, noise=noise,
    )


def finetuning_windows(store: FrameStore, split: str | Path | np.ndarray, window: int, c: float, sigma: float,
                       input_kind: str, device: torch.device, feed_targets: bool = False) -> WindowSet:
    """A WindowSet over the estimator's preprocessed heatmaps for the windows listed in a split file
    (or given as its (video, start, step) rows).

    Only the frames the windows use go to the device. `feed_targets` replaces the inputs by the
    ground-truth heatmaps: the thesis' evaluation defect
    (docs/design.md#the-known-evaluation-defect), for comparison only. Input kind "landmarks" takes
    the estimator's regressed landmarks (`landmark_cells`) instead of its maps.
    """
    rows = split if isinstance(split, np.ndarray) else read_split_rows(split, store.names)
    # Rows are (video, start, step); a video's frames start at its offset in the flat store.
    frames = window_frames(store.offsets[rows[:, 0]] + rows[:, 1], window, rows[:, 2])
    used, local = np.unique(frames, return_inverse=True)

    def take(key: str) -> torch.Tensor:
        return torch.from_numpy(store.arrays[key][used]).to(device)

    size = store.arrays["inputs"].shape[-1]
    return WindowSet(
        windows=torch.from_numpy(local.reshape(frames.shape)).to(device),
        target_cells=take("target_cells").long(),
        present=take("present"),
        size=size, c=c, sigma=sigma, input_kind=input_kind,
        inputs=take("targets" if feed_targets else "landmark_cells" if input_kind == "landmarks" else "inputs"),
        targets=take("targets"),
        source_frames=used,
    )
