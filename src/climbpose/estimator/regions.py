"""Pure geometry of the BlazePose chain (docs/design.md#the-estimator): anchors, letterbox,
decoding, regions, boxes.

No model is run here; every function maps numbers to numbers, so each one has a known-answer test.

Coordinate conventions
- Image pixels: x right, y down, continuous; pixel (0, 0) is the top-left sample.
- Detector input: the frame resized (aspect kept, cv2.resize) into the middle of a black
  224x224 canvas; its outputs are in canvas pixels relative to the anchors.
- Crop pixels: the 256x256 landmark input. The region (centre c, side L, rotation r) maps crop
  point (u, v) to image point c + L * R(r) @ (u/256 - 1/2, v/256 - 1/2), with
  R(r) = [[cos r, -sin r], [sin r, cos r]] in y-down coordinates, so r = 0 is an upright crop and
  r = pi/2 puts the crop's "up" on the image's +x axis (a climber lying with the head right).
- Crop heatmap cell (col, row) of the 64x64 landmark heatmaps is crop pixel (4 col, 4 row).
- Box grid (docs/design.md#heatmaps): cell column j / row i of an S x S map over box
  (x1, y1, x2, y2) is image point (x1 + j (x2-x1)/S, y1 + i (y2-y1)/S), the inverse of the
  ground-truth rounding x' = (x - x1) S / (x2 - x1).

The person box
BlazePose's heatmaps live in a rotated crop; the project compares every estimator on maps over an
axis-aligned person box (docs/design.md#landmark-model-and-heatmaps). `person_box` takes the tight
box of the 33 regressed landmarks (all of them, visible or not: an occluded foot is still part of
the climber and the ground truth may annotate it), widens it by `margin` x its larger side on each
side (so the extremities' heatmap blobs are not cut at the border and a keypoint a little off the
regression still lands inside), and makes it square around its centre. Square, because a heatmap
cell must be the same length in x and y: PCK distances are measured in cells against a torso length,
and a non-square box over a tall climber would squash the vertical axis (a vertical error would
count for less than a horizontal one of the same pixel length). The box may extend past the image
edge; that is harmless for both the ground-truth mapping and the resampling.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

DETECTOR_SIZE = 224
CROP_SIZE = 256
HEATMAP_STRIDE = 4  # crop pixels per landmark heatmap cell
ROI_SCALE = 1.25

_STRIDES = (8, 16, 32, 32, 32)
_ANCHORS_PER_CELL_PER_LAYER = 2


def detector_anchors(size: int = DETECTOR_SIZE, strides: tuple[int, ...] = _STRIDES) -> np.ndarray:
    """SSD anchor centres (N, 2) as fractions of the detector input, in the model's output order.

    Consecutive layers with the same stride share one grid; per grid the order is row, column,
    then the anchors of all those layers. Anchor width and height are 1 (fixed size), so only the
    centres are returned. For 224 and strides (8, 16, 32, 32, 32): 28*28*2 + 14*14*2 + 7*7*6.
    """
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        grid = math.ceil(size / strides[i])
        per_cell = (j - i) * _ANCHORS_PER_CELL_PER_LAYER
        centres = (np.arange(grid, dtype=np.float32) + 0.5) / grid
        yy, xx = np.meshgrid(centres, centres, indexing="ij")
        cell = np.stack([xx.ravel(), yy.ravel()], axis=1)
        out.append(np.repeat(cell, per_cell, axis=0))
        i = j
    return np.concatenate(out, axis=0)


def letterbox(height: int, width: int, size: int = DETECTOR_SIZE) -> tuple[int, int, int, int]:
    """Placement (new_w, new_h, pad_x, pad_y) of a frame resized into a `size` square.

    Aspect kept, centred, whole pixels (the frame is resized into a slice of a zero canvas).
    """
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    return new_w, new_h, (size - new_w) // 2, (size - new_h) // 2


def letterbox_to_image(points: np.ndarray, height: int, width: int,
                       size: int = DETECTOR_SIZE) -> np.ndarray:
    """Letterbox pixels (..., 2) -> image pixels, the inverse of `letterbox` + cv2.resize.

    cv2.resize aligns pixel centres (dst d <-> src (d + 0.5) / scale - 0.5), hence the 0.5 terms.
    """
    new_w, new_h, pad_x, pad_y = letterbox(height, width, size)
    p = np.asarray(points, dtype=np.float64)
    x = (p[..., 0] - pad_x + 0.5) * (width / new_w) - 0.5
    y = (p[..., 1] - pad_y + 0.5) * (height / new_h) - 0.5
    return np.stack([x, y], axis=-1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    # Clipping keeps exp() finite for the extreme logits the detector produces on empty frames.
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def decode_detections(raw: np.ndarray, anchors: np.ndarray,
                      size: int = DETECTOR_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Decode raw detector regressions (N, 12) into boxes (N, 4) x1y1x2y2 and keypoints (N, 4, 2).

    Both are fractions of the letterboxed input: regressions are in input pixels relative to the
    anchor centre (unit anchor size), keypoints 0 (hip centre) and 1 (scale point) come first.
    """
    centre = raw[:, 0:2] / size + anchors
    half = raw[:, 2:4] / size / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    kps = raw[:, 4:12].reshape(-1, 4, 2) / size + anchors[:, None, :]
    return boxes, kps


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box (4,) with many (N, 4), all x1y1x2y2."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def best_detection(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                   min_score: float = 0.5, min_iou: float = 0.3
                   ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Score-weighted average of the best cluster: the top box and all kept boxes with IoU > min_iou.

    `scores` are probabilities (after sigmoid). Returns (box (4,), keypoints (4, 2), top score),
    or None when no score reaches `min_score`.
    """
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return None
    top = keep[np.argmax(scores[keep])]
    cluster = keep[iou(boxes[top], boxes[keep]) > min_iou]  # includes `top` itself (IoU 1)
    w = scores[cluster].astype(np.float64)
    w /= w.sum()
    box = (boxes[cluster] * w[:, None]).sum(axis=0)
    kps = (keypoints[cluster] * w[:, None, None]).sum(axis=0)
    return box, kps, float(scores[top])


def region_from_points(centre: np.ndarray, scale_point: np.ndarray,
                       scale: float = ROI_SCALE) -> tuple[np.ndarray, float, float]:
    """Square region (centre (2,), side, rotation) from the hip centre and the scale point (pixels)."""
    dx, dy = float(scale_point[0] - centre[0]), float(scale_point[1] - centre[1])
    side = 2.0 * math.hypot(dx, dy) * scale
    rotation = math.pi / 2 - math.atan2(-dy, dx)
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi  # into [-pi, pi)
    return np.asarray(centre, dtype=np.float64), side, rotation


def crop_affine(centre: np.ndarray, side: float, rotation: float,
                crop_size: int = CROP_SIZE) -> np.ndarray:
    """The 2x3 affine image pixel -> crop pixel of a region (see the module docstring)."""
    s = crop_size / side
    c, n = math.cos(rotation), math.sin(rotation)
    a = s * np.array([[c, n], [-n, c]])  # s * R(-rotation)
    b = crop_size / 2 - a @ np.asarray(centre, dtype=np.float64)
    return np.concatenate([a, b[:, None]], axis=1)


def invert_affine(m: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to points (..., 2)."""
    return points @ m[:, :2].T + m[:, 2]


