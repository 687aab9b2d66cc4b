"""One clip end to end in memory: the estimator on every frame, the training preprocessing, the
windowed refiner, and both keypoint sets mapped back to image pixels (a `Prediction`).

* Inputs are exactly the training inputs: the estimator's maps rounded to float16 (as `extract`
  stores them), `heatmaps.normalise(maps, c)` (negatives to 0, each map summed to c) rounded to
  float16 again (as `preprocess` stores them), then float32. DeciWatch reads their argmax cells.
* Raw keypoints are the argmax cells of the same normalised inputs (the "identity function" of the
  evaluation). Cells map to pixels through the frame's box with `heatmaps.cells_to_image`:
  cell column j is x = x1 + j (x2 - x1) / S, rows likewise.
* Landmarks are the estimator's own regressed keypoints (BlazePose's landmark head), passed through
  as they come: in image pixels already, no heatmap behind them.
* A frame without a person is kept with `detected` false and NaN coordinates: nothing is invented.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from climbpose.core.checks import nonempty_boxes
from climbpose.estimator.base import Estimator
from climbpose.estimator.precomputed import Precomputed
from climbpose.heatmaps import argmax_cells, cells_to_image, normalise
from climbpose.core.keypoints import K
from climbpose.data.input_kinds import model_inputs as read_model_inputs
from climbpose.predict.errors import PredictError
from climbpose.predict.sources import FrameSource
from climbpose.predict.windows import Refined, WindowRefiner


@dataclass
class Prediction:
    """Per-frame results of one clip; pixel arrays are NaN where no person was found."""

    name: str
    fps: float
    detected: np.ndarray  # (T,) bool
    bboxes: np.ndarray  # (T, 4) x1, y1, x2, y2 image pixels (zeros where not detected)
    scores: np.ndarray  # (T, K) estimator per-keypoint confidence
    raw_cells: np.ndarray  # (T, K, 2) estimator argmax cells (x = col, y = row)
    refined_cells: np.ndarray  # (T, K, 2) model cells (fractional for DeciWatch)
    raw_xy: np.ndarray  # (T, K, 2) image pixels
    refined_xy: np.ndarray  # (T, K, 2) image pixels
    landmarks_xy: np.ndarray  # (T, K, 2) the estimator's regressed landmarks, image pixels (NaN where it gave none)
    meta: dict[str, Any]
    timing: dict[str, float]
    # Seconds of each frame from the video's timestamps: the source's list (FrameSource.times),
    # complete once the frames have been read (for a replayed clip, only by the overlay).
    times: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.detected)


def model_inputs(heatmaps: np.ndarray, c: float, input_kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The training preprocessing of estimator maps (n, K, S, S) -> (model inputs, raw argmax cells
    (n, K, 2) int64).

    As the pipeline: rounded to float16 (how `extract` stores them), normalised to mass c, rounded to
    float16 again (how `preprocess` stores them), read as float32 (the training batches); coordinate
    models read that map's peaks (`climbpose.data.input_kinds.model_inputs`). torch rounds to float16 as numpy
    does (to nearest, ties to even), several times faster.
    """
    maps = torch.from_numpy(np.asarray(heatmaps, dtype=np.float32)).half().float()
    x = normalise(maps, c).half().float()
    return read_model_inputs(x, input_kind), argmax_cells(x)


class _BatchedRefiner:
    """Feeds detected frames to the refiner in batches and collects the raw and refined cells.

    Frames are preprocessed `batch_size` at a time (one set of torch ops per batch, not per frame),
    and a gap flushes the batch first so that the refiner sees frames in order.
    """

    def __init__(self, refiner: WindowRefiner, c: float, batch_size: int) -> None:
        self.refiner, self.c, self.batch_size = refiner, c, batch_size
        self.raw: dict[int, np.ndarray] = {}
        self.refined: dict[int, np.ndarray] = {}
        self.seconds = 0.0  # preprocessing, windows, model and combining
        self._frames: list[int] = []
        self._maps: list[np.ndarray] = []

    def add(self, t: int, heatmaps: np.ndarray) -> None:
        self._frames.append(t)
        self._maps.append(heatmaps)
        if len(self._frames) >= self.batch_size:
            self._flush()

    def gap(self, t: int) -> None:
        self._flush()
        self._timed(lambda: self.refiner.gap(t))

    def finish(self) -> None:
        self._flush()
        self._timed(self.refiner.finish)

    def _flush(self) -> None:
        if self._frames:
            frames, maps = self._frames, self._maps
            self._frames, self._maps = [], []
            self._timed(lambda: self._push(frames, maps))

    def _push(self, frames: list[int], maps: list[np.ndarray]) -> list[Refined]:
        x, cells = model_inputs(np.stack(maps), self.c, self.refiner.input_kind)
        self.raw.update(zip(frames, cells.numpy().astype(np.float64)))
        return self.refiner.push(frames, x)

    def _timed(self, work: Callable[[], list[Refined]]) -> None:
        """Run `work` on the refiner, keep the cells it finalised, and add up the time it took."""
        start = time.perf_counter()
        for frames, cells in work():
            self.refined.update(zip(frames.tolist(), cells))
        self.seconds += time.perf_counter() - start


