"""The held-out rendering domain and the `ood` stage: the training domain renders exactly what it
always did; the held-out domain really lies outside it (bodies, palettes, ranges, motion); the
stage writes the same formats as the training data from a disjoint seed stream."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from climbpose.core.config import ParamsError, params_from_dict
from climbpose.data.preprocess import preprocess_video
from climbpose.estimator import weights as wt
from climbpose.core.keypoints import K
from climbpose.synth import generate_video, sample_keypoint_sequence, simulate
from climbpose.synth.body import J, sample_shape
from climbpose.synth.domain import HELD_OUT, TRAINING, draw
from climbpose.synth.ground import ACTIONS

REPO = Path(__file__).resolve().parents[1]
FPS = 30


def sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# -- the training domain is unchanged --------------------------------------------------------------

def test_training_domain_renders_byte_identical_videos():
    """The default dataset, its dvc.lock and every committed metric depend on these bytes."""
    for kwargs in ({}, {"domain": TRAINING}, {"domain": TRAINING, "motion": "climb"}):
        frames, keypoints = generate_video(7, 12, 216, 384, **kwargs)
        assert sha(frames) == "4c67bc6a4dae005646e993320413dbce6b5956b36f10f89f73ef2c7bd535137d"
        assert sha(keypoints) == "aa315d73750492d9476612f26e58904aad950f51530df0e2e5bdeaecfdc5c746"
    # The render-free path of pretraining, at the default size.
    assert sha(sample_keypoint_sequence(3, 60)) == "9b4619f5ee4c5a5a51541e9ec5830efd76edb17657e958476f4c38ddcb1d8db2"


def test_neutral_options_draw_nothing():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert draw(rng, ((1.0, 1.0),)) == 1.0 and draw(rng, ((0.0, 0.0),)) == 0.0
    assert rng.bit_generator.state == state
    assert draw(rng, ((2.0, 3.0),)) == np.random.default_rng(0).uniform(2.0, 3.0)


# -- the held-out domain lies outside it -----------------------------------------------------------

def _range_fields(domain):
    for group in ("body", "scene", "camera", "motion"):
        part = getattr(domain, group)
        for field in dataclasses.fields(part):
            value = getattr(part, field.name)
            if isinstance(value, tuple) and value and isinstance(value[0], tuple) and len(value[0]) == 2 \
                    and all(isinstance(v, float) for v in value[0]):
                yield f"{group}.{field.name}", value


def test_every_held_out_range_avoids_the_training_range():
    training = dict(_range_fields(TRAINING))
    held_out = dict(_range_fields(HELD_OUT))
    assert held_out.keys() == training.keys() and len(held_out) >= 20
    for name, intervals in held_out.items():
        (t_lo, t_hi), = training[name]
        for lo, hi in intervals:
            assert lo < hi, name
            # Disjoint from the training interval (for a neutral option: excludes its value).
            assert hi < t_lo or lo > t_hi, f"{name}: {lo}-{hi} overlaps training {t_lo}-{t_hi}"
    assert HELD_OUT.motion.ground_share == 0.5 and TRAINING.motion.ground_share == 0.0


@pytest.mark.parametrize("palette, minimum", [
    ("look.skin", 20), ("look.hair", 40), ("look.cloth", 40), ("look.shoes", 40), ("scene.wall", 40), ("scene.mats", 40),
])
def test_palettes_are_disjoint(palette, minimum):
    group, name = palette.split(".")
    train = np.array(getattr(getattr(TRAINING, group), name), float)
    held = np.array(getattr(getattr(HELD_OUT, group), name), float)
    distance = np.linalg.norm(held[:, None] - train[None], axis=-1)
    assert distance.min() >= minimum  # skin: human skin tones span a narrow gamut


def _proportions(shape) -> dict[str, float]:
    h = shape.height
    return {"height": h, "leg": shape.leg / h, "arm": shape.arm / h, "torso": shape.torso / h,
            "shoulders": shape.shoulder_half / h, "head": shape.head_r / h, "build": shape.build}


def outside(value: float, intervals) -> bool:
    """True when `value` lies in none of the intervals."""
    return not any(lo <= value <= hi for lo, hi in intervals)


def _shapes(domain, seeds):
    out = []
    for seed in seeds:
        streams = np.random.SeedSequence(seed).spawn(7)
        out.append(_proportions(sample_shape(np.random.default_rng(streams[0]), domain, np.random.default_rng(streams[6]))))
    return out


def test_held_out_bodies_have_proportions_training_never_draws():
    training = _shapes(TRAINING, range(300))
    lo = {k: min(s[k] for s in training) for k in training[0]}
    hi = {k: max(s[k] for s in training) for k in training[0]}
    for shape in _shapes(HELD_OUT, range(1000, 1040)):
        assert outside(shape["height"], TRAINING.body.stature) and outside(shape["build"], TRAINING.body.build)
        beyond = [k for k in shape if not lo[k] <= shape[k] <= hi[k]]
        assert len(beyond) >= 3, (shape, beyond)


def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for value in mask:
        run = run + 1 if value else 0
        best = max(best, run)
    return best


def _floor_and_overhead(climb) -> tuple[float, float, float]:
    """Share of frames with both ankles within 25 cm of the floor, the longest stretch (s) with both
    wrists above the head, the share of frames with any wrist above it."""
    j = climb.pose.joints
    feet = np.maximum(j[:, J["left_ankle"], 1], j[:, J["right_ankle"], 1])
    wrists = j[:, [J["left_wrist"], J["right_wrist"]], 1]
    head = j[:, J["head"], 1, None]
    return float((feet < 0.25).mean()), _longest_run((wrists > head).all(axis=1)) / FPS, float((wrists > head).any(axis=1).mean())


def test_floor_motions_stay_on_the_floor_with_hands_mostly_down():
    ground = [_floor_and_overhead(simulate(s, 150, domain=HELD_OUT, motion="ground")) for s in range(12)]
    climbs = [_floor_and_overhead(simulate(s, 150, motion="climb")) for s in range(12)]
    for on_floor, overhead, any_up in ground:
        assert on_floor > 0.8 and overhead < 3.0 and any_up < 0.8
    assert np.mean([g[2] for g in ground]) < 0.4
    # The same measures tell climbing apart: feet on holds, hands above the head for long stretches.
    assert all(c[0] < 0.5 for c in climbs) and np.mean([c[1] for c in climbs]) > 2.0


def test_floor_motions_cover_every_action_with_a_rigid_body():
    seen = set()
    for seed in range(10):
        climb = simulate(seed, 150, domain=HELD_OUT, motion="ground")
        assert climb.motion == "ground" and climb.scene.overhang == 0.0
        seen |= {name for _, name in climb.plan.actions}
        j = climb.pose.joints
        for lr in ("left", "right"):
            for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")):
                assert np.linalg.norm(j[:, J[f"{lr}_{a}"]] - j[:, J[f"{lr}_{b}"]], axis=-1).std() < 1e-6
        assert np.linalg.norm(np.diff(j[:, :K], axis=0), axis=-1).max() < 0.25  # < 7.5 m/s per joint
        assert (j[:, :K, 1] > -0.05).all()  # nothing below the floor
    assert seen == set(ACTIONS)
    # Squats and reaching down really go down: the pelvis and a wrist near the floor.
    low = [simulate(s, 150, domain=HELD_OUT, motion="ground") for s in range(10)]
    assert min(c.pose.joints[:, J["pelvis"], 1].min() / c.pose.joints[0, J["pelvis"], 1] for c in low) < 0.7
    assert min(c.pose.joints[:, [J["left_wrist"], J["right_wrist"]], 1].min() for c in low) < 0.35


def test_motion_choice():
    kinds = {simulate(s, 10, domain=HELD_OUT).motion for s in range(12)}
    assert kinds == {"climb", "ground"}  # drawn with ground_share 0.5
    assert {simulate(s, 10).motion for s in range(12)} == {"climb"}
    with pytest.raises(ValueError, match="motion"):
        simulate(0, 10, motion="dance")


def test_held_out_frames_render_and_differ():
    frames, keypoints = generate_video(5, 6, 216, 384, domain=HELD_OUT, motion="ground")
    again, _ = generate_video(5, 6, 216, 384, domain=HELD_OUT, motion="ground")
    assert np.array_equal(frames, again)
    assert frames.shape == (6, 384, 216, 3) and keypoints.shape == (6, K, 3) and frames.std() > 10
    train, _ = generate_video(5, 6, 216, 384)
    assert np.abs(frames.astype(float) - train).mean() > 20


# -- params ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, message", [
    ("videos", 0, "ood.videos must be >= 1"),
    ("frames", 3, "ood.frames (3) must be >= the window span (5 frames)"),
    ("width", 32, "ood.width and ood.height must be >= 64"),
    ("fps", 0, "ood.fps must be >= 1"),
    ("workers", 0, "ood.workers must be >= 1"),
    ("frames", 2.5, "'ood.frames' must be an integer"),
    ("colour", 1, "unknown key 'ood.colour'"),
])
def test_bad_ood_params_fail_with_one_line(key, value, message):
    data = yaml.safe_load((REPO / "params.yaml").read_text())
    data["ood"][key] = value
    with pytest.raises(ParamsError) as error:
        params_from_dict(data)
    assert message in str(error.value) and "\n" not in str(error.value)


# -- the stage ---------------------------------------------------------------------------------

def _stage():
    return runpy.run_path(str(REPO / "stages" / "ood.py"), run_name="ood_stage")


def test_seed_stream_is_disjoint_from_the_training_videos():
    p = params_from_dict(yaml.safe_load((REPO / "params.yaml").read_text())).ood
    jobs = _stage()["video_jobs"](0, dataclasses.replace(p, videos=50))
    training = {int(np.random.SeedSequence([0, i]).generate_state(1)[0]) for i in range(10_000)}
    assert not training & {seed for _, seed, _ in jobs}
    assert [motion for _, _, motion in jobs[:4]] == ["climb", "ground", "climb", "ground"]
    assert jobs[1][0] == "ood_001_ground"


def test_stage_writes_the_training_formats(tmp_path, monkeypatch):
    """Tiny run with the real estimator: the same files and arrays as data/synthetic,
    data/extracted and data/preprocessed, and its metrics."""
    weights = REPO / "models" / "estimator"
    wt.ensure_weights(weights)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["ood"].update(videos=2, frames=12, width=216, height=384, workers=1)
    params["extract"]["workers"] = 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "estimator").symlink_to(weights)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["stages/ood.py"])  # as DVC runs it: no arguments
    runpy.run_path(str(REPO / "stages" / "ood.py"), run_name="__main__")
    out = tmp_path / "data" / "ood"
    assert sorted(p.name for p in out.iterdir()) == ["extracted", "keypoints", "preprocessed", "videos"]
    names = ["ood_000_climb", "ood_001_ground"]
    assert sorted(p.stem for p in (out / "videos").glob("*.mp4")) == names
    keypoints = np.load(out / "keypoints" / "ood_001_ground.npz")["keypoints"]
    assert keypoints.shape == (12, K, 3) and keypoints.dtype == np.float32
    extracted = np.load(out / "extracted" / "ood_001_ground.npz")
    assert set(extracted.files) == {"heatmaps", "bboxes", "detected", "scores", "keypoints"}
    metrics = json.loads((tmp_path / "reports" / "data" / "ood.json").read_text())
    assert metrics["videos"] == 2 and metrics["videos_not_climbing"] == 1 and metrics["frames"] == 24
    written = sorted(p.stem for p in (out / "preprocessed").glob("*.npz"))
    assert len(written) == 2 - metrics["videos_without_person"] and written  # a video with no person would check nothing
    for name in written:  # each stored file is the training preprocessing of the stage's own extract output
        extracted = np.load(out / "extracted" / f"{name}.npz")
        expected = preprocess_video(extracted["heatmaps"], extracted["bboxes"], extracted["detected"],
                                    np.load(out / "keypoints" / f"{name}.npz")["keypoints"], c=params["heatmaps"]["c"],
                                    sigma=params["heatmaps"]["sigma"], landmarks=extracted["keypoints"],
                                    scores=extracted["scores"])
        stored = np.load(out / "preprocessed" / f"{name}.npz")
        assert set(stored.files) == set(expected)
        for key, value in expected.items():
            assert stored[key].dtype == value.dtype and np.array_equal(stored[key], value, equal_nan=key == "landmark_cells")
        assert np.isfinite(stored["landmark_cells"][stored["usable"]]).all()  # BlazePose gives every landmark
    assert metrics["frames_usable"] == sum(int(np.load(out / "preprocessed" / f"{n}.npz")["usable"].sum()) for n in written)
    assert not list((tmp_path / "data").glob(".ood*"))  # no temporary folder left behind
