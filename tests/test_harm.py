"""Known answers for what a row breaks and fixes against the identity function, and for scoring
several rows on one window set."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from climbpose.core import keypoints as kp
from climbpose.evaluate.filters import FilterModel, FilterSpec
from climbpose.evaluate.harm import HarmCounts, harm_counts
from climbpose.evaluate.pck import pair_scores
from climbpose.evaluate.cells import WindowCells, window_cells
from climbpose.evaluate.rows import row_metrics, score_rows, score_split
from climbpose.heatmaps import render_gaussians
from climbpose.models import build_model
from climbpose.data.window_sets import WindowSet
from climbpose.train.loop import evaluate_windows
from tests.test_pck import frames, pck

THRESHOLDS = (0.05, 0.1, 0.2)


def hand_built() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three frames, torso 20 (thresholds 1 / 2 / 4 cells); identity and row differ at five pairs."""
    gt, present = frames(3)
    identity, row = gt.copy(), gt.copy()
    row[0, 0] += (3.0, 0.0)        # identity right; row wrong at 0.05 and 0.1, right at 0.2: broken at 0.05, 0.1
    identity[1, 5] += (0.0, 5.0)   # identity always wrong; row right: fixed at all three
    identity[2, 7] += (1.5, 0.0)   # identity wrong at 0.05 only; row right: fixed at 0.05
    identity[2, 8] += (10.0, 0.0)  # both wrong, in different places: neither
    row[2, 8] -= (10.0, 0.0)
    present[1, 9] = False          # not scored: the row breaking it does not count
    row[1, 9] += 30.0
    return gt, present, identity, row


def test_known_pairs_are_broken_and_fixed():
    gt, present, identity, row = hand_built()
    harm = harm_counts(pair_scores(identity, gt, present, THRESHOLDS), pair_scores(row, gt, present, THRESHOLDS))
    assert harm.broken.tolist() == [1, 1, 0] and harm.fixed.tolist() == [2, 1, 1] and harm.scored == 74
    assert harm.metrics() == pytest.approx({"broken_005": 100 / 74, "broken_010": 100 / 74, "broken_020": 0.0,
                                            "fixed_005": 200 / 74, "fixed_010": 100 / 74, "fixed_020": 100 / 74})


def test_a_row_equal_to_the_reference_breaks_and_fixes_nothing():
    gt, present, identity, _ = hand_built()
    verdicts = pair_scores(identity, gt, present, THRESHOLDS)
    metrics = harm_counts(verdicts, verdicts).metrics()
    assert set(metrics) == {f"{m}_{t}" for m in ("broken", "fixed") for t in ("005", "010", "020")}
    assert all(v == 0.0 for v in metrics.values())


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), spread=st.floats(0.5, 8.0))
def test_pck_difference_is_fixed_minus_broken(seed, n, spread):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0, 56, (n, kp.K, 2))
    present = rng.random((n, kp.K)) > 0.15
    identity = gt + rng.normal(0, spread, gt.shape)
    row = np.where(rng.random((n, kp.K, 1)) < 0.5, identity, gt + rng.normal(0, spread, gt.shape))
    ref, new = pair_scores(identity, gt, present, THRESHOLDS), pair_scores(row, gt, present, THRESHOLDS)
    harm = harm_counts(ref, new)
    # Exactly, as counts: every pair that changes verdict is either broken or fixed.
    assert ((new.correct.sum(axis=(1, 2)) - ref.correct.sum(axis=(1, 2))) == harm.fixed - harm.broken).all()
    assert harm.scored == new.counts().scored.sum()
    a, b, m = ref.counts().result().metrics, new.counts().result().metrics, harm.metrics()
    for t in ("005", "010", "020"):
        if harm.scored:
            assert b[f"pck_{t}"] - a[f"pck_{t}"] == pytest.approx(m[f"fixed_{t}"] - m[f"broken_{t}"], abs=1e-9)
        else:
            assert math.isnan(m[f"fixed_{t}"]) and math.isnan(m[f"broken_{t}"])


def test_harm_counts_add_across_batches():
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 56, (30, kp.K, 2))
    present = rng.random((30, kp.K)) > 0.2
    identity, row = gt + rng.normal(0, 2, gt.shape), gt + rng.normal(0, 2, gt.shape)

    def harm(lo, hi):
        return harm_counts(pair_scores(identity[lo:hi], gt[lo:hi], present[lo:hi]), pair_scores(row[lo:hi], gt[lo:hi], present[lo:hi]))
    whole, parts = harm(0, 30), harm(0, 11) + harm(11, 30)
    assert (parts.broken == whole.broken).all() and (parts.fixed == whole.fixed).all() and parts.scored == whole.scored
    assert parts.metrics() == pytest.approx(whole.metrics())
    with pytest.raises(ValueError, match="thresholds"):
        whole + HarmCounts((0.1,), np.zeros(1), np.zeros(1), 0)


