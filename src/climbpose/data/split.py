"""The train/validation/test split of windows (docs/design.md#windows-and-the-split), seeded and deterministic.

Frames are split, not windows: every frame belongs to exactly one set, and a set's windows use
only its own frames, so no frame is shared between sets. Training takes every valid window of
its frames (stride 1); validation and test take a largest set of windows no two of which share
a frame, so each frame counts once in their scores.

Two protocols choose which frames go where:

* by="frames": each video is cut into contiguous blocks of about `block` frames; blocks
  of all videos go to the sets in a seeded random order, each block to the set furthest behind
  its share of usable frames so far. Neighbouring blocks of one set join into longer runs, and
  windows may span them; frames at a boundary between sets are lost to windows, which is the
  price of keeping the sets' frames apart (and why blocks are much longer than a window).
* by="videos": the same, with each whole video one block (no video is in two sets): the cleaner
  protocol when there are enough videos.

The assignment depends on the usable masks, blocks, fractions and seed but not on k or step, so
experiments with full- and half-rate windows see the same test frames (unless the best candidate
leaves a set without a window for one of them; see `split_windows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike

from climbpose.data.windows import disjoint_windows, valid_windows, window_frames, window_span
from climbpose.core.errors import InputError

__all__ = ["SETS", "Split", "split_windows"]

SETS: tuple[str, ...] = ("train", "val", "test")


class SplitError(InputError):
    """The data cannot be split as asked (too few windows, windows longer than the videos)."""


@dataclass(frozen=True)
class Split:
    """The windows of each set and where every frame went.

    rows: set name -> (n, 3) int64 windows as (video index, start, step), sorted by video, start.
    frame_set: per video, (T,) int8 index into SETS of the set each frame was assigned to (its
    unusable frames included, though no window contains them).
    summary: flat JSON-ready counts: `windows_<set>`, `frames_<set>` (distinct frames in the set's
    windows), `usable_<set>` (usable frames assigned to the set), `frames_unused` (usable frames
    in no window), `frames_usable`, `frames_total`, `videos`, and the parameters used.
    """

    rows: dict[str, np.ndarray]
    frame_set: tuple[np.ndarray, ...]
    summary: dict[str, int | float | str]

    @property
    def train(self) -> np.ndarray:
        return self.rows["train"]

    @property
    def val(self) -> np.ndarray:
        return self.rows["val"]

    @property
    def test(self) -> np.ndarray:
        return self.rows["test"]


def _blocks(lengths: Sequence[int], block: int, whole_videos: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(video, begin, end) of every block. A video of T frames gets round(T / block)
    blocks of near-equal length (at least one), so no block is a tiny leftover tail."""
    video, begin, end = [], [], []
    for v, t in enumerate(lengths):
        n = 1 if whole_videos or t == 0 else max(1, int(round(t / block)))
        edges = (np.arange(n + 1) * t) // n
        video += [v] * n
        begin += edges[:-1].tolist()
        end += edges[1:].tolist()
    return np.array(video, dtype=np.int64), np.array(begin, dtype=np.int64), np.array(end, dtype=np.int64)


