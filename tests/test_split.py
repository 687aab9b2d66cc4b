"""Tests of windows and the train/val/test split (docs/design.md#windows-and-the-split)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from climbpose.data.split import SETS, split_windows
from climbpose.data.windows import disjoint_windows, valid_windows, window_frames, window_span

SPLIT_PARAMS = {"fractions": (0.6, 0.2, 0.2), "seed": 0, "by": "frames", "block": 30}  # params.yaml's split


def make_split(masks, k: int, step: int, **changes):
    """`split_windows` with params.yaml's split settings, except those given."""
    return split_windows(masks, k, step, **{**SPLIT_PARAMS, **changes})


# ---------------------------------------------------------------- windows


def test_window_frames_and_span():
    assert window_frames(3, 5, 1).tolist() == [3, 4, 5, 6, 7]
    assert window_frames(np.array([0, 10]), 3, 2).tolist() == [[0, 2, 4], [10, 12, 14]]
    assert window_span(5, 1) == 5 and window_span(5, 2) == 9
    with pytest.raises(ValueError):
        window_span(0, 1)


def test_valid_windows_never_contain_unusable_frames():
    usable = np.ones(12, dtype=bool)
    usable[[4, 9]] = False
    assert valid_windows(usable, 3, 1).tolist() == [0, 1, 5, 6]
    # Step 2 only needs every 2nd frame: start 3 (frames 3, 5, 7) steps over frame 4.
    assert valid_windows(usable, 3, 2).tolist() == [1, 3, 6]
    assert valid_windows(usable[:2], 3, 1).tolist() == []
    assert valid_windows(np.ones(5, bool), 5, 1).tolist() == [0]


def test_disjoint_windows_tile_runs():
    usable = np.ones(23, dtype=bool)
    usable[12] = False
    assert disjoint_windows(usable, 5, 1).tolist() == [0, 5, 13, 18]  # runs of 12 and 10 frames
    # Step 2 over 30 usable frames: starts t and t+1 share no frame, so 6 windows cover all 30.
    starts = disjoint_windows(np.ones(30, dtype=bool), 5, 2)
    assert starts.tolist() == [0, 1, 10, 11, 20, 21]
    covered = window_frames(starts, 5, 2).ravel()
    assert len(np.unique(covered)) == len(covered) == 30


@given(st.lists(st.booleans(), min_size=0, max_size=80), st.integers(1, 4), st.integers(1, 3))
@settings(max_examples=60, deadline=None)
def test_disjoint_windows_are_valid_disjoint_and_maximal(mask, k, step):
    usable = np.array(mask, dtype=bool)
    starts = disjoint_windows(usable, k, step)
    valid = set(valid_windows(usable, k, step).tolist())
    assert set(starts.tolist()) <= valid
    frames = window_frames(starts, k, step).ravel()
    assert len(np.unique(frames)) == len(frames)
    # Maximal: no further valid window fits among the unused frames.
    used = np.zeros(len(usable), dtype=bool)
    used[frames] = True
    assert all(used[window_frames(t, k, step)].any() for t in valid)


# ---------------------------------------------------------------- split helpers


def window_frame_set(rows: np.ndarray, k: int) -> set[tuple[int, int]]:
    return {(int(v), int(f)) for v, s, st_ in rows for f in window_frames(s, k, st_)}


def check_split(split, masks, k, step):
    """Invariants every split must satisfy."""
    sets = {name: window_frame_set(split.rows[name], k) for name in SETS}
    for a in range(len(SETS)):
        for b in range(a + 1, len(SETS)):
            assert not sets[SETS[a]] & sets[SETS[b]], f"{SETS[a]} and {SETS[b]} share frames"
    for s, name in enumerate(SETS):
        rows = split.rows[name]
        assert rows.dtype == np.int64 and rows.shape[1] == 3
        assert (rows[:, 2] == step).all()
        frames = [(v, f) for v, s0, st_ in rows for f in window_frames(s0, k, st_)]
        if name != "train":  # no two val (or test) windows share a frame
            assert len(frames) == len(set(frames))
        for v, f in frames:
            assert 0 <= f < len(masks[v]) and masks[v][f], "window holds an unusable or missing frame"
            assert split.frame_set[v][f] == s, "window uses a frame of another set"
    covered = sum(split.summary[f"frames_{n}"] for n in SETS)
    assert split.summary["frames_unused"] == split.summary["frames_usable"] - covered
    assert all(split.summary[f"windows_{n}"] == len(split.rows[n]) for n in SETS)


def large_masks(n_videos: int = 40, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random(n) > 0.03 for n in rng.integers(100, 2000, n_videos)]


# ---------------------------------------------------------------- split properties


@given(
    lengths=st.lists(st.integers(0, 150), min_size=1, max_size=5),
    p_usable=st.floats(0.5, 1.0),
    k=st.integers(1, 5),
    step=st.integers(1, 2),
    seed=st.integers(0, 2**16),
    by=st.sampled_from(["frames", "videos"]),
    block=st.integers(9, 40),
)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_split_invariants(lengths, p_usable, k, step, seed, by, block):
    rng = np.random.default_rng(seed)
    masks = [rng.random(n) < p_usable for n in lengths]
    try:
        split = make_split(masks, k, step, seed=seed, by=by, block=block)
    except ValueError as err:  # only the documented refusals
        assert any(s in str(err) for s in ("too few windows", "longer than every video", "no valid window"))
        return
    check_split(split, masks, k, step)
    for name in SETS:
        assert len(split.rows[name]) > 0


