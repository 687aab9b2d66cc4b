"""PCK, the evaluation metric of docs/design.md#pck, and the one place where its metric keys are named.

A (frame, keypoint) pair is scored when its ground truth is present and the frame has a
normaliser (torso: all four of the ground truth's shoulders and hips; bbox: always). A scored
pair is correct when the predicted cell lies within threshold x normaliser of the ground truth,
inclusive. PCK pools all scored pairs (a proper mean, not a mean of per-frame means).

Judging is separated from counting and counting from summarising: `PairScores` holds each pair's
verdict (so two predictions of the same frames can be compared pair by pair, climbpose.evaluate.harm),
and `PCKCounts`, which adds, lets evaluation run batch by batch and still give exactly the pooled
result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence, Union

import numpy as np

from climbpose.core import keypoints as kp
from climbpose.core.contract import THRESHOLDS, metric_key

__all__ = ["PCKCounts", "PCKResult", "PairScores", "pair_scores"]

Normaliser = Literal["torso", "bbox"]
BoxSize = Union[int, tuple[int, int]]

# Products like 0.1 x 30 come out as 3.0000000000000004 or 2.9999999999999996 depending on the
# numbers; this relative slack keeps "distance == threshold x torso" on the correct side, as the
# inclusive rule intends, without changing any decision that is not a rounding tie.
_TIE_SLACK = 1e-9


@dataclass(frozen=True)
class PCKResult:
    """Summarised PCK.

    metrics: flat JSON-ready keys `pck_<t>` (percent), `thr_<t>` (mean threshold distance in
    cells over scored frames), `frames_scored`, `keypoints_scored`.
    per_part: `pck_<t>_<part>` for the rows of keypoints.PARTS (a left/right pair pools both
    sides' scored keypoints). A value with nothing scored is NaN.
    """

    metrics: dict[str, float | int]
    per_part: dict[str, float]

    def pck(self, threshold: float) -> float:
        return float(self.metrics[metric_key("pck", threshold)])

    def thr(self, threshold: float) -> float:
        return float(self.metrics[metric_key("thr", threshold)])


def _percent(correct: np.ndarray | int, scored: np.ndarray | int) -> float:
    return 100.0 * float(correct) / float(scored) if scored else math.nan


@dataclass(frozen=True)
class PCKCounts:
    """Sufficient statistics of PCK; `a + b` pools two disjoint sets of frames exactly.

    correct (n_thresholds, K): correct scored pairs per keypoint; scored (K,): scored pairs per
    keypoint; threshold_sum (n_thresholds,): sum over scored frames of threshold x normaliser.
    """

    thresholds: tuple[float, ...]
    correct: np.ndarray
    scored: np.ndarray
    threshold_sum: np.ndarray
    frames_scored: int

    def __add__(self, other: PCKCounts) -> PCKCounts:
        if tuple(other.thresholds) != tuple(self.thresholds):
            raise ValueError(f"cannot add PCK counts for thresholds {self.thresholds} and {other.thresholds}")
        return PCKCounts(
            self.thresholds,
            self.correct + other.correct,
            self.scored + other.scored,
            self.threshold_sum + other.threshold_sum,
            self.frames_scored + other.frames_scored,
        )

    def result(self) -> PCKResult:
        metrics: dict[str, float | int] = {}
        per_part: dict[str, float] = {}
        total_scored = int(self.scored.sum())
        for i, t in enumerate(self.thresholds):
            metrics[metric_key("pck", t)] = _percent(self.correct[i].sum(), total_scored)
        for i, t in enumerate(self.thresholds):
            thr = float(self.threshold_sum[i]) / self.frames_scored if self.frames_scored else math.nan
            metrics[metric_key("thr", t)] = thr
        metrics["frames_scored"] = int(self.frames_scored)
        metrics["keypoints_scored"] = total_scored
        for i, t in enumerate(self.thresholds):
            for name, indices in kp.PARTS:
                idx = list(indices)
                per_part[metric_key("pck", t, name)] = _percent(self.correct[i, idx].sum(), self.scored[idx].sum())
        return PCKResult(metrics, per_part)


def _torso_diameter(gt: np.ndarray, gt_present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame torso diameter (N,) from the ground truth and whether the frame has one."""
    left = np.linalg.norm(gt[:, kp.LEFT_SHOULDER] - gt[:, kp.LEFT_HIP], axis=-1)
    right = np.linalg.norm(gt[:, kp.RIGHT_SHOULDER] - gt[:, kp.RIGHT_HIP], axis=-1)
    has = gt_present[:, [kp.LEFT_SHOULDER, kp.RIGHT_SHOULDER, kp.LEFT_HIP, kp.RIGHT_HIP]].all(axis=1)
    return np.where(has, 0.5 * (left + right), 0.0), has


@dataclass(frozen=True)
class PairScores:
    """Per-pair verdicts of one prediction: the rule of docs/design.md#pck before any pooling.

    correct (n_thresholds, N, K) bool: scored and within threshold x normaliser; scored (N, K)
    bool: ground truth present in a frame with a normaliser; norm (N,): the frame's normaliser
    (0 where it has none); frame_ok (N,) bool: frames with a normaliser.
    """

    thresholds: tuple[float, ...]
    correct: np.ndarray
    scored: np.ndarray
    norm: np.ndarray
    frame_ok: np.ndarray

    def counts(self) -> PCKCounts:
        """The pooled PCK statistics of these pairs."""
        thr = np.asarray(self.thresholds, dtype=np.float64)
        return PCKCounts(
            thresholds=self.thresholds,
            correct=self.correct.sum(axis=1).astype(np.int64),
            scored=self.scored.sum(axis=0).astype(np.int64),
            threshold_sum=thr * self.norm[self.frame_ok].sum(),
            frames_scored=int(self.frame_ok.sum()),
        )


def pair_scores(
    pred: np.ndarray,
    gt: np.ndarray,
    gt_present: np.ndarray,
    thresholds: Sequence[float] = THRESHOLDS,
    normaliser: Normaliser = "torso",
    box_size: BoxSize | None = None,
) -> PairScores:
    """Which (frame, keypoint) pairs are scored and which are correct, for predicted and
    ground-truth cells (N, K, 2) in heatmap cells.

    gt_present (N, K) bool marks annotated ground truth. normaliser "torso" (docs/design.md#pck): per
    frame the mean of |left shoulder - left hip| and |right shoulder - right hip| of the ground
    truth, frames lacking any of those four skipped. "bbox": max(H, W) of the heatmap grid,
    `box_size` (an int for a square grid, or (H, W)); every frame with a present keypoint counts.
    Non-finite predictions count as wrong. The coordinate order ((x, y) or (row, col)) does
    not matter as long as pred and gt share it. PCK in one call: `pair_scores(...).counts().result()`.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    present = np.asarray(gt_present, dtype=bool)
    thr = np.asarray(tuple(float(t) for t in thresholds), dtype=np.float64)
    if pred.ndim != 3 or pred.shape[-1] != 2 or pred.shape != gt.shape or present.shape != gt.shape[:2]:
        raise ValueError(f"expected pred and gt (N, K, 2) and gt_present (N, K); got {pred.shape}, {gt.shape}, {present.shape}")
    if gt.shape[1] != kp.K:
        raise ValueError(f"PCK needs the {kp.K}-keypoint layout (torso and part indices), got K={gt.shape[1]}")
    if thr.size == 0 or (thr <= 0).any():
        raise ValueError(f"thresholds must be positive and non-empty, got {tuple(thresholds)}")

    if normaliser == "torso":
        norm, frame_ok = _torso_diameter(gt, present)
    elif normaliser == "bbox":
        if box_size is None:
            raise ValueError("normaliser 'bbox' needs box_size (the heatmap grid size in cells)")
        h, w = (box_size, box_size) if np.isscalar(box_size) else box_size
        norm = np.full(len(gt), float(max(h, w)))
        frame_ok = present.any(axis=1)
    else:
        raise ValueError(f"normaliser must be 'torso' or 'bbox', got {normaliser!r}")

    scored = present & frame_ok[:, None]  # (N, K)
    dist = np.linalg.norm(pred - gt, axis=-1)  # (N, K); NaN for a non-finite prediction
    limit = thr[:, None, None] * norm[None, :, None] * (1.0 + _TIE_SLACK)  # (n_thr, N, 1)
    with np.errstate(invalid="ignore"):
        hit = (dist[None] <= limit) & scored[None]  # NaN compares False: counted wrong
    return PairScores(tuple(float(t) for t in thr), hit, scored, norm, frame_ok)
