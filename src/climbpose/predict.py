"""`climbpose predict`: refine the pose in a new climbing video with a trained temporal model.

    python -m climbpose predict INPUT --out DIR [--model models/finetuned.pt] [--step 2] ...

INPUT is a video file or a folder of frame images. Per frame, the frozen estimator (BlazePose, or
precomputed heatmaps) gives 25 heatmaps over a person box; the temporal model refines windows of
them; both the raw and the refined keypoints are mapped back to image pixels and written as
`DIR/<name>.keypoints.csv`, `DIR/<name>.keypoints.json` and an overlay video `DIR/<name>.overlay.mp4`.

How frames become model windows (the choices, all documented in the README):

* Inputs are exactly the training inputs: the estimator's maps rounded to float16 (as `extract`
  stores them), `heatmaps.normalise(maps, c)` (negatives to 0, each map summed to c) rounded to
  float16 again (as `preprocess` stores them), then float32. DeciWatch reads their argmax cells.
* Sequences: with `step` s, the frames t = r, r+s, r+2s, ... of each residue r form one sequence
  (s = 1: the whole clip; s = 2, SPEC 1.4's experiment 3: the even and the odd frames), and a
  sequence is cut at every frame where no person was found (or the box is empty). Windows are k
  consecutive frames of one piece, every start (stride 1), so they never contain a frame without
  a person; with s = 2 this is exactly the training rule (`data.windows.valid_windows`), where the
  skipped frame between two window frames need not have a person.
* A piece shorter than the window (a clip shorter than a window, or a short detection) gets one
  window padded by repeating its edge frames, floor((k-n)/2) copies of its first frame before it
  and the rest copies of its last frame after it, so its real frames sit in the middle of the
  window; only the real frames' outputs are used.
* Frames covered by several windows (up to k) combine them: the mean of the refined heatmaps of all
  covering windows, then the argmax (heatmap models), or the mean of the refined coordinates
  (DeciWatch). The first and last frames of a piece are covered by fewer windows (one at the very
  edge); they still get an output from every window that holds them.
* A frame without a person is kept in the outputs with `detected` false and empty coordinates:
  nothing is invented for it.
* Raw keypoints are the argmax cells of the same normalised inputs (the "identity function" of the
  evaluation). Cells map to pixels through the frame's box with `heatmaps.cells_to_image`:
  cell column j is x = x1 + j (x2 - x1) / S, rows likewise.
* Memory stays bounded for any length: a sequence is processed in chunks of `chunk` frames, keeping
  the last k-1 frames (and their partial sums) for the windows that straddle two chunks.

Speed: windows are batched and run under `torch.inference_mode`. For Conv3D there is an exact
factorisation (on by default, `--generic` turns it off): the 3D convolution is linear before its
ReLU, so each frame is convolved once with the kernel's k time slices (one 2D convolution to
k x 25 channels), and every window's pre-activation is a sum of those per-frame pieces, with the
window's own zero padding in time (pieces from frames outside the window are left out). That is
the same function as `Conv3D.forward` on every window with about k times less arithmetic; it is
checked against the model on a random window when the refiner is built and is not used if they
differ.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from climbpose.errors import InputError
from climbpose.estimator import Estimator, make_estimator
from climbpose.heatmaps import MASS, argmax_cells, cells_to_image, normalise
from climbpose.io import atomic_path
from climbpose.keypoints import K, NAMES
from climbpose.models import Conv3D
from climbpose.report.overlay import compare_on_frame
from climbpose.train.session import load_model, resolve_device
from climbpose.video import VideoError, probe, read_frames, write_mp4

DEFAULT_MODEL = Path("models/finetuned.pt")
DEFAULT_ESTIMATOR_DIR = Path("models/estimator")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
CSV_COLUMNS = ("frame", "keypoint", "x", "y", "score", "source", "detected")
SOURCES = ("raw", "refined")
RAW_COLOUR, REFINED_COLOUR = (235, 40, 40), (60, 140, 255)  # as in the evaluate stage's example frame


class PredictError(InputError):
    """A problem the user can fix (missing or unreadable file, bad option); one line, names the file."""


# -- input ----------------------------------------------------------------------------------------

def _natural_key(path: Path) -> tuple:
    """Sort key: the name with digit runs compared as numbers (frame_2 before frame_10)."""
    parts = re.split(r"(\d+)", path.name)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


@dataclass
class FrameSource:
    """A video file or a folder of images, read as RGB uint8 frames (H, W, 3), any resolution."""

    path: Path
    files: list[Path] | None  # None for a video file
    fps: float
    count: int  # the container's frame count for a video (may be off, 0 if unknown)

    @property
    def name(self) -> str:
        return self.path.stem if self.files is None else self.path.name

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.files is None:
            try:
                yield from read_frames(self.path)
            except VideoError as e:
                raise PredictError(str(e)) from None
            return
        shape = None
        for file in self.files:
            bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if bgr is None:
                raise PredictError(f"{file}: cannot read as an image")
            if shape is None:
                shape = bgr.shape
            elif bgr.shape != shape:
                raise PredictError(f"{file}: {bgr.shape[1]}x{bgr.shape[0]} frame, but the folder's first "
                                   f"frame is {shape[1]}x{shape[0]}; all frames must share one size")
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def open_input(path: str | os.PathLike, fps: float | None = None) -> FrameSource:
    """Check that INPUT exists and looks usable; frames are read later, lazily."""
    path = Path(path)
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                       key=_natural_key)
        if not files:
            raise PredictError(f"{path}: folder holds no frame images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return FrameSource(path, files, float(fps or 30.0), len(files))
    if not path.exists():
        raise PredictError(f"{path}: no such file or folder")
    try:
        count, _, _, video_fps = probe(path)
    except VideoError as e:
        raise PredictError(str(e)) from None
    if fps is None:
        fps = video_fps if math.isfinite(video_fps) and 0 < video_fps < 1000 else 30.0
    return FrameSource(path, None, float(fps), max(count, 0))


# -- model ----------------------------------------------------------------------------------------

def load_trained_model(path: str | os.PathLike, device: torch.device) -> tuple[nn.Module, dict[str, Any]]:
    """`train.session.load_model` with one-line errors: a missing file points to `make repro`."""
    path = Path(path)
    if not path.is_file():
        hint = "run `make repro` to train one, or pass --model PATH"
        raise PredictError(f"{path}: no trained model here; {hint}")
    try:
        return load_model(path, device)
    except Exception as e:  # a corrupt or foreign file: any error from torch.load or the state dict
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PredictError(f"{path}: cannot load as a climbpose model file ({first})") from None


def choose_device(name: str) -> torch.device:
    """`train.session.resolve_device`, with the error worded for this command."""
    if name not in ("auto", "cpu", "cuda"):
        raise PredictError(f"--device {name}: choose auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise PredictError("--device cuda: no CUDA device is available; use --device auto or cpu")
    return resolve_device(name)


# -- the windowed refiner --------------------------------------------------------------------------

class _FactorisedConv3D:
    """Conv3D on windows via one 2D convolution per frame (see the module docstring).

    Works in channels-last layout throughout (frames (n, H, W, K)), where oneDNN's convolution is
    about twice as fast on the CPU and no layout conversion is needed between the steps. For
    windows idx (B, T) of frame indices and per-frame pieces P (n, H, W, D, K), where P[f, ..., d, :]
    is frame f convolved with the kernel's depth slice d, window position j is
    relu(bias + sum over positions i with |i - j| <= D // 2 of P[idx[:, i], ..., i - j + D // 2, :]):
    the Conv3d with the window's own zero padding in time.
    """

    def __init__(self, model: Conv3D) -> None:
        w = model.conv.weight.detach()  # (K_out, K_in, D, kh, kw)
        self.k_out, self.depth = w.shape[0], w.shape[2]
        self.pad_t = self.depth // 2
        self.pad_xy = model.kernel_size // 2
        # (D * K_out, K_in, kh, kw): output channel d * K_out + k of the 2D conv is slice d.
        weight = w.permute(2, 0, 1, 3, 4).reshape(self.depth * self.k_out, w.shape[1], *w.shape[3:])
        self.weight = weight.contiguous(memory_format=torch.channels_last)
        self.bias = model.conv.bias.detach()

    @staticmethod
    def layout(x: torch.Tensor) -> torch.Tensor:
        """Frames' maps (n, K, H, W) -> (n, H, W, K), the layout this path computes in."""
        return x.permute(0, 2, 3, 1).contiguous()

    def pieces(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames (n, H, W, K) -> pieces (n, H, W, D, K), one 2D convolution for all of them."""
        n, h, w, _ = frames.shape
        y = F.conv2d(frames.permute(0, 3, 1, 2), self.weight, padding=self.pad_xy)  # channels-last in and out
        return y.permute(0, 2, 3, 1).reshape(n, h, w, self.depth, self.k_out)

    def windows(self, pieces: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Windows idx (B, T) of frame indices into `pieces` -> outputs (B, T, H, W, K)."""
        b, t = idx.shape
        # Sliding windows (consecutive starts, consecutive frames) read slices, not gathered copies.
        first = int(idx[0, 0])
        sliding = bool((idx == first + torch.arange(b, device=idx.device)[:, None]
                        + torch.arange(t, device=idx.device)[None, :]).all())
        out = self.bias.expand(b, t, *pieces.shape[1:3], self.k_out).clone()
        for j in range(t):
            for i in range(max(0, j - self.pad_t), min(t, j + self.pad_t + 1)):
                d = i - j + self.pad_t
                out[:, j] += pieces[first + i:first + i + b, :, :, d] if sliding else pieces[idx[:, i], :, :, d]
        return out.clamp_min_(0)


def _factorise(model: nn.Module, window: int, device: torch.device) -> _FactorisedConv3D | None:
    """The exact fast path for a Conv3D, verified on a random window; None when it does not apply."""
    if type(model) is not Conv3D:
        return None
    fast = _FactorisedConv3D(model)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, window, model.num_keypoints, 24, 24, generator=generator).to(device) * 10
    with torch.inference_mode():
        expected = model(x)
        frames = fast.layout(x[0])
        got = fast.windows(fast.pieces(frames), torch.arange(window, device=device)[None])
    got = got.permute(0, 1, 4, 2, 3)  # back to (B, T, K, H, W)
    scale = float(expected.abs().max()) or 1.0
    return fast if float((got - expected).abs().max()) <= 1e-4 * scale else None


@dataclass
class _Sequence:
    """Frames of one residue class since its last gap, not yet finalised."""

    frames: list[int] = field(default_factory=list)
    inputs: list[torch.Tensor] = field(default_factory=list)
    acc: torch.Tensor | None = None  # partial output sums of the first len(acc) frames (carried over)
    cnt: torch.Tensor | None = None
    processed: bool = False  # some windows of this piece have already run


class WindowRefiner:
    """Streams one clip's detected frames through a temporal model in sliding windows.

    `push(frames, inputs)` adds consecutive frames' model inputs (normalised heatmaps (n, K, S, S)
    or cells (n, K, 2)), all with a person; `gap(t)` says frame t has none; `finish()` ends the
    clip. Each returns the frames whose outputs became final, as a list of (frame indices, refined
    cells (n, K, 2) float, x = col, y = row). See the module docstring for sequences, padding and
    how windows are combined. Work is done in batches (frames are pushed in groups, windows run
    per chunk): on a busy CPU every small torch op costs a thread synchronisation.
    """

    def __init__(self, model: nn.Module, window: int, step: int = 1, batch_size: int = 16,
                 chunk: int = 48, fast: bool = True) -> None:
        if window < 1 or step < 1 or batch_size < 1 or chunk < 1:
            raise ValueError(f"window, step, batch_size and chunk must be >= 1, got {window}, {step}, "
                             f"{batch_size}, {chunk}")
        self.model, self.window, self.step = model, int(window), int(step)
        self.batch_size, self.chunk = int(batch_size), int(chunk)
        self.coordinates = getattr(model, "input_kind", "heatmaps") == "coordinates"
        self.device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.fast = _factorise(model, self.window, self.device) if fast else None
        self.seconds = 0.0  # time spent in the model and in combining its outputs
        self.windows_run = 0
        self._sequences: dict[int, _Sequence] = {}

    def push(self, frames: list[int], inputs: torch.Tensor) -> list[tuple[np.ndarray, np.ndarray]]:
        inputs = inputs.to(self.device)
        done = []
        for t, x in zip(frames, inputs):  # views: the rows are stacked once per chunk in _run
            seq = self._sequences.setdefault(t % self.step, _Sequence())
            seq.frames.append(int(t))
            seq.inputs.append(x)
        for seq in self._sequences.values():
            if len(seq.frames) >= self.chunk + self.window - 1:
                done.append(self._run(seq, final=False))
        return done

    def gap(self, t: int) -> list[tuple[np.ndarray, np.ndarray]]:
        seq = self._sequences.pop(t % self.step, None)
        return [self._run(seq, final=True)] if seq is not None else []

    def finish(self) -> list[tuple[np.ndarray, np.ndarray]]:
        done = [self._run(seq, final=True) for seq in self._sequences.values()]
        self._sequences.clear()
        return done

    def _windows(self, n: int, seq: _Sequence, final: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Window frame positions (W, k) in the buffer and which positions give outputs (k,)."""
        k = self.window
        if n >= k:
            idx = torch.arange(n - k + 1)[:, None] + torch.arange(k)[None, :]
            return idx, torch.ones(k, dtype=torch.bool)
        if final and not seq.processed:  # a piece shorter than a window: pad with its edge frames
            left = (k - n) // 2
            positions = [0] * left + list(range(n)) + [n - 1] * (k - n - left)
            real = torch.zeros(k, dtype=torch.bool)
            real[left:left + n] = True
            return torch.tensor([positions]), real
        return torch.zeros((0, k), dtype=torch.long), torch.ones(k, dtype=torch.bool)

    def _run(self, seq: _Sequence, final: bool) -> tuple[np.ndarray, np.ndarray]:
        start = time.perf_counter()
        n = len(seq.frames)
        inputs = torch.stack(seq.inputs)  # (n, K, H, W) or (n, K, 2)
        if self.fast is not None:
            inputs = self.fast.layout(inputs)  # (n, H, W, K)
        acc = torch.zeros(inputs.shape, device=self.device)  # every model's output has its input's shape
        cnt = torch.zeros(n, device=self.device)
        if seq.acc is not None:
            acc[:len(seq.acc)], cnt[:len(seq.cnt)] = seq.acc, seq.cnt
        idx, real = self._windows(n, seq, final)
        idx, real = idx.to(self.device), real.to(self.device)
        every = bool(real.all())
        with torch.inference_mode():
            pieces = self.fast.pieces(inputs) if self.fast is not None and len(idx) else None
            for rows in idx.split(self.batch_size) if len(idx) else ():
                out = self.fast.windows(pieces, rows) if self.fast is not None else self.model(inputs[rows])
                if not every:
                    out, rows = out[:, real], rows[:, real]
                used = rows.reshape(-1)
                acc.index_add_(0, used, out.reshape(-1, *out.shape[2:]).float())
                cnt.index_add_(0, used, torch.ones_like(used, dtype=cnt.dtype))
            self.windows_run += len(idx)
            done = n if final else n - (self.window - 1)
            if bool((cnt[:done] == 0).any()):
                raise AssertionError("a frame was covered by no window")  # a bug, not a user error
            mean = acc[:done] / cnt[:done].view(-1, *([1] * (acc.dim() - 1)))
            if self.coordinates:
                cells = mean
            else:
                cells = argmax_cells(mean.permute(0, 3, 1, 2) if self.fast is not None else mean).float()
        frames = np.asarray(seq.frames[:done], dtype=np.int64)
        result = (frames, cells.cpu().numpy().astype(np.float64))
        # Carry the frames whose windows are not all run yet, with their partial sums.
        seq.frames, seq.inputs = seq.frames[done:], seq.inputs[done:]
        seq.acc, seq.cnt = acc[done:], cnt[done:]
        seq.processed = True
        self.seconds += time.perf_counter() - start
        return result


# -- the whole clip --------------------------------------------------------------------------------

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
    meta: dict[str, Any]
    timing: dict[str, float]

    def __len__(self) -> int:
        return len(self.detected)


def model_inputs(heatmaps: np.ndarray, c: float, coordinates: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The training preprocessing of estimator maps (n, K, S, S) -> (model inputs, raw argmax cells
    (n, K, 2) int64).

    As the pipeline: rounded to float16 (how `extract` stores them), normalised to mass c, rounded to
    float16 again (how `preprocess` stores them), read as float32 (the training batches); DeciWatch
    reads the argmax cells of that. torch rounds to float16 as numpy does (to nearest, ties to even),
    several times faster.
    """
    maps = torch.from_numpy(np.asarray(heatmaps, dtype=np.float32)).half().float()
    x = normalise(maps, c).half().float()
    cells = argmax_cells(x)
    return (cells.float() if coordinates else x), cells


def _make_estimator(kind: str, source: FrameSource, size: int, estimator_dir: Path,
                    precomputed: Path | None, threads: int) -> Estimator:
    if kind == "blazepose":
        from climbpose.estimator.weights import ensure_weights

        try:
            ensure_weights(estimator_dir)
        except Exception as e:
            raise PredictError(f"{estimator_dir}: BlazePose weights are missing and fetching them failed "
                               f"({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})") from None
        est = make_estimator("blazepose", model_dir=estimator_dir, heatmap_size=size, num_threads=threads,
                             fetch=False)
        est.reset()
        return est
    if kind == "precomputed":
        if precomputed is None:
            raise PredictError("--estimator precomputed needs --precomputed FILE.npz (or a folder with "
                               f"{source.name}.npz)")
        file = precomputed if precomputed.suffix == ".npz" else precomputed / f"{source.name}.npz"
        try:
            return make_estimator("precomputed", directory=file.parent, video=file.stem, heatmap_size=size)
        except Exception as e:  # missing file, not an npz, missing keys, wrong shapes or size
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise PredictError(message if str(file) in message else f"{file}: {message}") from None
    raise PredictError(f"--estimator {kind}: choose blazepose or precomputed")


def predict_clip(
    source: FrameSource,
    model: nn.Module,
    payload: dict[str, Any],
    estimator: str = "blazepose",
    estimator_dir: str | os.PathLike = DEFAULT_ESTIMATOR_DIR,
    precomputed: str | os.PathLike | None = None,
    c: float = MASS,
    step: int = 1,
    batch_size: int = 16,
    threads: int = 2,
    fast: bool = True,
    progress: bool = True,
) -> Prediction:
    """Estimator, then the temporal model over sliding windows, for every frame of `source`."""
    size, window = int(payload["size"]), int(payload["window"])
    if step < 1:
        raise PredictError(f"--step {step}: must be >= 1")
    est = _make_estimator(estimator, source, size, Path(estimator_dir),
                          Path(precomputed) if precomputed is not None else None, threads)
    replay = estimator == "precomputed"
    refiner = WindowRefiner(model, window, step, batch_size, fast=fast)
    coordinates = refiner.coordinates

    detected, bboxes, scores = [], [], []
    raw: dict[int, np.ndarray] = {}
    refined: dict[int, np.ndarray] = {}
    pending: tuple[list[int], list[np.ndarray]] = ([], [])
    prep_seconds = [0.0]  # preprocessing and the model: drain() and the refiner's calls

    def collect(finished: list[tuple[np.ndarray, np.ndarray]]) -> None:
        for idx, cells_out in finished:
            refined.update(zip(idx.tolist(), cells_out))

    def drain() -> None:
        """Preprocess the pending frames in one batch and hand them to the refiner."""
        if pending[0]:
            tick = time.perf_counter()
            x, cells = model_inputs(np.stack(pending[1]), c, coordinates)
            raw.update(zip(pending[0], cells.numpy().astype(np.float64)))
            collect(refiner.push(pending[0], x))
            pending[0].clear()
            pending[1].clear()
            prep_seconds[0] += time.perf_counter() - tick

    total = len(est) if replay else (source.count or None)
    frames: Iterator[np.ndarray | None] = iter([None] * len(est)) if replay else iter(source)
    bar = tqdm(frames, total=total, desc=source.path.name, unit="frame", disable=not progress, leave=False)
    estimator_seconds = 0.0
    start = time.perf_counter()
    for t, frame in enumerate(bar):
        tick = time.perf_counter()
        e = est(frame)
        estimator_seconds += time.perf_counter() - tick
        box = np.asarray(e.bbox, np.float32)
        ok = bool(e.detected) and box[2] > box[0] and box[3] > box[1]  # preprocess's "usable"
        detected.append(ok)
        bboxes.append(box if ok else np.zeros(4, np.float32))
        scores.append(np.asarray(e.scores, np.float32) if ok else np.full(K, np.nan, np.float32))
        if ok:
            pending[0].append(t)
            pending[1].append(e.heatmaps)
            if len(pending[0]) >= batch_size:
                drain()
        else:
            drain()
            tick = time.perf_counter()
            collect(refiner.gap(t))
            prep_seconds[0] += time.perf_counter() - tick
    drain()
    tick = time.perf_counter()
    collect(refiner.finish())
    prep_seconds[0] += time.perf_counter() - tick
    seconds = time.perf_counter() - start
    bar.close()

    n = len(detected)
    if n == 0:
        raise PredictError(f"{source.path}: no frames could be read")
    det = np.asarray(detected, bool)
    boxes = np.stack(bboxes)
    raw_cells, ref = np.full((n, K, 2), np.nan), np.full((n, K, 2), np.nan)
    for t, cells in raw.items():
        raw_cells[t] = cells
    for t, cells in refined.items():
        ref[t] = cells
    if set(refined) != set(np.flatnonzero(det).tolist()) or set(raw) != set(refined):
        raise AssertionError("refined outputs do not match the detected frames")  # a bug
    raw_xy, ref_xy = np.full((n, K, 2), np.nan), np.full((n, K, 2), np.nan)
    if det.any():
        raw_xy[det] = cells_to_image(raw_cells[det], boxes[det].astype(np.float64), size).numpy()
        ref_xy[det] = cells_to_image(ref[det], boxes[det].astype(np.float64), size).numpy()
    timing = {
        "frames": n,
        "seconds": seconds,
        "fps": n / seconds if seconds > 0 else 0.0,
        "estimator_seconds": estimator_seconds,
        "estimator_fps": n / estimator_seconds if estimator_seconds > 0 else 0.0,
        "model_seconds": prep_seconds[0],  # preprocessing, windows, model and combining
        "model_fps": int(det.sum()) / prep_seconds[0] if prep_seconds[0] > 0 else 0.0,
        "windows": refiner.windows_run,
    }
    meta = {
        "model": payload["model"],
        "window": window,
        "step": step,
        "heatmap_size": size,
        "c": float(c),
        "estimator": estimator,
        "model_path": "",
        "forward": "factorised Conv3D" if refiner.fast is not None else "model forward",
        "combine": ("mean of the refined coordinates of all windows covering a frame" if coordinates else
                    "mean of the refined heatmaps of all windows covering a frame, then argmax"),
    }
    return Prediction(source.name, source.fps, det, boxes, np.stack(scores), raw_cells, ref, raw_xy, ref_xy, meta,
                      timing)


# -- outputs ---------------------------------------------------------------------------------------

def _num(value: float, digits: int) -> str:
    return "" if not math.isfinite(value) else f"{value:.{digits}f}"


def write_csv(path: str | os.PathLike, pred: Prediction) -> None:
    """One row per (frame, source, keypoint): frame, keypoint, x, y, score, source, detected.

    Rows go frame by frame, raw before refined, keypoints in SPEC 1.1 order. Frames without a
    person keep their 2 x 25 rows, with empty x, y and score and detected false.
    """
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for t in range(len(pred)):
            flag = "true" if pred.detected[t] else "false"
            for source, xy in (("raw", pred.raw_xy[t]), ("refined", pred.refined_xy[t])):
                writer.writerows((t, name, _num(xy[k, 0], 2), _num(xy[k, 1], 2),
                                  _num(float(pred.scores[t, k]), 4), source, flag)
                                 for k, name in enumerate(NAMES))


def _json_value(value: float, digits: int) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def frame_json(pred: Prediction, t: int) -> dict[str, Any]:
    """Frame t of the JSON file: {frame, time_s, detected, bbox, raw: {name: {x, y, score}}, refined: ...}."""
    entry: dict[str, Any] = {
        "frame": t,
        "time_s": round(t / pred.fps, 4) if pred.fps > 0 else None,
        "detected": bool(pred.detected[t]),
        "bbox": [round(float(v), 2) for v in pred.bboxes[t]] if pred.detected[t] else None,
    }
    for source, xy in (("raw", pred.raw_xy[t]), ("refined", pred.refined_xy[t])):
        entry[source] = {name: {"x": _json_value(xy[k, 0], 2), "y": _json_value(xy[k, 1], 2),
                                "score": _json_value(pred.scores[t, k], 4)}
                         for k, name in enumerate(NAMES)}
    return entry


def json_header(pred: Prediction) -> dict[str, Any]:
    """Everything in the JSON file but the per-frame entries."""
    return {
        "input": pred.meta.get("input", pred.name),
        "frames_total": len(pred),
        "frames_detected": int(pred.detected.sum()),
        "fps": pred.fps,
        "keypoints": list(NAMES),
        "coordinates": "image pixels, origin at the top-left corner, x right, y down; cell column j "
                       "of a frame's S x S grid is x = x1 + j (x2 - x1) / S (rows likewise); null where "
                       "no person was found",
        "sources": {"raw": "argmax of the estimator's heatmaps", "refined": pred.meta["combine"]},
        "score": "the estimator's per-keypoint confidence (the same for both sources)",
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
    """Draw both skeletons (raw red, refined blue), the box and a legend on every frame; return seconds."""
    raw_label = "estimator (raw)"
    refined_label = f"{pred.meta['model']} (refined)"

    def frames() -> Iterator[np.ndarray]:
        for t, image in enumerate(tqdm(source, total=len(pred), desc="overlay", unit="frame",
                                       disable=not progress, leave=False)):
            if t >= len(pred):
                raise PredictError(f"{source.path}: more frames than the {len(pred)} estimated ones")
            ok = bool(pred.detected[t])
            skeletons = [(raw_label, pred.raw_xy[t], None, RAW_COLOUR),
                         (refined_label, pred.refined_xy[t], None, REFINED_COLOUR)]
            caption = f"frame {t}" + ("" if ok else ": no person")
            yield compare_on_frame(image, skeletons, pred.bboxes[t] if ok else None, caption)

    start = time.perf_counter()
    written = write_mp4(path, frames(), pred.fps)
    if written != len(pred):
        raise PredictError(f"{source.path}: {written} frames read for the overlay, {len(pred)} estimated")
    return time.perf_counter() - start


def output_paths(out_dir: str | os.PathLike, name: str) -> dict[str, Path]:
    out = Path(out_dir)
    return {"csv": out / f"{name}.keypoints.csv", "json": out / f"{name}.keypoints.json",
            "video": out / f"{name}.overlay.mp4"}


def predict(
    input: str | os.PathLike,
    out_dir: str | os.PathLike,
    model_path: str | os.PathLike = DEFAULT_MODEL,
    device: str = "auto",
    estimator: str = "blazepose",
    estimator_dir: str | os.PathLike = DEFAULT_ESTIMATOR_DIR,
    precomputed: str | os.PathLike | None = None,
    c: float = MASS,
    step: int = 1,
    batch_size: int = 16,
    threads: int | None = None,
    torch_threads: int | None = 1,
    fps: float | None = None,
    video: bool = True,
    fast: bool = True,
    progress: bool = True,
) -> tuple[Prediction, dict[str, Path]]:
    """The `predict` command as a function: writes the outputs, returns the prediction and their paths.

    `threads`: the estimator's interpreter threads (default min(2, cores)). `torch_threads`: torch's
    intra-op threads while predicting (restored afterwards; None leaves torch's setting). One is the
    default: the model's tensors are small, and on a 2-core machine that also runs the estimator,
    two OpenMP threads made every small op wait for a busy core (5x slower under load, no faster idle).
    """
    source = open_input(input, fps)
    torch_device = choose_device(device)
    model, payload = load_trained_model(model_path, torch_device)
    threads = threads or min(2, os.cpu_count() or 1)
    previous = torch.get_num_threads()
    if torch_threads:
        torch.set_num_threads(torch_threads)
    try:
        pred = predict_clip(source, model, payload, estimator, estimator_dir, precomputed, c, step, batch_size,
                            threads, fast, progress)
    finally:
        torch.set_num_threads(previous)
    pred.meta.update(input=str(source.path), model_path=str(model_path), device=str(torch_device))
    paths = output_paths(out_dir, source.name)
    if not video:
        del paths["video"]
    write_csv(paths["csv"], pred)
    if video:
        seconds = render_overlay(source, pred, paths["video"], progress)
        pred.timing.update(overlay_seconds=seconds, overlay_fps=len(pred) / seconds if seconds > 0 else 0.0)
    write_prediction_json(paths["json"], pred)
    for path in paths.values():
        path.chmod(0o644)  # atomic_path's temporary files are private (mkstemp); these are for sharing
    return pred, paths


# -- command line ----------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a video file, or a folder of frame images (sorted by name, numbers by value)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder for <name>.keypoints.csv/.json and <name>.overlay.mp4")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), metavar="PATH",
                        help="trained model file (default: %(default)s, the pipeline's finetuned model)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where the temporal model runs (default: %(default)s)")
    parser.add_argument("--estimator", default="blazepose", choices=("blazepose", "precomputed"),
                        help="frozen estimator (default: %(default)s)")
    parser.add_argument("--estimator-dir", default=str(DEFAULT_ESTIMATOR_DIR), metavar="DIR",
                        help="BlazePose weights, fetched there if missing (default: %(default)s)")
    parser.add_argument("--precomputed", metavar="PATH",
                        help="with --estimator precomputed: an npz of heatmaps and bboxes, or a folder "
                             "holding <input name>.npz")
    parser.add_argument("--step", type=int, default=1,
                        help="frames between window frames: 2 for experiment-3 models (default: %(default)s)")
    parser.add_argument("--c", type=float, default=MASS,
                        help="mass each input heatmap is scaled to, as in training (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="windows per model call (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None,
                        help="estimator interpreter threads (default: min(2, cores))")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads for the temporal model (default: %(default)s)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of the overlay video (default: the video's, 30 for a folder)")
    parser.add_argument("--no-video", action="store_true", help="skip the overlay video")
    parser.add_argument("--generic", action="store_true",
                        help="run every window through the model's forward (no Conv3D factorisation)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Run `predict` from parsed arguments; a user error prints one line to stderr and returns 1."""
    # FFmpeg (inside OpenCV) would print its own lines about an unreadable file before our one-line
    # error; it reads this on the first video opened in the process. Set it yourself to see them.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        for option, value in (("--step", args.step), ("--batch-size", args.batch_size),
                              ("--threads", args.threads or 1), ("--torch-threads", args.torch_threads)):
            if value < 1:
                raise PredictError(f"{option} {value}: must be >= 1")
        if not args.c > 0:
            raise PredictError(f"--c {args.c}: must be positive")
        if args.fps is not None and not 0 < args.fps < 1000:
            raise PredictError(f"--fps {args.fps}: must be between 0 and 1000")
        pred, paths = predict(
            args.input, args.out, model_path=args.model, device=args.device, estimator=args.estimator,
            estimator_dir=args.estimator_dir, precomputed=args.precomputed, c=args.c, step=args.step,
            batch_size=args.batch_size, threads=args.threads, torch_threads=args.torch_threads, fps=args.fps,
            video=not args.no_video, fast=not args.generic, progress=not args.quiet)
    except InputError as e:  # PredictError and the library's other user-fixable errors
        print(f"climbpose predict: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # writing the outputs (permissions, full disk)
        print(f"climbpose predict: error: {e}", file=sys.stderr)
        return 1
    t, m = pred.timing, pred.meta
    print(f"{pred.meta['input']}: {len(pred)} frames, {int(pred.detected.sum())} with a person; "
          f"{m['model']} (window {m['window']}, step {m['step']}, {m['forward']}) on {m['device']}")
    speed = (f"speed: {t['fps']:.1f} frames/s estimator+model (estimator {t['estimator_fps']:.1f} frames/s, "
             f"model {t['model_fps']:.1f} frames/s)")
    if "overlay_fps" in t:
        speed += f"; overlay {t['overlay_fps']:.1f} frames/s"
    print(speed)
    for path in paths.values():
        print(f"wrote {path}")
    return 0
