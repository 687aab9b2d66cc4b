"""What a refinement breaks and what it fixes, pair by pair, against the unrefined estimate.

PCK says how many pairs a row gets right, not which: a row can score the same as the identity
function (the estimator's own heatmaps) while trading many correct keypoints for others. Of the
pairs PCK scores (the same frames, the same ground truth), a pair is

* broken at threshold t when the reference (identity) gets it right and the row gets it wrong;
* fixed when the reference gets it wrong and the row gets it right.

Both are reported in percent of the scored pairs, so for every threshold exactly
PCK(row) - PCK(reference) = fixed - broken (as counts; as percentages up to float rounding).
Counts add like `PCKCounts`, so batches or videos can be scored separately and pooled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from climbpose.core.contract import metric_key
from climbpose.evaluate.pck import PairScores

__all__ = ["BROKEN", "FIXED", "HarmCounts", "harm_counts"]

BROKEN = "broken"
FIXED = "fixed"


@dataclass(frozen=True)
class HarmCounts:
    """broken, fixed (n_thresholds,): pair counts per threshold; scored: the scored pairs."""

    thresholds: tuple[float, ...]
    broken: np.ndarray
    fixed: np.ndarray
    scored: int

    def __add__(self, other: HarmCounts) -> HarmCounts:
        if tuple(other.thresholds) != tuple(self.thresholds):
            raise ValueError(f"cannot add harm counts for thresholds {self.thresholds} and {other.thresholds}")
        return HarmCounts(self.thresholds, self.broken + other.broken, self.fixed + other.fixed, self.scored + other.scored)

    def metrics(self) -> dict[str, float]:
        """Flat keys `broken_<t>` and `fixed_<t>` in percent of the scored pairs (NaN when none)."""
        out: dict[str, float] = {}
        for name, counts in ((BROKEN, self.broken), (FIXED, self.fixed)):
            for i, t in enumerate(self.thresholds):
                out[metric_key(name, t)] = 100.0 * float(counts[i]) / self.scored if self.scored else math.nan
        return out


def harm_counts(reference: PairScores, row: PairScores) -> HarmCounts:
    """Pairs the row breaks and fixes relative to the reference, both judged on the same frames.

    The two must come from the same ground truth (equal `scored` masks and thresholds): a
    comparison of different frames would be meaningless, so it raises instead.
    """
    if tuple(reference.thresholds) != tuple(row.thresholds):
        raise ValueError(f"cannot compare verdicts at thresholds {reference.thresholds} and {row.thresholds}")
    if reference.scored.shape != row.scored.shape or not np.array_equal(reference.scored, row.scored):
        raise ValueError("reference and row were not scored on the same pairs (different windows or ground truth)")
    ref, new = reference.correct, row.correct  # (n_thr, N, K), already False where not scored
    return HarmCounts(
        thresholds=tuple(reference.thresholds),
        broken=(ref & ~new).sum(axis=(1, 2)).astype(np.int64),
        fixed=(~ref & new).sum(axis=(1, 2)).astype(np.int64),
        scored=int(reference.scored.sum()),
    )
