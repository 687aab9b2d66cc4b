"""Evaluation of pose estimates against ground truth (SPEC 1.7): PCK and its metric keys."""

from climbpose.evaluate.pck import (
    DEFAULT_THRESHOLDS,
    PCKCounts,
    PCKResult,
    metric_key,
    part_slug,
    pck,
    pck_counts,
    threshold_key,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PCKCounts",
    "PCKResult",
    "metric_key",
    "part_slug",
    "pck",
    "pck_counts",
    "threshold_key",
]
