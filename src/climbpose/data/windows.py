"""Windows of one video (docs/design.md#windows-and-the-split): which start frames give a window of usable frames.

A window of k frames with step s starting at t is the frames t, t+s, ..., t+(k-1)s; it is valid when
every one of them is usable (a person was found), so a window never contains an undetected frame.
Step 2 is the half-frame-rate experiment 3 (docs/design.md#input-noise-and-the-three-experiments);
the frames skipped between a window's frames may be unusable. Functions take one video's mask:
callers treat videos separately, so windows never cross videos.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["disjoint_windows", "true_runs", "valid_windows", "window_frames", "window_span"]


def _check(k: int, step: int) -> None:
    if int(k) < 1 or int(step) < 1:
        raise ValueError(f"window length k and step must be >= 1, got k={k}, step={step}")


def _mask(usable: ArrayLike) -> np.ndarray:
    mask = np.asarray(usable, dtype=bool)
    if mask.ndim != 1:
        raise ValueError(f"usable must be one video's (T,) mask, got shape {mask.shape}")
    return mask


def window_span(k: int, step: int) -> int:
    """Frames from a window's first to its last frame inclusive: (k-1)*step + 1."""
    _check(k, step)
    return (int(k) - 1) * int(step) + 1


def window_frames(start: ArrayLike, k: int, step: ArrayLike) -> np.ndarray:
    """Frame indices of windows: start (...) -> (..., k) int64, start + step * [0, ..., k-1].

    `step` is one step for all windows or one per window (split rows carry their own).
    """
    steps = np.asarray(step, dtype=np.int64)
    _check(k, steps.min() if steps.size else 1)
    return np.asarray(start, dtype=np.int64)[..., None] + steps[..., None] * np.arange(int(k), dtype=np.int64)


def valid_windows(usable: ArrayLike, k: int, step: int) -> np.ndarray:
    """Every start t (ascending, int64) whose window lies inside the video and is all usable."""
    mask = _mask(usable)
    n = len(mask) - window_span(k, step) + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    # One vectorised AND per window position; k is small, T may be long.
    for i in range(int(k)):
        ok &= mask[i * step : i * step + n]
    return np.flatnonzero(ok).astype(np.int64)


def true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    return starts, np.flatnonzero(edges == -1) - starts


def disjoint_windows(usable: ArrayLike, k: int, step: int) -> np.ndarray:
    """A largest set of valid windows no two of which share a frame (ascending starts, int64).

    Used for validation and test, where a frame in two windows would count twice
    (docs/design.md#windows-and-the-split).
    Windows whose starts differ modulo `step` use disjoint frames, so each residue class is
    packed independently: its frames form the subsequence mask[r::step], a window is k
    consecutive usable entries of it, and tiling every run of usable entries from its start
    (floor(run / k) windows) is optimal, the greedy earliest-first packing of intervals.
    With step 1 this is the plain tiling t, t+k, t+2k, ... of every usable run; with step 2 the
    windows t and t+1 interleave and both are kept.
    """
    mask = _mask(usable)
    _check(k, step)
    k, step = int(k), int(step)
    found = []
    for r in range(min(step, len(mask))):
        run_starts, run_lengths = true_runs(mask[r::step])
        per_run = run_lengths // k
        # Expand run starts into their windows without a Python loop: j-th window of a run
        # starts k*j entries after the run.
        first = np.repeat(run_starts, per_run)
        j = np.arange(per_run.sum()) - np.repeat(np.cumsum(per_run) - per_run, per_run)
        found.append(r + step * (first + k * j))
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(found)).astype(np.int64)