def person_box(points: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """Square box (4,) x1y1x2y2 around points (N, 2), widened by margin x the larger side per side."""
    points = np.asarray(points, dtype=np.float64)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = (lo + hi) / 2
    half = (hi - lo).max() * (0.5 + margin)
    half = max(half, 1.0)  # a degenerate landmark set must not give an empty box
    return np.array([centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half],
                    dtype=np.float32)


def box_to_crop_heatmap(image_to_crop: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """The 2x3 affine box grid cell (j, i) -> crop heatmap cell (col, row)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cell_to_image = np.array([[(x2 - x1) / size, 0.0, x1], [0.0, (y2 - y1) / size, y1], [0, 0, 1]])
    return (np.asarray(image_to_crop, dtype=np.float64) @ cell_to_image) / HEATMAP_STRIDE


def resample_hwc(crop_heatmaps: np.ndarray, image_to_crop: np.ndarray, box: np.ndarray,
                 size: int) -> np.ndarray:
    """Resample crop heatmaps (64, 64, C), channels last as the landmark model gives them, onto
    the S x S grid of an axis-aligned box -> (C, S, S).

    Bilinear. Box cells that fall outside the crop get each channel's minimum (no evidence).
    One cv2.warpAffine call takes all channels. Measured on 25 channels (2-core EPYC): ~55 us
    per call including the transposes, against ~200-270 us for seven 4-channel calls or a numpy
    gather. For more than 4 channels OpenCV quantises the sample position to 1/32 of a heatmap
    cell; on smooth heatmaps that changes values by well under 1% of the peak.
    """
    hm = np.asarray(crop_heatmaps, dtype=np.float32)
    c = hm.shape[2]
    lo = hm.reshape(-1, c).min(axis=0)
    # Shift each channel so its minimum is 0: the constant-0 border then means "minimum".
    src = np.ascontiguousarray(hm - lo)
    m = box_to_crop_heatmap(image_to_crop, box, size)
    out = cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    result = np.empty((c, size, size), np.float32)
    # reshape: OpenCV drops a lone channel axis; `out=` keeps the result C-contiguous.
    np.add(out.reshape(size, size, c).transpose(2, 0, 1), lo[:, None, None], out=result)
    return result
