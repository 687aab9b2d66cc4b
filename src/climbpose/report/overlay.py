"""Skeleton overlays drawn onto video frames, so estimates can be compared by eye.

Several skeletons share one frame: each has its own colour and line width, and they are drawn in
list order, so a thin one listed last stays visible on top of a thick one. The person box is
clipped to the frame; where it runs past an edge, that edge is marked (dashed, with outward
ticks) and the legend says so, instead of leaving bare lines across the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from climbpose.core.keypoints import EDGES

BOX_COLOUR = (250, 220, 60)
SIDES = ("left", "top", "right", "bottom")


@dataclass(frozen=True)
class Skeleton:
    """One labelled skeleton: (K, 2) image pixels, NaN or `present` False where a point is absent."""

    label: str
    xy: np.ndarray
    colour: tuple[int, int, int]
    thickness: int = 2
    present: np.ndarray | None = None


def _scale(image: np.ndarray) -> float:
    """Line widths and text grow with the picture, so a 4K frame reads like a 720p one."""
    return max(1.0, max(image.shape[:2]) / 720.0)


def draw_skeleton(image: np.ndarray, keypoints_xy: np.ndarray, present: np.ndarray | None = None,
                  color: tuple[int, int, int] = (0, 255, 0), thickness: int = 2) -> np.ndarray:
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
        cv2.circle(out, tuple(points[i]), thickness + 1, color, -1, cv2.LINE_AA)
    return out


def off_frame_sides(bbox: np.ndarray, width: int, height: int) -> tuple[str, ...]:
    """The sides ("left", "top", "right", "bottom") on which the box (x1, y1, x2, y2) leaves the frame."""
    x1, y1, x2, y2 = (float(v) for v in bbox)
    beyond = (x1 < 0, y1 < 0, x2 > width - 1, y2 > height - 1)
    return tuple(side for side, out in zip(SIDES, beyond) if out)


def _dashed(image: np.ndarray, a: tuple[int, int], b: tuple[int, int], colour, thickness: int, dash: int) -> None:
    length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
    for start in range(0, length, 2 * dash):
        t0, t1 = start / max(length, 1), min(start + dash, length) / max(length, 1)
        p = (round(a[0] + (b[0] - a[0]) * t0), round(a[1] + (b[1] - a[1]) * t0))
        q = (round(a[0] + (b[0] - a[0]) * t1), round(a[1] + (b[1] - a[1]) * t1))
        cv2.line(image, p, q, colour, thickness, cv2.LINE_AA)


def draw_box(image: np.ndarray, bbox: np.ndarray, colour: tuple[int, int, int] = BOX_COLOUR) -> tuple[np.ndarray, tuple[str, ...]]:
    """The box on a copy of the image, clipped to the frame; returns the picture and the off-frame sides.

    Sides inside the frame are solid lines. A side past the frame edge is drawn dashed along that
    edge, with short ticks pointing out of the picture.
    """
    out = image.copy()
    h, w = image.shape[:2]
    sides = off_frame_sides(bbox, w, h)
    x1, y1, x2, y2 = np.round(np.clip(np.asarray(bbox, float), [0, 0, 0, 0], [w - 1, h - 1, w - 1, h - 1])).astype(int)
    if x2 <= x1 or y2 <= y1:  # entirely outside the picture
        return out, sides
    line = max(1, round(_scale(image)))
    corners = {"left": ((x1, y1), (x1, y2)), "top": ((x1, y1), (x2, y1)),
               "right": ((x2, y1), (x2, y2)), "bottom": ((x1, y2), (x2, y2))}
    tick = 6 * line
    for side, (a, b) in corners.items():
        if side not in sides:
            cv2.line(out, a, b, colour, line, cv2.LINE_8)  # crisp: the box is a frame, not a stroke
            continue
        _dashed(out, a, b, colour, 2 * line, 8 * line)
        for f in (0.25, 0.5, 0.75):  # ticks pointing out of the frame
            p = (round(a[0] + (b[0] - a[0]) * f), round(a[1] + (b[1] - a[1]) * f))
            inward = {"left": (tick, 0), "top": (0, tick), "right": (-tick, 0), "bottom": (0, -tick)}[side]
            cv2.arrowedLine(out, (p[0] + inward[0], p[1] + inward[1]), p, colour, 2 * line, cv2.LINE_AA, tipLength=0.5)
    return out, sides


def draw_legend(image: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """Write coloured labels in the top-left corner on a dark band, readable on any background."""
    out = image.copy()
    scale = max(image.shape[0], image.shape[1]) / 1000.0
    font, size, weight = cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, max(1, int(2 * scale))
    line = int(32 * scale)
    width = max(cv2.getTextSize(text, font, size, weight)[0][0] for text, _ in entries) + int(20 * scale)
    cv2.rectangle(out, (0, 0), (min(width, out.shape[1] - 1), line * len(entries) + line // 2), (0, 0, 0), -1)
    for row, (text, color) in enumerate(entries):
        cv2.putText(out, text, (int(10 * scale), line * (row + 1)), font, size, color, weight, cv2.LINE_AA)
    return out


def compare_on_frame(image: np.ndarray, skeletons: list[Skeleton], bbox: np.ndarray | None = None,
                     caption: str = "") -> np.ndarray:
    """Several labelled skeletons, drawn in order, the person box and a legend on one frame."""
    out = image.copy()
    entries = []
    if bbox is not None:
        out, sides = draw_box(out, bbox)
        entries.append(("person box" + (f" (runs past the {', '.join(sides)} edge)" if sides else ""), BOX_COLOUR))
    for skeleton in skeletons:
        out = draw_skeleton(out, skeleton.xy, skeleton.present, skeleton.colour, skeleton.thickness)
    entries = [(s.label, s.colour) for s in skeletons] + entries
    return draw_legend(out, entries + ([(caption, (255, 255, 255))] if caption else []))
