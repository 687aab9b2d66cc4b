"""What a temporal model reads from a window of heatmaps, by the kind of input it declares
(`input_kind` on the model class; the kinds are listed in `climbpose.models`): the maps
themselves, their argmax cells, their sub-cell peaks, or the estimator's regressed landmarks.

Window sets and `predict` feed models through these functions, so they live below the models.
"""

from __future__ import annotations

import torch

from climbpose.heatmaps import argmax_cells, subcell_peaks

INPUT_KINDS: tuple[str, ...] = ("heatmaps", "coordinates", "subcells", "landmarks")


def reads_coordinates(input_kind: str) -> bool:
    """Whether a model of this input kind reads and writes keypoint cells (B, T, K, 2), not heatmaps."""
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"unknown input kind {input_kind!r}; valid: {', '.join(INPUT_KINDS)}")
    return input_kind != "heatmaps"


def model_inputs(maps: torch.Tensor, input_kind: str) -> torch.Tensor:
    """What a model of `input_kind` eats, from normalised heatmaps (..., K, H, W): the maps
    themselves, their argmax cells, or their sub-cell peaks ((..., K, 2) float32 cells)."""
    if not reads_coordinates(input_kind):
        return maps
    if input_kind == "coordinates":
        return argmax_cells(maps).float()
    if input_kind == "landmarks":
        raise ValueError("landmarks are the estimator's regressed keypoints, not something heatmaps hold")
    return subcell_peaks(maps)
