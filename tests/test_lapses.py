"""Lapse lengths of the estimator's errors and what a row repairs by them (climbpose.evaluate.lapses),
on hand-made videos whose every answer is known."""

from __future__ import annotations

import numpy as np

from climbpose.core import keypoints as kp
from climbpose.data.dataset import FrameStore
from climbpose.evaluate.lapses import LAPSE_BUCKETS, bucket_label, lapse_counts, lapse_lengths

S = 16
NOSE = kp.INDEX["nose"]


def truth(frames: int) -> np.ndarray:
    """Ground-truth cells (frames, K, 2): every keypoint at (6, 6), the torso 4 cells tall."""
    cells = np.full((frames, kp.K, 2), 6, dtype=np.int16)
    cells[:, [kp.LEFT_SHOULDER, kp.RIGHT_SHOULDER], 1] = 4
    cells[:, [kp.LEFT_HIP, kp.RIGHT_HIP], 1] = 8
    return cells


def store(wrong_nose: list[list[bool]], unscored: dict[tuple[int, int], bool] | None = None) -> FrameStore:
    """Videos whose estimator maps are impulses at the ground truth, but for the nose in the frames
    marked wrong, where the impulse sits 5 cells away (PCK@0.2 allows 0.8 cells of a 4-cell torso)."""
    inputs, cells, present = [], [], []
    for v, marks in enumerate(wrong_nose):
        gt = truth(len(marks))
        estimate = gt.astype(np.int64).copy()
        estimate[np.asarray(marks), NOSE, 0] += 5
        maps = np.zeros((len(marks), kp.K, S, S), np.float16)
        t, k = np.meshgrid(np.arange(len(marks)), np.arange(kp.K), indexing="ij")
        maps[t, k, estimate[..., 1], estimate[..., 0]] = 255
        mask = np.ones((len(marks), kp.K), bool)
        for (video, frame), _ in (unscored or {}).items():
            if video == v:
                mask[frame, NOSE] = False
        inputs.append(maps), cells.append(gt), present.append(mask)
    lengths = [len(m) for m in wrong_nose]
    return FrameStore(tuple(f"v{i}" for i in range(len(wrong_nose))), np.concatenate([[0], np.cumsum(lengths)]),
                      {"inputs": np.concatenate(inputs), "target_cells": np.concatenate(cells), "present": np.concatenate(present)})


def test_lapse_lengths_count_runs_within_a_video_and_stop_at_unscored_frames():
    frames = store([[False, True, True, False, True, True], [True, True, True, True]], unscored={(1, 2): True})
    lengths = lapse_lengths(frames)
    assert lengths[:, NOSE].tolist() == [0, 2, 2, 0, 2, 2,  # the second run ends with the video, not in the next one
                                         2, 2, 0, 1]  # an unscored frame ends a run
    assert (np.delete(lengths, NOSE, axis=1) == 0).all()  # every other keypoint is right everywhere


def test_lapse_counts_sort_the_estimators_errors_by_length_and_count_each_rows_repairs():
    marks = [False, True, False] + [True] * 12 + [False]  # a 1-frame lapse, then one of 12 frames
    frames = store([marks])
    lengths = lapse_lengths(frames)
    gt = frames.arrays["target_cells"].astype(np.float64)
    identity = gt.copy()
    identity[np.asarray(marks), NOSE, 0] += 5
    repaired = identity.copy()
    repaired[1, NOSE] = gt[1, NOSE]  # fixes the short lapse
    repaired[3:6, NOSE] = gt[3:6, NOSE]  # and 3 frames of the long one
    repaired[0, 3] += 3  # breaks a right shoulder
    counts = lapse_counts(lengths, identity, {"row": repaired, "same": identity}, gt, frames.arrays["present"])
    assert [bucket_label(b) for b in LAPSE_BUCKETS] == ["1-2 frames", "3-9 frames", "10+ frames"]
    assert counts["row"].wrong == (1, 0, 12) and counts["row"].fixed == (1, 0, 3) and counts["row"].broken == 1
    assert counts["same"].fixed == (0, 0, 0) and counts["same"].broken == 0
    assert counts["row"].as_dict() == {"buckets": ["1-2 frames", "3-9 frames", "10+ frames"], "wrong": [1, 0, 12],
                                       "swapped": [0, 0, 0], "fixed": [1, 0, 3], "broken": 1}


def test_a_left_right_swap_is_counted_as_one():
    gt = truth(4).astype(np.float64)
    left, right = kp.INDEX["left_wrist"], kp.INDEX["right_wrist"]
    gt[:, left], gt[:, right] = [2, 12], [12, 12]
    estimate = gt.copy()
    estimate[1:3, [left, right]] = gt[1:3, [right, left]]  # frames 1 and 2: the wrists swapped
    estimate[3, left] = [2, 2]  # frame 3: the left wrist wrong, but no swap
    lengths = np.zeros((4, kp.K), np.int64)
    lengths[1:3, [left, right]], lengths[3, left] = 2, 1
    counts = lapse_counts(lengths, estimate, {"same": estimate}, gt, np.ones((4, kp.K), bool))
    assert counts["same"].wrong == (5, 0, 0) and counts["same"].swapped == (4, 0, 0)
