"""Known answers for the classical filter baselines: Savitzky-Golay and One-Euro, and their selection."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from climbpose.evaluate.filters import FilterModel, FilterSpec, choose, filter_grid, one_euro, savgol
from climbpose.heatmaps import render_gaussians
from climbpose.models import build_model
from climbpose.data.window_sets import WindowSet
from climbpose.train.loop import evaluate_windows


def alpha(cutoff: float, period: float = 1.0) -> float:
    """Casiez et al.'s smoothing factor, written out independently of the module."""
    return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * cutoff * period))


def trajectories(values: list[float]) -> np.ndarray:
    """One window, one keypoint, the same value in x and y: (1, T, 1, 2)."""
    return np.repeat(np.asarray(values, dtype=np.float64)[None, :, None, None], 2, axis=-1)


@pytest.mark.parametrize("window_length", [3, 5])
def test_savgol_returns_a_quadratic_trajectory_exactly(window_length):
    t = np.arange(5, dtype=np.float64)
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 4, 1, 25, 2))  # four windows, each its own parabola per coordinate
    x = a * t[None, :, None, None] ** 2 + b * t[None, :, None, None] + c
    assert np.allclose(savgol(x, window_length, 2), x, atol=1e-9)


def test_savgol_of_a_spike_is_the_known_moving_average():
    # polyorder 0 is a moving mean; at the edges (mode "interp") the mean of the first/last 3 samples.
    out = savgol(trajectories([0, 0, 3, 0, 0]), 3, 0)[0, :, 0, 0]
    assert np.allclose(out, [1, 1, 1, 1, 1])
    out = savgol(trajectories([0, 0, 5, 0, 0]), 5, 1)[0, :, 0, 0]  # a line fitted to all five: flat at 1
    assert np.allclose(out, [1, 1, 1, 1, 1])


def test_savgol_clips_its_window_to_the_trajectory_and_keeps_windows_apart():
    x = np.random.default_rng(1).normal(size=(3, 5, 25, 2))
    assert np.allclose(savgol(x, 7, 2), savgol(x, 5, 2))
    assert np.allclose(savgol(x, 3, 1)[1:2], savgol(x[1:2], 3, 1))  # rows never mix


def test_one_euro_passes_a_constant_through():
    x = np.full((2, 5, 25, 2), 17.25)
    for min_cutoff, beta in [(0.01, 0.0), (0.3, 1.0), (1.0, 0.01)]:
        assert np.array_equal(one_euro(x, min_cutoff, beta, d_cutoff=0.033), x)


def test_one_euro_step_lags_like_an_exponential_filter_when_beta_is_zero():
    fc = 0.1
    out = one_euro(trajectories([0, 1, 1, 1, 1]), fc, beta=0.0, d_cutoff=0.033)[0, :, 0, 0]
    a = alpha(fc)
    assert np.allclose(out, [0.0] + [1 - (1 - a) ** i for i in range(1, 5)], atol=1e-12)
    assert a == pytest.approx(0.3859, abs=1e-4)  # 1 / (1 + 1 / (0.2 pi)): after one frame 39% of the step


def test_one_euro_step_with_beta_speeds_up_by_the_published_rule():
    fc, beta, dc = 0.1, 0.5, 0.2
    out = one_euro(trajectories([0, 1, 1]), fc, beta, dc)[0, :, 0, 0]
    ad = alpha(dc)
    speed1 = ad * 1.0  # (x1 - y0) per frame, low-passed from 0
    y1 = alpha(fc + beta * speed1)
    speed2 = ad * (1.0 - y1) + (1 - ad) * speed1
    y2 = alpha(fc + beta * speed2) + (1 - alpha(fc + beta * speed2)) * y1
    assert np.allclose(out, [0.0, y1, y2], atol=1e-12)
    assert out[1] > alpha(fc)  # less lag than without beta


def test_one_euro_time_is_in_frames_so_half_rate_windows_mean_the_same_cutoff():
    x = np.random.default_rng(2).normal(size=(3, 5, 25, 2))
    # Sampling every 2nd frame (rate 0.5) at cutoff f equals sampling every frame at cutoff 2f.
    assert np.allclose(one_euro(x, 0.1, 0.0, 0.05, rate=0.5), one_euro(x, 0.2, 0.0, 0.1, rate=1.0))
    with pytest.raises(ValueError):
        one_euro(x, 0.0, 0.0, 0.05)


def test_grid_skips_impossible_savgol_settings_and_choose_breaks_ties_by_order():
    grid = filter_grid([3, 5], [1, 3], [0.1, 0.3], [0.0, 1.0], 0.033)
    assert [dict(s.settings)["window_length"] for s in grid["savgol"]] == [3, 5, 5]
    assert len(grid["one_euro"]) == 4
    assert grid["one_euro"][0].metrics() == {"one_euro_min_cutoff": 0.1, "one_euro_beta": 0.0, "one_euro_d_cutoff": 0.033}
    scores = {0: (50.0, 1.0), 1: (50.0, 2.0), 2: (float("nan"), 9.0)}
    specs = grid["savgol"]
    best, scored = choose(specs, lambda spec: scores[specs.index(spec)])
    assert best is specs[1] and len(scored) == 3
    best, _ = choose(specs, lambda spec: (1.0,))
    assert best is specs[0]


def test_filter_model_is_scored_like_a_model_on_argmax_trajectories():
    size, frames = 16, 10
    rng = np.random.default_rng(3)
    cells = torch.from_numpy(rng.integers(2, size - 2, size=(1, 25, 2))).repeat(frames, 1, 1)  # a still person
    noisy = cells.clone()
    noisy[4, :, 0] += 3  # one frame jumps 3 cells to the side
    inputs = render_gaussians(noisy.float(), 1.0, size, 255.0)
    windows = WindowSet(windows=torch.arange(frames - 4)[:, None] + torch.arange(5)[None], target_cells=cells,
                        present=torch.ones(frames, 25, dtype=torch.bool), size=size, c=255.0, sigma=1.0,
                        input_kind="coordinates", inputs=inputs, targets=inputs)
    model = FilterModel(FilterSpec("savgol", (("window_length", 5.0), ("polyorder", 0.0))))
    assert model.input_kind == "coordinates" and not list(model.parameters())
    _, filtered = evaluate_windows(model, windows, 4, 0, size, normaliser="bbox")
    heatmap_windows = WindowSet(windows=windows.windows, target_cells=cells, present=windows.present, size=size, c=255.0,
                                sigma=1.0, input_kind="heatmaps", inputs=inputs, targets=inputs)
    _, identity = evaluate_windows(build_model("identity"), heatmap_windows, 4, 0, size, normaliser="bbox")
    # bbox normaliser: 16 cells, so PCK@0.1 allows 1.6 cells: the 3-cell jump fails, its mean over 5 frames (0.6) passes.
    assert identity.pck(0.1) < 100.0 and filtered.pck(0.1) > identity.pck(0.1)