# How often (in frames) predict hands freed memory back to the operating system.
RELEASE_EVERY = 256


def _malloc_trim() -> Callable[[], None]:
    """glibc's malloc_trim(0), or nothing where the C library has none (macOS, musl).

    predict keeps nothing per frame but a few numbers, yet its resident memory grew with the
    video's length (about 75 KB a frame on a 540x960 clip): the heap of a long run fragments, and
    glibc keeps freed blocks between live ones. Trimming every RELEASE_EVERY frames returns those
    pages, so memory stays flat for any length (docs/performance.md#performance).
    """
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    return (lambda: trim(0)) if trim is not None else (lambda: None)


def predict_clip(
    source: FrameSource,
    model: nn.Module,
    payload: dict[str, Any],
    estimator: Estimator,
    c: float,
    step: int = 1,
    batch_size: int = 16,
    progress: bool = True,
) -> Prediction:
    """`estimator` on every frame of `source`, then `model` over sliding windows of the detected ones.

    `payload` is the model file's contents (its heatmap size and window length are used); the
    estimator must give maps of that size (`loading.open_estimator`).
    """
    size, window = int(payload["size"]), int(payload["window"])
    if step < 1:
        raise PredictError(f"--step {step}: must be >= 1")
    refiner = WindowRefiner(model, window, step, batch_size)
    feed = _BatchedRefiner(refiner, c, batch_size)

    # Replayed heatmaps need no pixels: skip decoding and pass None frames, as many as stored.
    replay = isinstance(estimator, Precomputed)
    frames: Iterator[np.ndarray | None] = iter([None] * len(estimator)) if replay else iter(source)
    total = len(estimator) if replay else (source.count or None)
    bar = tqdm(frames, total=total, desc=source.path.name, unit="frame", disable=not progress, leave=False)
    detected, bboxes, scores, landmarks = [], [], [], []
    estimator_seconds = 0.0
    release_memory = _malloc_trim()
    start = time.perf_counter()
    for t, frame in enumerate(bar):
        if t % RELEASE_EVERY == RELEASE_EVERY - 1:
            release_memory()
        tick = time.perf_counter()
        e = estimator(frame)
        estimator_seconds += time.perf_counter() - tick
        box = np.asarray(e.bbox, np.float32)
        ok = bool(e.detected) and bool(nonempty_boxes(box[None])[0])  # preprocess's "usable"
        detected.append(ok)
        bboxes.append(box if ok else np.zeros(4, np.float32))
        scores.append(np.asarray(e.scores, np.float32) if ok else np.full(K, np.nan, np.float32))
        landmarks.append(np.asarray(e.keypoints, np.float32) if ok else np.full((K, 2), np.nan, np.float32))
        if ok:
            feed.add(t, e.heatmaps)
        else:
            feed.gap(t)
    feed.finish()
    seconds = time.perf_counter() - start
    bar.close()

    n = len(detected)
    if n == 0:
        raise PredictError(f"{source.path}: no frames could be read")
    det = np.asarray(detected, bool)
    if set(feed.refined) != set(np.flatnonzero(det).tolist()) or set(feed.raw) != set(feed.refined):
        raise AssertionError("refined outputs do not match the detected frames")  # a bug
    boxes = np.stack(bboxes)
    raw_cells, refined_cells = _per_frame(feed.raw, n), _per_frame(feed.refined, n)
    raw_xy, refined_xy = np.full((n, K, 2), np.nan), np.full((n, K, 2), np.nan)
    if det.any():
        raw_xy[det] = cells_to_image(raw_cells[det], boxes[det].astype(np.float64), size).numpy()
        refined_xy[det] = cells_to_image(refined_cells[det], boxes[det].astype(np.float64), size).numpy()
    timing = {
        "frames": n,
        "seconds": seconds,
        "fps": n / seconds if seconds > 0 else 0.0,
        "estimator_seconds": estimator_seconds,
        "estimator_fps": n / estimator_seconds if estimator_seconds > 0 else 0.0,
        "model_seconds": feed.seconds,  # preprocessing, windows, model and combining
        "model_fps": int(det.sum()) / feed.seconds if feed.seconds > 0 else 0.0,
        "windows": refiner.windows_run,
    }
    meta = {
        "model": payload["model"],
        "window": window,
        "step": step,
        "heatmap_size": size,
        "c": float(c),
        "estimator": estimator.name,
        "model_path": "",
        "combine": ("mean of the refined coordinates of all windows covering a frame" if refiner.coordinates else
                    "mean of the refined heatmaps of all windows covering a frame, then "
                    + ("the sub-cell peak" if getattr(model, "readout", "argmax") == "subcells" else "argmax")),
    }
    return Prediction(source.name, source.fps, det, boxes, np.stack(scores), raw_cells, refined_cells, raw_xy,
                      refined_xy, np.stack(landmarks).astype(np.float64), meta, timing, source.times)


def _per_frame(cells: dict[int, np.ndarray], n: int) -> np.ndarray:
    """{frame: cells (K, 2)} -> (n, K, 2), NaN for the frames missing from the dict."""
    out = np.full((n, K, 2), np.nan)
    for t, value in cells.items():
        out[t] = value
    return out
