"""Lapses: runs of consecutive frames in which the estimator has a keypoint wrong, and what each
row repairs, by the length of the run it sits in; and how many of them are left/right swaps.

A temporal model can only repair from time what the neighbouring frames got right: a wrist that
is wrong for a frame or two between right frames can be taken from them; one that is wrong for
two seconds cannot. PCK and the broken / fixed counts do not tell the two apart, so the evaluate
stage counts, for every row, the identity function's wrong pairs by the length of their lapse and
how many of each length the row fixes (docs/design.md#lapses).

A lapse of keypoint k is a maximal run of consecutive frames of one video in which the identity
function (the estimator's argmax cell) is scored and wrong on k at LAPSE_THRESHOLD. Any other frame
ends the run: one where it is right, one where k is not scored (not annotated, no torso) and one
without a person. Lengths are counted over the whole video, not the window being scored, so a pair
of a test window knows that its lapse runs on into frames no test window holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from climbpose.core.keypoints import MIRROR
from climbpose.data.dataset import FrameStore
from climbpose.data.windows import true_runs
from climbpose.evaluate.pck import BoxSize, Normaliser, pair_scores
from climbpose.heatmaps import argmax_cells

__all__ = ["LAPSE_BUCKETS", "LAPSE_THRESHOLD", "LapseCounts", "lapse_counts", "lapse_lengths"]

LAPSE_THRESHOLD = 0.2  # the loosest PCK threshold: a keypoint wrong there is on the wrong body part, not off by a cell
# (shortest, longest) lapse in frames; None: no upper bound. "A frame or two" is what time can repair.
LAPSE_BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 2), (3, 9), (10, None))


def bucket_label(bucket: tuple[int, int | None]) -> str:
    low, high = bucket
    return f"{low}+ frames" if high is None else f"{low}-{high} frames"


def lapse_lengths(store: FrameStore, normaliser: Normaliser = "torso", box_size: BoxSize | None = None,
                  threshold: float = LAPSE_THRESHOLD) -> np.ndarray:
    """(F, K) int: for every frame of the store and keypoint, the length of the identity function's
    lapse that pair lies in (0 where the identity is right or the pair is not scored)."""
    cells = argmax_cells(store.arrays["inputs"]).numpy()
    scores = pair_scores(cells, store.arrays["target_cells"], store.arrays["present"], (threshold,), normaliser, box_size)
    wrong = scores.scored & ~scores.correct[0]
    lengths = np.zeros(wrong.shape, dtype=np.int64)
    for start, end in zip(store.offsets[:-1], store.offsets[1:]):
        for k in range(wrong.shape[1]):
            for first, length in zip(*true_runs(wrong[start:end, k])):
                lengths[start + first:start + first + length, k] = length
    return lengths


@dataclass(frozen=True)
class LapseCounts:
    """One row on one split: `wrong[b]` pairs the identity function has wrong in lapses of bucket b,
    `fixed[b]` of them the row gets right; `broken`: pairs the identity has right and the row wrong."""

    wrong: tuple[int, ...]
    fixed: tuple[int, ...]
    broken: int
    swapped: tuple[int, ...]  # of `wrong`: those where the estimator's left/right counterpart is right (a swap)

    def as_dict(self) -> dict[str, object]:
        return {"buckets": [bucket_label(b) for b in LAPSE_BUCKETS], "wrong": list(self.wrong),
                "swapped": list(self.swapped), "fixed": list(self.fixed), "broken": self.broken}


def lapse_counts(lengths: np.ndarray, identity: np.ndarray, rows: Mapping[str, np.ndarray], gt: np.ndarray,
                 present: np.ndarray, normaliser: Normaliser = "torso", box_size: BoxSize | None = None,
                 threshold: float = LAPSE_THRESHOLD, buckets: Sequence[tuple[int, int | None]] = LAPSE_BUCKETS,
                 ) -> dict[str, LapseCounts]:
    """Each row's repairs by lapse length, for scored pairs (N, K): `lengths` from `lapse_lengths` at
    those pairs' frames, `identity` and each row's predicted cells (N, K, 2), the ground truth and
    its presence. Every row must predict the same pairs in the same order."""
    def correct(pred: np.ndarray) -> np.ndarray:
        return pair_scores(pred, gt, present, (threshold,), normaliser, box_size).correct[0]

    base = correct(identity)
    # A left/right swap: the counterpart's estimate (the right wrist's for the left wrist) is right.
    swap = correct(identity[:, list(MIRROR)]) & ~base
    out = {}
    for name, pred in rows.items():
        right = correct(pred)
        wrong, fixed, swapped = [], [], []
        for low, high in buckets:
            in_bucket = (lengths >= low) & (lengths <= (high if high is not None else np.iinfo(np.int64).max)) & ~base
            wrong.append(int(in_bucket.sum()))
            fixed.append(int((in_bucket & right).sum()))
            swapped.append(int((in_bucket & swap).sum()))
        out[name] = LapseCounts(tuple(wrong), tuple(fixed), int((base & ~right).sum()), tuple(swapped))
    return out
