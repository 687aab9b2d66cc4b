"""Per-video preprocessing (docs/design.md#heatmaps): estimator heatmaps -> model inputs, annotations -> targets."""

from __future__ import annotations

import numpy as np
import torch

from climbpose.core.checks import nonempty_boxes
from climbpose.heatmaps import ground_truth_maps, image_to_cells, normalise


def preprocess_video(
    heatmaps: np.ndarray,
    bboxes: np.ndarray,
    detected: np.ndarray,
    keypoints: np.ndarray,
    c: float,
    sigma: float,
    landmarks: np.ndarray | None = None,
    scores: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Turn one video's estimator output and annotations into training arrays.

    heatmaps (T, K, S, S) raw estimator maps; bboxes (T, 4) x1, y1, x2, y2; detected (T,);
    keypoints (T, K, 3) image-pixel x, y, visible. Returns `inputs` and `targets` (T, K, S, S)
    float16 scaled to mass c, `target_cells` (T, K, 2) int16 (x=col, y=row), `present` (T, K)
    (annotated, in a frame with a person box: the only keypoints that are scored or trained on), `usable` (T,) (frames that windows may contain) and `bboxes`.

    The estimator's regressed landmarks (T, K, 2) image pixels and per-keypoint scores (T, K), when
    given, become `landmark_cells` (T, K, 2) float32: the same grid as the heatmaps, unrounded and
    unclamped (a landmark off the box keeps its distance), and `landmark_scores` (T, K) float32.
    Without them, and in frames without a person box, cells are NaN and scores 0: the arrays exist
    in every file, so every reader sees one format.
    """
    size = heatmaps.shape[-1]
    usable = detected.astype(bool) & nonempty_boxes(bboxes)
    # Frames without a box get a dummy unit box so the mapping stays finite; they are masked out.
    safe_boxes = np.where(usable[:, None], bboxes, np.array([0.0, 0.0, 1.0, 1.0], dtype=np.float32))
    xy = keypoints[..., :2]
    # Missing means unannotated (NaN coordinates). Occluded keypoints (visible 0) keep their
    # annotated position and are scored: refining guesses about hidden limbs is the point.
    present = np.isfinite(xy).all(axis=-1) & usable[:, None]

    targets, cells = ground_truth_maps(
        np.nan_to_num(xy).astype(np.float32), safe_boxes.astype(np.float32), present, size=size, sigma=sigma, c=c
    )
    inputs = normalise(torch.from_numpy(heatmaps.astype(np.float32)), c)
    landmark_cells = np.full((*present.shape, 2), np.nan, np.float32)
    landmark_scores = np.zeros(present.shape, np.float32)
    if landmarks is not None:
        regressed = image_to_cells(np.asarray(landmarks, np.float32), safe_boxes.astype(np.float32), size).numpy()
        landmark_cells[usable] = regressed[usable]
    if scores is not None:
        landmark_scores[usable] = np.asarray(scores, np.float32)[usable]
    return {
        "inputs": inputs.numpy().astype(np.float16),
        "targets": targets.numpy().astype(np.float16),
        "target_cells": cells.numpy().astype(np.int16),
        "present": present,
        "usable": usable,
        "bboxes": bboxes.astype(np.float32),
        "landmark_cells": landmark_cells,
        "landmark_scores": landmark_scores,
    }
