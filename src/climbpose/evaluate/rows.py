"""Scoring the rows of an evaluation (the model, the identity function, the filters) on one window set.

Every row predicts the same windows in the same order, so besides each row's PCK the rows can be
compared pair by pair with a reference row (the identity function): what each one breaks and fixes
(climbpose.evaluate.harm). Each row's cells come from `climbpose.evaluate.cells.window_cells`, the
scoring loop the training loop's validation runs too; `score_rows` is the pure part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from torch import nn

from climbpose.evaluate.harm import HarmCounts, harm_counts
from climbpose.core.contract import THRESHOLDS, metric_key
from climbpose.evaluate.pck import BoxSize, Normaliser, PCKResult, pair_scores
from climbpose.data.window_sets import WindowSet
from climbpose.evaluate.cells import WindowCells, window_cells

__all__ = ["RowScores", "row_metrics", "score_rows", "score_split", "split_cells"]


@dataclass(frozen=True)
class RowScores:
    """A row's PCK and, for every row but the reference, its harm counts against the reference."""

    pck: PCKResult
    harm: HarmCounts | None


def score_rows(cells: Mapping[str, WindowCells], reference: str, thresholds: Sequence[float] = THRESHOLDS,
               normaliser: Normaliser = "torso", box_size: BoxSize | None = None) -> dict[str, RowScores]:
    """Each row's PCK, and for every row but `reference` the pairs it breaks and fixes against it.

    All rows must carry the same ground truth (the same windows in the same order); otherwise
    their pairs could not be compared, and this raises.
    """
    if reference not in cells:
        raise ValueError(f"reference row {reference!r} is not among the rows {list(cells)}")
    truth = cells[reference]
    for name, row in cells.items():
        if not (np.array_equal(row.gt, truth.gt) and np.array_equal(row.present, truth.present)):
            raise ValueError(f"row {name!r} was not scored on the same windows as {reference!r}")
    verdicts = {name: pair_scores(row.pred, row.gt, row.present, thresholds, normaliser, box_size) for name, row in cells.items()}
    return {name: RowScores(v.counts().result(), None if name == reference else harm_counts(verdicts[reference], v))
            for name, v in verdicts.items()}


def row_metrics(scores: Mapping[str, RowScores], full: Sequence[str], part_threshold: float = 0.2) -> tuple[dict, dict]:
    """Flat metrics `<row>_<key>` of every row, and per-part PCK at `part_threshold` as `<row>_pck_<t>_<part>`.

    Rows in `full` get every PCK key (PCK, threshold distances, frames and keypoints scored); the
    others only PCK, because the rest depends on the ground truth alone and would repeat. Every
    row but the reference gets `<row>_broken_<t>` and `<row>_fixed_<t>`.
    """
    metrics: dict[str, float | int] = {}
    per_part: dict[str, float] = {}
    part_prefix = metric_key("pck", part_threshold)
    for name, row in scores.items():
        keep = row.pck.metrics if name in full else {k: v for k, v in row.pck.metrics.items() if k.startswith("pck_")}
        metrics.update({f"{name}_{key}": value for key, value in keep.items()})
        if row.harm is not None:
            metrics.update({f"{name}_{key}": value for key, value in row.harm.metrics().items()})
        per_part.update({f"{name}_{key}": value for key, value in row.pck.per_part.items() if key.startswith(part_prefix)})
    return metrics, per_part


def score_split(rows: Mapping[str, tuple[nn.Module, WindowSet]], reference: str, batch_size: int, seed: int, size: int,
                thresholds: Sequence[float] = THRESHOLDS, normaliser: Normaliser = "torso",
                full: Sequence[str] = (), part_threshold: float = 0.2) -> tuple[dict, dict]:
    """One split's metrics and per-part PCK (`row_metrics`) for predictors given as row -> (model,
    its windows), every window set listing the same windows in the same order."""
    cells = split_cells(rows, batch_size, seed)
    return row_metrics(score_rows(cells, reference, thresholds, normaliser, size), full, part_threshold)


def split_cells(rows: Mapping[str, tuple[nn.Module, WindowSet]], batch_size: int, seed: int) -> dict[str, WindowCells]:
    """Every row's predicted cells on its windows (`window_cells`), row -> (predictor, its windows)."""
    return {name: window_cells(model, windows, batch_size, seed) for name, (model, windows) in rows.items()}
