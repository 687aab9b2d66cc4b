"""Known-answer tests of PCK (docs/design.md#pck)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from climbpose.core import keypoints as kp
from climbpose.core.contract import THRESHOLDS as DEFAULT_THRESHOLDS
from climbpose.core.contract import metric_key, part_slug, threshold_key
from climbpose.evaluate.pck import PCKResult, pair_scores

LS, RS, LH, RH = kp.LEFT_SHOULDER, kp.RIGHT_SHOULDER, kp.LEFT_HIP, kp.RIGHT_HIP
WRIST_L, WRIST_R = kp.INDEX["left_wrist"], kp.INDEX["right_wrist"]


def pck(*args, **kwargs) -> PCKResult:
    """PCK in one call, as the evaluation computes it (arguments of `pair_scores`)."""
    return pair_scores(*args, **kwargs).counts().result()


def frame(torso: float = 20.0) -> np.ndarray:
    """Ground truth (K, 2) of one frame with both shoulder-hip distances equal to `torso`."""
    gt = np.zeros((kp.K, 2))
    gt[:, 0] = np.arange(kp.K) + 5.0  # other keypoints anywhere; distinct positions
    gt[:, 1] = 30.0
    gt[LS], gt[LH] = (10.0, 10.0), (10.0, 10.0 + torso)
    gt[RS], gt[RH] = (20.0, 10.0), (20.0, 10.0 + torso)
    return gt


def frames(n: int, torso: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    gt = np.stack([frame(torso)] * n)
    return gt, np.ones((n, kp.K), dtype=bool)


def test_metric_keys():
    assert [threshold_key(t) for t in (0.05, 0.1, 0.2, 0.5, 1.0, 0.025)] == ["005", "010", "020", "050", "100", "002p5"]
    assert metric_key("pck", 0.2) == "pck_020" and metric_key("thr", 0.05) == "thr_005"
    assert metric_key("pck", 0.2, "Shoulder") == "pck_020_shoulder"
    assert part_slug("Index finger") == "index_finger"
    with pytest.raises(ValueError):
        threshold_key(0.0)


def test_perfect_prediction_scores_100_and_reports_keys():
    gt, present = frames(3)
    res = pck(gt.copy(), gt, present)
    assert res.metrics == {
        "pck_005": 100.0, "pck_010": 100.0, "pck_020": 100.0,
        "thr_005": 1.0, "thr_010": 2.0, "thr_020": 4.0,
        "frames_scored": 3, "keypoints_scored": 3 * kp.K,
    }
    assert len(res.per_part) == len(kp.PARTS) * len(DEFAULT_THRESHOLDS)
    assert all(v == 100.0 for v in res.per_part.values())
    assert "pck_020_shoulder" in res.per_part and "pck_005_index_finger" in res.per_part
    assert res.pck(0.1) == 100.0 and res.thr(0.2) == 4.0


def test_offset_of_exactly_the_threshold_is_correct_and_beyond_is_not():
    gt, present = frames(1)  # torso 20: thresholds 1, 2, 4 cells
    exact = gt + np.array([1.0, 0.0])
    beyond = gt + np.array([1.0 + 1e-6, 0.0])
    assert pck(exact, gt, present).metrics["pck_005"] == 100.0
    res = pck(beyond, gt, present).metrics
    assert (res["pck_005"], res["pck_010"], res["pck_020"]) == (0.0, 100.0, 100.0)
    # Diagonal offsets at exactly the threshold: a 3-4-5 triangle with torso 100 (0.05 x 100 = 5),
    # and (0.6, 0.8) with torso 20, whose distance computed in floats comes out at 1 + 1e-15:
    # the inclusive rule must not depend on that rounding.
    gt100, present100 = frames(1, torso=100.0)
    assert pck(gt100 + np.array([3.0, 4.0]), gt100, present100).metrics["pck_005"] == 100.0
    assert pck(gt + np.array([0.6, 0.8]), gt, present).metrics["pck_005"] == 100.0
    assert pck(gt + np.array([0.6, 0.8 + 1e-6]), gt, present).metrics["pck_005"] == 0.0


def test_frames_without_full_torso_are_skipped():
    gt, present = frames(3)
    gt[1] = frame(torso=10.0)  # thresholds 0.5 / 1 / 2 cells
    pred = gt.copy()
    present[2, RH] = False  # frame 2 has no torso: its wrong predictions must not count
    pred[2] += 50.0
    res = pck(pred, gt, present).metrics
    assert res["frames_scored"] == 2 and res["keypoints_scored"] == 2 * kp.K
    assert res["pck_005"] == 100.0
    assert res["thr_010"] == pytest.approx((2.0 + 1.0) / 2)  # mean over scored frames only


def test_missing_keypoints_are_skipped():
    gt, present = frames(2)
    pred = gt.copy()
    pred[0, 0] += 30.0  # wrong, but its ground truth is missing
    pred[1, 5] += 30.0  # wrong and scored
    present[0, 0] = False
    res = pck(pred, gt, present).metrics
    assert res["keypoints_scored"] == 2 * kp.K - 1
    assert res["pck_020"] == pytest.approx(100.0 * (2 * kp.K - 2) / (2 * kp.K - 1))


def test_per_part_rows_pool_left_and_right():
    gt, present = frames(3)
    pred = gt.copy()
    # Wrists: frame 0 left right / right wrong; frame 1 left right / right missing;
    # frame 2 both wrong. Pooled: 2 correct of 5 scored.
    pred[0, WRIST_R] += 10.0
    present[1, WRIST_R] = False
    pred[2, [WRIST_L, WRIST_R]] += 10.0
    # Nose is a row of its own: wrong in frame 0 only -> 2 / 3.
    pred[0, 0] += 10.0
    res = pck(pred, gt, present)
    assert res.per_part["pck_020_wrist"] == pytest.approx(100.0 * 2 / 5)
    assert res.per_part["pck_020_nose"] == pytest.approx(100.0 * 2 / 3)
    assert res.per_part["pck_020_elbow"] == 100.0
    # The overall value pools the same pairs: 5 wrong of 3 x 25 - 1 scored.
    assert res.metrics["pck_020"] == pytest.approx(100.0 * (74 - 4) / 74)


def test_pck_is_a_pooled_mean_not_a_mean_of_frame_means():
    gt, present = frames(2)
    pred = gt.copy()
    # Frame 0: only the 4 torso keypoints annotated, all correct (4 / 4).
    present[0] = False
    present[0, [LS, RS, LH, RH]] = True
    # Frame 1: all 25 annotated, 5 wrong (20 / 25).
    pred[1, [0, 1, 2, 5, 6]] += 10.0
    res = pck(pred, gt, present).metrics
    assert res["keypoints_scored"] == 29 and res["frames_scored"] == 2
    assert res["pck_020"] == pytest.approx(100.0 * 24 / 29)  # 82.76, not (100 + 80) / 2 = 90
    assert res["pck_020"] != pytest.approx(90.0)


def test_known_mixed_example_at_three_thresholds():
    gt, present = frames(2)  # torso 20: 1 / 2 / 4 cells
    pred = gt.copy()
    pred[0, 0] += (0.0, 1.5)  # correct at 0.1 and 0.2
    pred[0, 1] += (3.0, 0.0)  # correct at 0.2 only
    pred[1, 2] += (0.0, 4.5)  # never correct
    res = pck(pred, gt, present).metrics
    n = 2 * kp.K
    assert res["pck_005"] == pytest.approx(100.0 * (n - 3) / n)
    assert res["pck_010"] == pytest.approx(100.0 * (n - 2) / n)
    assert res["pck_020"] == pytest.approx(100.0 * (n - 1) / n)


def test_bbox_normaliser():
    gt, present = frames(2)
    present[1, RH] = False  # no torso, but the bbox normaliser does not need one
    pred = gt + np.array([0.0, 3.0])
    square = pck(pred, gt, present, normaliser="bbox", box_size=56).metrics
    assert square["thr_005"] == pytest.approx(2.8) and square["thr_020"] == pytest.approx(11.2)
    assert square["pck_005"] == 0.0 and square["pck_010"] == 100.0  # 3 > 2.8; 3 <= 5.6
    assert square["frames_scored"] == 2 and square["keypoints_scored"] == 2 * kp.K - 1
    wide = pck(pred, gt, present, normaliser="bbox", box_size=(40, 60)).metrics
    assert wide["thr_005"] == pytest.approx(3.0) and wide["pck_005"] == 100.0  # 3 <= 0.05 x 60
    with pytest.raises(ValueError, match="box_size"):
        pck(pred, gt, present, normaliser="bbox")


def test_counts_add_up_to_the_pooled_result():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 56, (40, kp.K, 2)).astype(float)
    pred = gt + rng.normal(0, 3, gt.shape).round()
    present = rng.random((40, kp.K)) > 0.2
    whole = pck(pred, gt, present)
    parts = pair_scores(pred[:13], gt[:13], present[:13]).counts() + pair_scores(pred[13:], gt[13:], present[13:]).counts()
    pooled = parts.result()
    assert pooled.metrics == pytest.approx(whole.metrics)
    assert pooled.per_part == pytest.approx(whole.per_part)


def test_non_finite_prediction_is_wrong_and_nothing_scored_is_nan():
    gt, present = frames(1)
    pred = gt.copy()
    pred[0, 7] = np.nan
    assert pck(pred, gt, present).metrics["pck_020"] == pytest.approx(100.0 * 24 / 25)
    empty = pck(pred, gt, np.zeros_like(present)).metrics
    assert empty["frames_scored"] == 0 and math.isnan(empty["pck_020"]) and math.isnan(empty["thr_020"])


def test_input_validation():
    gt, present = frames(1)
    with pytest.raises(ValueError, match="K="):
        pck(gt[:, :17], gt[:, :17], present[:, :17])
    with pytest.raises(ValueError, match="normaliser"):
        pck(gt, gt, present, normaliser="head")
    with pytest.raises(ValueError, match="expected"):
        pck(gt[0], gt[0], present[0])


def test_bad_inputs_are_refused_with_what_was_wrong():
    good = np.zeros((2, kp.K, 2))
    present = np.ones((2, kp.K), bool)
    for pred, gt, pres in ((np.zeros((kp.K, 2)), good, present),           # not (N, K, 2)
                           (np.zeros((2, kp.K, 3)), np.zeros((2, kp.K, 3)), present),  # three coordinates
                           (np.zeros((3, kp.K, 2)), good, present),        # pred and gt differ
                           (good, good, np.ones((3, kp.K), bool))):        # present does not match
        with pytest.raises(ValueError, match=r"expected pred and gt \(N, K, 2\) and gt_present \(N, K\)"):
            pair_scores(pred, gt, pres)
    with pytest.raises(ValueError, match="keypoint layout .*got K=13"):
        pair_scores(np.zeros((2, 13, 2)), np.zeros((2, 13, 2)), np.ones((2, 13), bool))
    for thresholds in ((), (0.0,), (0.1, -0.2)):
        with pytest.raises(ValueError, match=r"thresholds must be positive and non-empty, got \("):
            pair_scores(good, good, present, thresholds=thresholds)
    with pytest.raises(ValueError, match="normaliser 'bbox' needs box_size"):
        pair_scores(good, good, present, normaliser="bbox")
    a = pair_scores(good, good, present, thresholds=(0.1,)).counts()  # a single threshold is fine
    with pytest.raises(ValueError, match=r"cannot add PCK counts for thresholds \(0.1,\) and \(0.05, 0.1, 0.2\)"):
        a + pair_scores(good, good, present).counts()


def test_presence_given_as_numbers_and_frames_without_a_torso():
    gt = np.zeros((2, kp.K, 2))
    gt[:, kp.LEFT_HIP, 1] = gt[:, kp.RIGHT_HIP, 1] = 10.0  # torso 10 cells
    pred = gt + [1.5, 0.0]                                  # 0.15 of the torso off
    present = np.ones((2, kp.K), np.int64)                     # 0/1 numbers, as a CSV would give them
    present[1, kp.LEFT_HIP] = 0                             # frame 1 has no torso: not scored
    scores = pair_scores(pred, gt, present)
    assert scores.norm.tolist() == [10.0, 0.0] and scores.frame_ok.tolist() == [True, False]
    assert scores.scored.sum() == kp.K and scores.counts().result().pck(0.1) == 0.0 and scores.counts().result().pck(0.2) == 100.0
