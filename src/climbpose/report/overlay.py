"""Skeleton overlays drawn onto video frames, so estimates can be compared by eye."""

from __future__ import annotations

import cv2
import numpy as np

from climbpose.keypoints import EDGES


def draw_skeleton(
    image: np.ndarray,
    keypoints_xy: np.ndarray,
    present: np.ndarray | None = None,
    color: tuple[int, int, int] = (0, 255, 0),
    thickness: int = 2,
) -> np.ndarray:
    """Draw one skeleton (K, 2 image pixels) onto a copy of an RGB image; absent points are skipped."""
    out = image.copy()
    ok = np.isfinite(keypoints_xy).all(axis=1)
    if present is not None:
        ok &= present.astype(bool)
    points = np.round(np.nan_to_num(keypoints_xy)).astype(np.int32)
    for a, b in EDGES:
        if ok[a] and ok[b]:
            cv2.line(out, tuple(points[a]), tuple(points[b]), color, thickness, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        cv2.circle(out, tuple(points[i]), thickness + 2, color, -1, cv2.LINE_AA)
    return out


def draw_legend(image: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """Write coloured labels in the top-left corner on a dark band, readable on any background."""
    out = image.copy()
    scale = max(image.shape[0], image.shape[1]) / 1000.0
    line = int(32 * scale)
    cv2.rectangle(out, (0, 0), (int(300 * scale), line * len(entries) + line // 2), (0, 0, 0), -1)
    for row, (text, color) in enumerate(entries):
        cv2.putText(out, text, (int(10 * scale), line * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, color, max(1, int(2 * scale)), cv2.LINE_AA)
    return out


def compare_on_frame(
    image: np.ndarray,
    skeletons: list[tuple[str, np.ndarray, np.ndarray | None, tuple[int, int, int]]],
    bbox: np.ndarray | None = None,
    caption: str = "",
) -> np.ndarray:
    """Several labelled skeletons (label, K x 2 pixels, present mask, colour) and a box on one frame."""
    out = image.copy()
    if bbox is not None:
        x1, y1, x2, y2 = np.round(bbox).astype(int)
        cv2.rectangle(out, (x1, y1), (x2, y2), (255, 255, 255), 1)
    for _, xy, present, color in skeletons:
        out = draw_skeleton(out, xy, present, color)
    entries = [(label, color) for label, _, _, color in skeletons]
    return draw_legend(out, entries + ([(caption, (255, 255, 255))] if caption else []))
