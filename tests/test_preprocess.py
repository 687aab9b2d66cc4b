"""Known answers for `data.preprocess.preprocess_video`, the per-video transform of docs/design.md#heatmaps that
every finetuning file goes through: which frames and keypoints count, the maps' mass and place,
the cells, the landmarks, and the arrays' names and types."""

from __future__ import annotations

import numpy as np
import pytest

from climbpose.core.keypoints import K
from climbpose.data.preprocess import preprocess_video

S, C = 8, 255.0
DTYPES = {"inputs": np.float16, "targets": np.float16, "target_cells": np.int16, "present": np.bool_,
          "usable": np.bool_, "bboxes": np.float32, "landmark_cells": np.float32, "landmark_scores": np.float32}


def three_frames():
    """Frame 0: a person in box (10, 20)-(26, 36), 2 pixels per cell, keypoint 1 unannotated;
    frame 1: a box but the estimator found no person; frame 2: found, but the box is empty."""
    heatmaps = np.zeros((3, K, S, S), np.float64)
    heatmaps[:, :, 4, 3] = 2.0  # every map: one cell, any mass
    bboxes = np.array([[10, 20, 26, 36], [10, 20, 26, 36], [5, 5, 5, 9]], np.float64)
    detected = np.array([True, False, True])
    keypoints = np.zeros((3, K, 3))
    keypoints[..., :2] = [17.0, 25.0]  # pixel (17, 25): cell (3.5, 2.5) -> rounded to (4, 2) by to_box_cells
    keypoints[0, 1, :2] = np.nan
    landmarks = np.full((3, K, 2), [12.0, 40.0])  # cell (1, 10): below the box, kept unclamped
    scores = np.full((3, K), 0.75)
    return heatmaps, bboxes, detected, keypoints, landmarks, scores


def test_frames_keypoints_maps_and_cells():
    heatmaps, bboxes, detected, keypoints, landmarks, scores = three_frames()
    out = preprocess_video(heatmaps, bboxes, detected, keypoints, C, 1.0, landmarks=landmarks, scores=scores)
    assert {key: value.dtype for key, value in out.items()} == {key: np.dtype(t) for key, t in DTYPES.items()}
    assert out["usable"].tolist() == [True, False, False]
    present = np.zeros((3, K), bool)
    present[0] = True
    present[0, 1] = False
    assert (out["present"] == present).all()
    # Inputs: each map scaled to mass c, in place (row 4, column 3), whatever the frame.
    assert (out["inputs"][:, :, 4, 3] == C).all() and out["inputs"].astype(np.float32).sum() == pytest.approx(3 * K * C)
    # Targets: a Gaussian of mass c at the keypoint's cell where present, nothing elsewhere.
    targets = out["targets"].astype(np.float32)
    assert targets[0, 0].sum() == pytest.approx(C, rel=1e-3) and np.unravel_index(targets[0, 0].argmax(), (S, S)) == (2, 4)
    assert (targets[~present] == 0).all()
    assert out["target_cells"][0, 0].tolist() == [4, 2]
    # Frames without a person box still map to finite cells on the grid (a dummy box), though unused.
    assert ((out["target_cells"] >= 0) & (out["target_cells"] < S)).all()
    assert (out["bboxes"] == bboxes.astype(np.float32)).all()
    # Landmarks: on the grid, unrounded and unclamped, only in usable frames; scores likewise.
    assert out["landmark_cells"][0, 0].tolist() == [1.0, 10.0]
    assert np.isnan(out["landmark_cells"][1:]).all()
    assert out["landmark_scores"][0].tolist() == [0.75] * K and (out["landmark_scores"][1:] == 0).all()


def test_without_landmarks_the_arrays_exist_empty():
    heatmaps, bboxes, detected, keypoints, _, _ = three_frames()
    out = preprocess_video(heatmaps, bboxes, detected, keypoints, C, 1.0)
    assert np.isnan(out["landmark_cells"]).all() and out["landmark_cells"].shape == (3, K, 2)
    assert (out["landmark_scores"] == 0).all() and out["landmark_scores"].dtype == np.float32
