"""What `predict` writes for a clip: the keypoints as CSV and JSON, and the overlay video."""

from __future__ import annotations

import csv
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from climbpose.core.io import atomic_path
from climbpose.core.keypoints import NAMES
from climbpose.predict.clip import Prediction
from climbpose.predict.errors import PredictError
from climbpose.predict.sources import FrameSource
from climbpose.report.overlay import Skeleton, compare_on_frame
from climbpose.video import write_mp4

CSV_COLUMNS = ("frame", "keypoint", "x", "y", "score", "source", "detected")
RAW_COLOUR, REFINED_COLOUR = (235, 40, 40), (60, 140, 255)  # as in the evaluate stage's example frame


def output_paths(out_dir: str | os.PathLike, name: str) -> dict[str, Path]:
    """The files written for a clip called `name`: keys csv, json and video."""
    out = Path(out_dir)
    return {"csv": out / f"{name}.keypoints.csv", "json": out / f"{name}.keypoints.json",
            "video": out / f"{name}.overlay.mp4"}


SOURCES = ("raw", "refined", "landmarks")  # the order of rows in the CSV and of keys in each JSON frame


def _pixels(pred: Prediction, t: int) -> tuple[tuple[str, np.ndarray], ...]:
    """Frame t's image-pixel keypoints per source: raw (the estimator's maps), refined (the model),
    landmarks (the estimator's regressed keypoints)."""
    xy = {"raw": pred.raw_xy, "refined": pred.refined_xy, "landmarks": pred.landmarks_xy}
    return tuple((source, xy[source][t]) for source in SOURCES)


def _csv_number(value: float, digits: int) -> str:
    return "" if not math.isfinite(value) else f"{value:.{digits}f}"


def write_csv(path: str | os.PathLike, pred: Prediction) -> None:
    """One row per (frame, source, keypoint): frame, keypoint, x, y, score, source, detected.

    Rows go frame by frame, sources in the order raw, refined, landmarks, keypoints in the project's
    order (docs/data-formats.md#data-formats). Frames without a person keep their 3 x 25 rows, with empty x, y
    and score and detected false.
    """
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for t in range(len(pred)):
            flag = "true" if pred.detected[t] else "false"
            for source, xy in _pixels(pred, t):
                writer.writerows((t, name, _csv_number(xy[k, 0], 2), _csv_number(xy[k, 1], 2),
                                  _csv_number(float(pred.scores[t, k]), 4), source, flag)
                                 for k, name in enumerate(NAMES))


def _json_number(value: float, digits: int) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def frame_json(pred: Prediction, t: int) -> dict[str, Any]:
    """Frame t of the JSON file: {frame, time_s, detected, bbox, raw: {name: {x, y, score}}, refined: ...,
    landmarks: ...}."""
    entry: dict[str, Any] = {
        "frame": t,
        # The video's own timestamp; frame / fps only for frames never decoded (a replayed clip
        # without its overlay).
        "time_s": (round(pred.times[t], 4) if t < len(pred.times) else
                   round(t / pred.fps, 4) if pred.fps > 0 else None),
        "detected": bool(pred.detected[t]),
        "bbox": [round(float(v), 2) for v in pred.bboxes[t]] if pred.detected[t] else None,
    }
    for source, xy in _pixels(pred, t):
        entry[source] = {name: {"x": _json_number(xy[k, 0], 2), "y": _json_number(xy[k, 1], 2),
                                "score": _json_number(pred.scores[t, k], 4)}
                         for k, name in enumerate(NAMES)}
    return entry


def json_header(pred: Prediction) -> dict[str, Any]:
    """Everything in the JSON file but the per-frame entries."""
    return {
        "input": pred.meta.get("input", pred.name),
        "frames_total": len(pred),
        "frames_detected": int(pred.detected.sum()),
        "fps": pred.fps,
        "frame_times": "time_s: seconds from the start by the video's own timestamps (a variable frame rate "
                       "and the gaps of dropped frames kept; fps is the rate its container reports); "
                       "frame / fps for a folder of images, with --fps, or where frames were not decoded",
        "keypoints": list(NAMES),
        "coordinates": "image pixels, origin at the top-left corner, x right, y down; cell column j "
                       "of a frame's S x S grid is x = x1 + j (x2 - x1) / S (rows likewise); null where "
                       "no person was found",
        "sources": {"raw": "argmax of the estimator's heatmaps", "refined": pred.meta["combine"],
                    "landmarks": "the estimator's own regressed keypoints (BlazePose's landmark head), as it gives them"},
        "score": "the estimator's per-keypoint confidence (the same for every source)",
        **{k: v for k, v in pred.meta.items() if k not in ("input", "combine")},
        "timing": {k: round(v, 4) if isinstance(v, float) else v for k, v in pred.timing.items()},
    }


def write_prediction_json(path: str | os.PathLike, pred: Prediction) -> None:
    """The CSV's content, structured: the header fields, then "frames", one compact line per frame
    (streamed, so a long clip needs no second copy in memory)."""
    header = json.dumps(json_header(pred), indent=2)
    with atomic_path(path, suffix=".json") as tmp, open(tmp, "w") as f:
        f.write(header[:-2] + ',\n  "frames": [\n')  # header without its closing "\n}"
        for t in range(len(pred)):
            f.write("    " + json.dumps(frame_json(pred, t), separators=(",", ":"))
                    + (",\n" if t + 1 < len(pred) else "\n"))
        f.write("  ]\n}\n")


def render_overlay(source: FrameSource, pred: Prediction, path: str | os.PathLike,
                   progress: bool = True) -> float:
    """Draw both skeletons (refined thick blue, raw thin red on top), the box and a legend on every
    frame; return seconds."""
    raw_label = "estimator (raw, thin)"
    refined_label = f"{pred.meta['model']} (refined, thick)"

    def frames() -> Iterator[np.ndarray]:
        for t, image in enumerate(tqdm(source, total=len(pred), desc="overlay", unit="frame",
                                       disable=not progress, leave=False)):
            if t >= len(pred):
                raise PredictError(f"{source.path}: more frames than the {len(pred)} estimated ones")
            ok = bool(pred.detected[t])
            # Refined thick underneath, raw thin on top: both stay visible where they agree.
            skeletons = [Skeleton(refined_label, pred.refined_xy[t], REFINED_COLOUR, thickness=4),
                         Skeleton(raw_label, pred.raw_xy[t], RAW_COLOUR, thickness=1)]
            caption = f"frame {t}" + ("" if ok else ": no person")
            yield compare_on_frame(image, skeletons, pred.bboxes[t] if ok else None, caption)

    start = time.perf_counter()
    written = write_mp4(path, frames(), pred.fps, codec="h264", times=source.times)  # browsers play H.264
    if written != len(pred):
        raise PredictError(f"{source.path}: {written} frames read for the overlay, {len(pred)} estimated")
    return time.perf_counter() - start