def _assign(order: np.ndarray, weights: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """Give blocks, in `order`, to the set that is furthest behind its share of the weight so
    far (the largest fraction * total - assigned). Every set then stays within one block's weight
    of its share at all times, so the final fractions err by at most max(weight) / total."""
    label = np.empty(len(weights), dtype=np.int8)
    assigned = [0.0] * len(fractions)
    active = [s for s, f in enumerate(fractions) if f > 0]
    total = 0.0
    for b in order.tolist():
        w = float(weights[b])
        total += w
        best = max(active, key=lambda s: (fractions[s] * total - assigned[s], -s))  # ties: lower set
        assigned[best] += w
        label[b] = best
    return label


def _set_windows(masks: Sequence[np.ndarray], frame_set: Sequence[np.ndarray], k: int, step: int) -> list[np.ndarray]:
    """(n, 3) window rows of each set, for one assignment of frames to sets."""
    rows: list[list[np.ndarray]] = [[] for _ in SETS]
    for v, (mask, labels) in enumerate(zip(masks, frame_set)):
        for s in range(len(SETS)):
            # Train keeps every window (stride 1); val and test keep frame-disjoint ones.
            pick = valid_windows if s == 0 else disjoint_windows
            starts = pick(mask & (labels == s), k, step)
            rows[s].append(np.stack([np.full_like(starts, v), starts, np.full_like(starts, step)], axis=1))
    return [np.concatenate(r).reshape(-1, 3) if r else np.zeros((0, 3), np.int64) for r in rows]


def split_windows(
    usable: Sequence[ArrayLike],
    k: int,
    step: int,
    fractions: Sequence[float],
    seed: int,
    by: Literal["frames", "videos"],
    block: int,
    n_trials: int = 16,
) -> Split:
    """Split the windows of several videos into train/val/test (docs/design.md#windows-and-the-split).

    usable: one (T_v,) bool mask per video (frames where a person was found). k, step: the
    window (step 2 for half frame rate). fractions: shares of usable frames for train, val and
    test (non-negative, summing to 1; a set with share 0 stays empty). by/block: the
    protocol (module docstring); block, the block length in frames, must be at least the window
    span for by="frames" and is ignored for by="videos".

    `n_trials` seeded random block orders are assigned; the candidate whose usable-frame
    fractions are closest to `fractions` (largest absolute error, ties to the earlier) and that
    gives every set with a positive share at least one window is kept. Same inputs and seed give
    the same split. Raises ValueError when the window span is longer than every video, when no
    valid window exists, or when no candidate gives every set a window.
    """
    masks = [np.asarray(u, dtype=bool) for u in usable]
    if any(m.ndim != 1 for m in masks):
        raise ValueError("usable must be a sequence of one-dimensional (T,) masks, one per video")
    fr = [float(f) for f in fractions]
    if len(fr) != len(SETS) or min(fr) < 0 or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be {len(SETS)} non-negative shares summing to 1, got {tuple(fractions)}")
    if by not in ("frames", "videos"):
        raise ValueError(f"by must be 'frames' or 'videos', got {by!r}")
    span = window_span(k, step)
    if int(n_trials) < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if by == "frames" and int(block) < span:
        raise SplitError(f"block length {block} is shorter than the window span ({span} frames for k={k}, step={step})")
    lengths = [len(m) for m in masks]
    if not masks or max(lengths) < span:
        raise SplitError(f"the window span ({span} frames for k={k}, step={step}) is longer than every video "
                         f"(longest: {max(lengths, default=0)} frames)")
    n_valid = sum(len(valid_windows(m, k, step)) for m in masks)
    if n_valid == 0:
        raise SplitError(f"no valid window of k={k}, step={step} in {len(masks)} videos: too few consecutive usable frames")

    b_video, b_begin, b_end = _blocks(lengths, int(block), by == "videos")
    usable_cum = [np.concatenate(([0], np.cumsum(m))) for m in masks]
    weights = np.array([usable_cum[v][e] - usable_cum[v][b] for v, b, e in zip(b_video, b_begin, b_end)], dtype=np.float64)
    total = weights.sum()

    rng = np.random.default_rng(seed)
    candidates = []
    for trial in range(int(n_trials)):
        label = _assign(rng.permutation(len(weights)), weights, fr)
        share = np.bincount(label, weights=weights, minlength=len(SETS)) / total
        candidates.append((float(np.abs(share - np.array(fr)).max()), trial, label))
    candidates.sort(key=lambda c: (c[0], c[1]))

    # Check the best candidates first; usually the first one already gives every set a window.
    best_missing = None
    for _, _, label in candidates:
        # Blocks are listed video by video in frame order, so expanding them in order and
        # cutting at the video boundaries gives each video's per-frame labels.
        frame_set = tuple(np.split(np.repeat(label, b_end - b_begin), np.cumsum(lengths)[:-1]))
        rows = _set_windows(masks, frame_set, k, step)
        missing = [SETS[s] for s in range(len(SETS)) if fr[s] > 0 and len(rows[s]) == 0]
        if not missing:
            break
        best_missing = best_missing or missing
    else:
        shares = "/".join(f"{100 * f:g}" for f in fr)
        hint = "more videos or by='frames'" if by == "videos" else "more data or a shorter block"
        raise SplitError(f"too few windows for a {shares} split by {by}: set '{best_missing[0]}' would have no window "
                         f"({n_valid} valid windows of k={k}, step={step} in {len(masks)} videos); use {hint}")

    windows = dict(zip(SETS, rows))
    return Split(windows, frame_set, _summary(masks, frame_set, windows, k, step, fr, seed, by, block))


def _summary(
    masks: Sequence[np.ndarray],
    frame_set: Sequence[np.ndarray],
    windows: dict[str, np.ndarray],
    k: int,
    step: int,
    fractions: Sequence[float],
    seed: int,
    by: str,
    block: int,
) -> dict[str, int | float | str]:
    """Flat counts describing a split, for logs and JSON metrics."""
    covered = [np.zeros(len(m), dtype=bool) for m in masks]
    summary: dict[str, int | float | str] = {
        "by": by, "k": int(k), "step": int(step), "seed": int(seed), "block": int(block),
        "videos": len(masks), "frames_total": int(sum(len(m) for m in masks)),
        "frames_usable": int(sum(m.sum() for m in masks)),
    }
    for s, name in enumerate(SETS):
        rows = windows[name]
        frames = 0
        for v in np.unique(rows[:, 0]).tolist():
            mark = np.zeros(len(masks[v]), dtype=bool)
            mark[window_frames(rows[rows[:, 0] == v, 1], k, step).ravel()] = True
            frames += int(mark.sum())
            covered[v] |= mark
        summary[f"windows_{name}"] = int(len(rows))
        summary[f"frames_{name}"] = frames
        summary[f"usable_{name}"] = int(sum((m & (fs == s)).sum() for m, fs in zip(masks, frame_set)))
        summary[f"fraction_{name}"] = fractions[s]
    summary["frames_unused"] = int(summary["frames_usable"]) - int(sum(c.sum() for c in covered))
    return summary