def test_verdicts_of_different_pairs_cannot_be_compared():
    gt, present, identity, row = hand_built()
    other = present.copy()
    other[0, 3] = False
    with pytest.raises(ValueError, match="^reference and row were not scored on the same pairs"):
        harm_counts(pair_scores(identity, gt, present), pair_scores(row, gt, other))
    with pytest.raises(ValueError, match="thresholds"):
        harm_counts(pair_scores(identity, gt, present, (0.1,)), pair_scores(row, gt, present, (0.2,)))


def test_score_rows_and_row_metrics_name_every_key():
    gt, present, identity, row = hand_built()
    cells = {"identity": WindowCells(identity, gt, present), "model": WindowCells(row, gt, present),
             "savgol": WindowCells(identity.copy(), gt, present)}
    scores = score_rows(cells, "identity", THRESHOLDS)
    assert scores["identity"].harm is None and scores["model"].harm.fixed.tolist() == [2, 1, 1]
    metrics, parts = row_metrics(scores, full=("model", "identity"))
    assert metrics["model_broken_010"] == pytest.approx(100 / 74) and metrics["savgol_fixed_020"] == 0.0
    assert metrics["model_pck_005"] - metrics["identity_pck_005"] == pytest.approx(100 / 74)  # fixed 2 - broken 1
    assert not any(k.startswith(("identity_broken", "identity_fixed")) for k in metrics)
    assert "identity_thr_020" in metrics and "model_keypoints_scored" in metrics
    assert set(k for k in metrics if k.startswith("savgol_")) == {f"savgol_{m}_{t}" for m in ("pck", "broken", "fixed")
                                                                    for t in ("005", "010", "020")}
    assert len(parts) == 3 * len(kp.PARTS) and "model_pck_020_wrist" in parts
    shifted = WindowCells(row, gt + 1.0, present)  # other frames
    with pytest.raises(ValueError, match="same windows"):
        score_rows({**cells, "model": shifted}, "identity")
    with pytest.raises(ValueError, match="reference"):
        score_rows(cells, "estimator")


def still_person_windows(input_kind: str) -> tuple[WindowSet, int]:
    """Ten frames of one standing person whose estimate jumps 3 cells in frame 4, as windows of five."""
    size, n = 32, 10
    rng = np.random.default_rng(3)
    cells = torch.from_numpy(rng.integers(4, size - 4, size=(1, kp.K, 2))).repeat(n, 1, 1)
    cells[:, kp.LEFT_HIP, 0] = cells[:, kp.LEFT_SHOULDER, 0] + 12  # a torso of about 12 cells
    cells[:, kp.RIGHT_HIP, 0] = cells[:, kp.RIGHT_SHOULDER, 0] + 12
    cells = cells.clamp(0, size - 1)
    noisy = cells.clone()
    noisy[4, :, 0] += 3
    inputs = render_gaussians(noisy.clamp(0, size - 1).float(), 1.0, size, 255.0)
    windows = WindowSet(windows=torch.arange(n - 4)[:, None] + torch.arange(5)[None], target_cells=cells,
                        present=torch.ones(n, kp.K, dtype=torch.bool), size=size, c=255.0, sigma=1.0,
                        input_kind=input_kind, inputs=inputs, targets=inputs)
    return windows, size


def test_the_training_loops_validation_is_the_evaluations_scoring_loop():
    heatmaps, size = still_person_windows("heatmaps")
    coordinates, _ = still_person_windows("coordinates")
    savgol = FilterModel(FilterSpec("savgol", (("window_length", 5.0), ("polyorder", 0.0))))
    for model, windows in ((build_model("identity"), heatmaps), (savgol, coordinates)):
        cells = window_cells(model, windows, 4, 0)
        assert cells.pred.shape == (len(windows) * 5, kp.K, 2) and cells.loss is None
        # The loss is a mean over windows, whatever the batches: a loss of 2 per batch gives 2.
        assert window_cells(model, windows, 3, 0, loss=lambda output, targets, present: torch.tensor(2.0)).loss == 2.0
        _, expected = evaluate_windows(model, windows, 4, 0, size)
        assert pck(cells.pred, cells.gt, cells.present).metrics == pytest.approx(expected.metrics, nan_ok=True)
    metrics, _ = score_split({"identity": (build_model("identity"), heatmaps), "savgol": (savgol, coordinates)},
                             "identity", 4, 0, size, full=("identity",))
    assert metrics["identity_pck_005"] < 100.0  # the jump is wrong at 0.05 (3 cells > 0.6)
    assert metrics["savgol_pck_005"] - metrics["identity_pck_005"] == pytest.approx(
        metrics["savgol_fixed_005"] - metrics["savgol_broken_005"])
