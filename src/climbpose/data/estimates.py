"""Estimator output files, read and checked: `data/extracted/<video>.npz` and `precomputed` folders.

One reader for the `precomputed` estimator (heatmaps made elsewhere) and for the preprocess stage
(what `extract` wrote), so both accept and refuse exactly the same files. Members
(docs/data-formats.md#data-formats):

    heatmaps  (T, 25, S, S) floating point, finite (all-zero maps are allowed)
    bboxes    (T, 4) x1, y1, x2, y2 in image pixels
    detected  (T,) bool, optional; default: the box is non-empty (x2 > x1, y2 > y1, finite)
    scores    (T, 25), optional, finite
    keypoints (T, 25, 2), optional, image pixels; NaN where unknown, never infinite

A frame marked detected must have a non-empty, finite box. Anything else is a `DataError` naming
the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from climbpose.core.checks import (FLAG, FLOAT, NUMBER, DataError, check_array, check_boxes, check_finite,
                                   check_heatmaps, narrow_floats, nonempty_boxes, read_npz)
from climbpose.core.keypoints import K


def read_estimates(path: str | os.PathLike, heatmap_size: int | None = None) -> dict[str, np.ndarray | None]:
    """The arrays of one estimator-output file, checked.

    Returns heatmaps (float16 and float32 as stored, wider floats as float32), bboxes float32, detected bool, and scores float32 and
    keypoints float32 or None when the file lacks them. `heatmap_size` (heatmaps.size), if
    given, must be the maps' S.
    """
    path = Path(path)
    arrays = read_npz(path, ("heatmaps", "bboxes"), ("detected", "scores", "keypoints"))
    heatmaps = narrow_floats(arrays["heatmaps"])
    dims = check_heatmaps(path, heatmaps, heatmap_size)
    if dims["T"] == 0:
        raise DataError(f"{path}: no frames")
    check_array(path, "bboxes", arrays["bboxes"], ("T", 4), NUMBER, dims)
    bboxes = narrow_floats(arrays["bboxes"]).astype(np.float32)  # checked after the cast: a float64 box may not fit float32
    if "detected" in arrays:
        check_array(path, "detected", arrays["detected"], ("T",), FLAG, dims)
        detected = arrays["detected"].astype(bool)
        check_boxes(path, bboxes, detected)
    else:
        detected = nonempty_boxes(bboxes)
    scores = keypoints = None
    if "scores" in arrays:
        check_array(path, "scores", arrays["scores"], ("T", K), NUMBER, dims)
        scores = narrow_floats(arrays["scores"]).astype(np.float32)
        check_finite(path, "scores", scores)
    if "keypoints" in arrays:
        check_array(path, "keypoints", arrays["keypoints"], ("T", K, 2), FLOAT, dims)
        keypoints = narrow_floats(arrays["keypoints"]).astype(np.float32)
        check_finite(path, "keypoints", keypoints, allow_nan=True)
    return {"heatmaps": heatmaps, "bboxes": bboxes, "detected": detected, "scores": scores, "keypoints": keypoints}