def test_split_fractions_on_a_large_example():
    masks = large_masks()
    for by in ("frames", "videos"):
        split = make_split(masks, 5, 1, seed=3, by=by)
        check_split(split, masks, 5, 1)
        usable = np.array([split.summary[f"usable_{n}"] for n in SETS], dtype=float)
        covered = np.array([split.summary[f"frames_{n}"] for n in SETS], dtype=float)
        target = np.array([0.6, 0.2, 0.2])
        tol = 0.01 if by == "frames" else 0.03  # whole videos are coarser blocks
        assert np.abs(usable / usable.sum() - target).max() < tol
        assert np.abs(covered / covered.sum() - target).max() < tol + 0.01
        assert split.summary["frames_unused"] < 0.1 * split.summary["frames_usable"]


def test_split_other_fractions_and_an_empty_set():
    masks = large_masks(seed=1)
    split = make_split(masks, 5, 1, fractions=(0.5, 0.3, 0.2), seed=0)
    usable = np.array([split.summary[f"usable_{n}"] for n in SETS], dtype=float)
    assert np.abs(usable / usable.sum() - [0.5, 0.3, 0.2]).max() < 0.01
    no_test = make_split(masks, 5, 1, fractions=(0.8, 0.2, 0.0), seed=0)
    assert len(no_test.test) == 0 and len(no_test.val) > 0


def test_split_is_deterministic_and_seeded():
    masks = large_masks(10)
    a = make_split(masks, 5, 2, seed=5)
    b = make_split([m.copy() for m in masks], 5, 2, seed=5)
    c = make_split(masks, 5, 2, seed=6)
    for name in SETS:
        assert np.array_equal(a.rows[name], b.rows[name])
    assert a.summary == b.summary
    assert any(not np.array_equal(a.rows[n], c.rows[n]) for n in SETS)


def test_split_frames_are_assigned_the_same_for_full_and_half_rate():
    masks = large_masks(10)
    full = make_split(masks, 5, 1, seed=2)
    half = make_split(masks, 5, 2, seed=2)
    check_split(half, masks, 5, 2)
    assert all(np.array_equal(f, h) for f, h in zip(full.frame_set, half.frame_set))


def test_split_half_rate_keeps_interleaved_validation_windows():
    split = make_split([np.ones(300, dtype=bool)], 5, 2, seed=0, block=30)
    starts = set(split.val[:, 1].tolist())
    assert any(t + 1 in starts for t in starts)  # windows t and t+1 share no frame: both kept
    check_split(split, [np.ones(300, dtype=bool)], 5, 2)


def test_split_by_videos_keeps_each_video_in_one_set():
    masks = large_masks(12)
    split = make_split(masks, 5, 1, seed=0, by="videos")
    check_split(split, masks, 5, 1)
    videos = [set(split.rows[n][:, 0].tolist()) for n in SETS]
    assert not (videos[0] & videos[1] or videos[0] & videos[2] or videos[1] & videos[2])
    assert all(len(np.unique(fs)) == 1 for fs in split.frame_set)


def test_split_refusals():
    with pytest.raises(ValueError, match="longer than every video"):
        make_split([np.ones(4, bool), np.ones(3, bool)], 5, 1)
    with pytest.raises(ValueError, match="too few windows"):
        make_split([np.ones(100, bool), np.ones(100, bool)], 5, 1, by="videos")  # 2 videos, 3 sets
    with pytest.raises(ValueError, match="too few windows"):
        make_split([np.ones(40, bool)], 5, 1, block=30)  # a single block
    with pytest.raises(ValueError, match="no valid window"):
        make_split([np.tile([True, True, False], 40)], 5, 1)
    with pytest.raises(ValueError, match="fractions"):
        make_split([np.ones(100, bool)], 5, 1, fractions=(0.6, 0.3, 0.3))
    with pytest.raises(ValueError, match="block"):
        make_split([np.ones(100, bool)], 5, 2, block=8)


def test_window_frames_types_steps_and_refusals():
    frames = window_frames(np.array([2.0, 7.0]), 3, np.array([1, 2]))  # float starts, one step per window
    assert frames.dtype == np.int64 and frames.tolist() == [[2, 3, 4], [7, 9, 11]]
    assert window_frames(np.zeros(0, np.int64), 5, np.zeros(0, np.int64)).shape == (0, 5)  # no windows at all
    for k, step in ((5, 0), (0, 1), (5, np.array([1, 0]))):
        with pytest.raises(ValueError, match=r"^window length k and step must be >= 1, got k="):
            window_frames(np.array([0, 1]), k, step)


def test_a_usable_mask_of_numbers_means_the_same_and_must_be_one_video_s():
    numbers = np.array([1, 1, 1, 0, 1, 1, 1, 1])
    assert valid_windows(numbers, 3, 1).tolist() == valid_windows(numbers.astype(bool), 3, 1).tolist() == [0, 4, 5]
    assert disjoint_windows(numbers, 3, 1).tolist() == [0, 4]
    with pytest.raises(ValueError, match=r"^usable must be one video's \(T,\) mask, got shape \(2, 4\)"):
        valid_windows(numbers.reshape(2, 4), 3, 1)
