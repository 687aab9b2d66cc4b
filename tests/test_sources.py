"""Bring-your-own-data: each format's loader on tiny files, and the stages on a ClimbAlong folder
and on a folder of videos with annotations (layouts: docs/data-formats.md#your-own-data)."""

from __future__ import annotations

import hashlib
import json
import runpy
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from climbpose.core.config import ParamsError, params_from_dict
from climbpose.data.preprocess import preprocess_video
from climbpose.data.sources import SourceError, brace, climbalong, penn_action
from climbpose.data.sources.annotations import keypoint_array, read_annotation_file
from climbpose.data.sources.finetuning import frame_image
from climbpose.data.sources.layout import COCO17, to_project_layout
from climbpose.data.sources.pretraining import pretraining_data, split_at_gaps, synthetic_sequences
from climbpose.core.keypoints import INDEX, K, NAMES
from climbpose.data.window_sets import NoiseSpec
from climbpose.data.training_windows import pretraining_windows
from climbpose.video import probe, read_frames, write_mp4
from tests.helpers.climbalong_fixture import make_video, write_climbalong_dataset
from tests.helpers.formats import write_brace_segment, write_coco, write_penn_action_label, write_project_json

REPO = Path(__file__).resolve().parents[1]
HANDS_AND_FEET = [INDEX[n] for n in NAMES if n.split("_", 1)[-1] in ("pinky", "index", "thumb", "heel", "foot_index")]


def tree_digest(root: Path) -> str:
    """Names, sizes, mtimes and bytes of every file under root: any write shows."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_stage(name: str, project: Path, monkeypatch, overrides: dict) -> None:
    """Run stages/<name>.py in-process inside `project`, with params.yaml plus overrides."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        target = params
        for key in parents:
            target = target[key]
        target[leaf] = value
    project.mkdir(exist_ok=True)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "argv", [f"stages/{name}.py"])  # as DVC runs it: no arguments
    runpy.run_path(str(REPO / "stages" / f"{name}.py"), run_name="__main__")


# -- ClimbAlong ---------------------------------------------------------------------------------

def test_climbalong_annotated_rule_and_visibility(tmp_path):
    raw = np.zeros((1, K, 3), np.float32)
    raw[0, 0] = (0, 0, 0)  # ClimbAlong's "not annotated"
    raw[0, 1] = (12.5, 0, 0)  # placed, hidden: annotated (any of x, y, v positive)
    raw[0, 2] = (12.5, 30, 2)
    raw[0, 3] = (np.nan, 30, 1)  # not finite: missing
    raw[0, 4:] = (5, 6, 1)
    np.savez(tmp_path / "t.npz", keypoints=raw[:, None])  # (T, 1, 25, 3)
    kp = climbalong.read_targets(tmp_path / "t.npz")
    assert kp.shape == (1, K, 3)
    assert np.isnan(kp[0, [0, 3], :2]).all() and (kp[0, [0, 3], 2] == 0).all()
    np.testing.assert_array_equal(kp[0, 1], [12.5, 0, 0])  # coordinates kept, visible 0
    np.testing.assert_array_equal(kp[0, 2], [12.5, 30, 1])  # visibility > 0 -> visible 1


def test_climbalong_folder_loads_and_follows_the_thesis_rules(tmp_path):
    names = write_climbalong_dataset(tmp_path, videos=4, frames=30, seed=3)
    before = tree_digest(tmp_path)
    assert climbalong.video_names(tmp_path) == names
    assert climbalong.first_frame_annotated(tmp_path, names[-1]) == 20
    assert climbalong.first_frame_annotated(tmp_path, names[0]) == K

    video = climbalong.load_video(tmp_path, names[0], 56)  # (T, 1, 25, 3) targets
    other = climbalong.load_video(tmp_path, names[1], 56)  # (T, 25, 3) targets, empty box mid-video
    assert video.heatmaps.shape == (30, K, 56, 56) and video.heatmaps.min() < 0  # raw logits kept
    assert video.keypoints.shape == (30, K, 3) and other.keypoints.shape == (37, K, 3)
    assert video.detected.all() and not other.detected[15] and other.detected[16:].all()
    np.testing.assert_array_equal(other.bboxes[15], 0)
    with np.load(tmp_path / "targets" / f"{names[0]}.npz") as z:
        raw = z["keypoints"][:, 0]
    placeholder = (raw == 0).all(axis=-1)
    assert placeholder.any()
    assert np.isnan(video.keypoints[placeholder][:, :2]).all()
    np.testing.assert_array_equal(video.keypoints[~placeholder][:, :2], raw[~placeholder][:, :2])

    cut = climbalong.load_video(tmp_path, names[1], 56, cut_at_empty_box=True)
    assert len(cut.detected) == 15 and cut.detected.all()
    with pytest.raises(ValueError, match=r"heatmaps.size"):
        climbalong.load_video(tmp_path, names[0], 64)

    result = preprocess_video(video.heatmaps, video.bboxes, video.detected, video.keypoints, c=255.0, sigma=1.0)
    inputs = result["inputs"].astype(np.float32)
    assert inputs.min() >= 0  # negative logits clipped before scaling to c
    sums = inputs.sum(axis=(2, 3))
    np.testing.assert_allclose(sums[sums > 0], 255.0, rtol=2e-3)
    np.testing.assert_array_equal(result["present"], ~placeholder)
    assert tree_digest(tmp_path) == before


def test_stages_on_a_climbalong_folder(tmp_path, monkeypatch):
    source = tmp_path / "climbalong"
    names = write_climbalong_dataset(source, videos=4, frames=30, seed=1)
    before = tree_digest(source)
    overrides = {"data.source": "climbalong", "data.dir": str(source)}
    run_stage("synthesize", tmp_path / "project", monkeypatch, overrides)
    run_stage("extract", tmp_path / "project", monkeypatch, overrides)
    run_stage("preprocess", tmp_path / "project", monkeypatch, overrides)
    project = tmp_path / "project"
    assert not any((project / "data" / "synthetic").rglob("*.*"))  # nothing rendered
    assert not any((project / "data" / "extracted").iterdir())  # the estimator did not run
    extract = json.loads((project / "reports" / "data" / "extract.json").read_text())
    assert extract["videos"] == 4 and extract["frames"] == 30 + 37 + 44 + 30
    assert extract["detected_fraction"] == round((extract["frames"] - 1) / extract["frames"], 4)
    assert sorted(p.stem for p in (project / "data" / "preprocessed").glob("*.npz")) == names[:3]
    metrics = json.loads((project / "reports" / "data" / "preprocess.json").read_text())
    assert metrics["videos"] == 3 and metrics["videos_skipped"] == 1 and metrics["frames"] == 30 + 37 + 44
    assert tree_digest(source) == before  # the user's folder is only read

    run_stage("preprocess", project, monkeypatch, {**overrides, "data.cut_at_empty_box": True,
                                                     "data.min_first_frame_keypoints": 0})
    metrics = json.loads((project / "reports" / "data" / "preprocess.json").read_text())
    assert metrics["videos"] == 4 and metrics["frames"] == 30 + 15 + 44 + 30


# -- the user's videos: project JSON and COCO --------------------------------------------------

def test_project_json_visibility_nulls_and_name_mapping(tmp_path):
    names = ["head_top", "nose", "l_wrist", "left_eye"]
    write_project_json(tmp_path / "clip.json", {0: [[1, 2, 2], [3, 4, 1], [5, 6, 0], [7, 8, 2]],
                                               2: [[None, 2, 2], [9, 10, 2], [11, 12, 2], [0, 0, 2]]}, names)
    labels = read_annotation_file(tmp_path / "clip.json")["clip"]
    kp = keypoint_array(labels, 3, keypoint_map={"l_wrist": "left_wrist"})
    assert kp.shape == (3, K, 3)
    np.testing.assert_array_equal(kp[0, INDEX["nose"]], [3, 4, 0])  # v=1: labelled, not visible
    assert np.isnan(kp[0, INDEX["left_wrist"], :2]).all()  # v=0: not labelled
    np.testing.assert_array_equal(kp[2, INDEX["left_wrist"]], [11, 12, 1])  # mapped name, v=2
    assert np.isnan(kp[1, :, :2]).all()  # a frame not listed
    assert np.isnan(kp[:, [i for i in range(K) if i not in (INDEX["nose"], INDEX["left_wrist"])], :2]).all()
    with pytest.raises(ValueError, match="same project keypoint"):
        keypoint_array(labels, 3, keypoint_map={"l_wrist": "nose"})
    with pytest.raises(ValueError, match="frame_number_base"):
        keypoint_array(labels, 2)


def test_coco_import_drops_eyes_leaves_missing_as_nan_and_finds_frames(tmp_path):
    person = np.zeros((17, 3))
    person[:, 0], person[:, 1], person[:, 2] = np.arange(17) + 10, np.arange(17) + 20, 2
    person[COCO17.index("left_knee")] = 0  # COCO's "not labelled": 0, 0, 0
    small = person.copy()
    small[3:, 2] = 0
    write_coco(tmp_path / "clip.json", list(COCO17), ["frame_000001.jpg", "frame_000003.jpg"],
               {"frame_000001.jpg": [small, person], "frame_000003.jpg": [person]})
    labels = read_annotation_file(tmp_path / "clip.json")["clip"]
    kp = keypoint_array(labels, 4)
    assert kp.shape == (4, K, 3)
    for name in ("nose", "left_ear", "right_shoulder", "left_ankle"):
        np.testing.assert_array_equal(kp[1, INDEX[name]], [COCO17.index(name) + 10, COCO17.index(name) + 20, 1])
    np.testing.assert_array_equal(kp[1], kp[3])  # the person with more labels wins on frame 1
    assert np.isnan(kp[1, INDEX["left_knee"], :2]).all()
    assert np.isnan(kp[1, HANDS_AND_FEET, :2]).all() and not (kp[1, HANDS_AND_FEET, :2] == 0).any()
    assert np.isnan(kp[[0, 2], :, :2]).all()
    shifted = keypoint_array(labels, 4, frame_number_base=1)  # ffmpeg-style numbering from 1
    np.testing.assert_array_equal(shifted[0], kp[1])

    write_coco(tmp_path / "all.json", list(COCO17), ["a/x_7.png", "b/x_2.png"], {"a/x_7.png": [person], "b/x_2.png": [person]})
    videos = read_annotation_file(tmp_path / "all.json")
    assert sorted(videos) == ["a", "b"] and list(videos["a"].by_file) == ["x_7.png"]
    kp = keypoint_array(videos["a"], 2, frame_files=["x_2.png", "x_7.png"])  # a frame folder: by file name
    assert np.isfinite(kp[1, 0, :2]).all() and np.isnan(kp[0, :, :2]).all()


def test_frame_folders_read_in_natural_order(tmp_path):
    import cv2

    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"frame_{i}.png"), np.full((6, 8, 3), i, np.uint8))
    assert [int(f[0, 0, 0]) for f in read_frames(tmp_path)] == [1, 2, 10]
    assert probe(tmp_path) == (3, 8, 6, 0.0)


def test_stages_on_videos_with_annotations_and_precomputed_heatmaps(tmp_path, monkeypatch):
    import cv2

    lab, replay = tmp_path / "lab", tmp_path / "replay"
    write_mp4(lab / "videos" / "wall1.mp4", [np.zeros((48, 64, 3), np.uint8)] * 4, fps=10)
    for i in (1, 2, 3):
        (lab / "videos" / "wall2").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(lab / "videos" / "wall2" / f"f{i}.png"), np.zeros((48, 64, 3), np.uint8))
    nose_wrist = [[[10 + t, 20, 2], [30, 40, 1]] for t in range(4)]
    write_project_json(lab / "annotations" / "wall1.json", dict(enumerate(nose_wrist)), ["nose", "wrist_l"])
    person = np.tile([[32.0, 24.0, 2.0]], (17, 1))
    write_coco(lab / "annotations" / "export.json", list(COCO17), ["wall2/f2.png"], {"wall2/f2.png": [person]})
    for name, t in (("wall1", 4), ("wall2", 3)):
        replay.mkdir(exist_ok=True)
        np.savez(replay / f"{name}.npz", heatmaps=np.random.default_rng(t).random((t, K, 56, 56), dtype=np.float32),
                 bboxes=np.tile(np.array([[0, 0, 64, 64]], np.float32), (t, 1)))
    before = tree_digest(lab)
    overrides = {"data.source": "videos", "data.dir": str(lab), "data.keypoint_map": {"wrist_l": "left_wrist"},
                 "estimator.name": "precomputed", "estimator.precomputed_dir": str(replay), "extract.workers": 1}
    for stage in ("extract", "preprocess"):
        run_stage(stage, tmp_path / "project", monkeypatch, overrides)
    data = tmp_path / "project" / "data"
    assert sorted(p.name for p in (data / "extracted").iterdir()) == ["wall1.npz", "wall2.npz"]
    with np.load(data / "preprocessed" / "wall1.npz") as z:
        assert z["present"].shape == (4, K)
        assert z["present"][:, [INDEX["nose"], INDEX["left_wrist"]]].all() and z["present"].sum() == 8
    with np.load(data / "preprocessed" / "wall2.npz") as z:
        present = z["present"]
    assert present[1].sum() == 15 and not present[[0, 2]].any()  # COCO-17 minus the eyes, frame f2 only
    assert tree_digest(lab) == before
    data_params = params_from_dict(yaml.safe_load((tmp_path / "project" / "params.yaml").read_text())).data
    assert frame_image(data_params, "wall2", 2).shape == (48, 64, 3)  # for overlays, any source
    assert frame_image(replace(data_params, source="climbalong"), "wall2", 2) is None


# -- pretraining datasets ---------------------------------------------------------------------

def test_penn_action_label_file(tmp_path):
    t = 3
    x = np.tile(np.arange(1, 14, dtype=float) * 10, (t, 1))  # 1-based MATLAB pixels
    y = x + 5
    vis = np.ones((t, 13))
    vis[:, 5] = 0  # left wrist hidden
    write_penn_action_label(tmp_path / "labels" / "0007.mat", x, y, vis, np.array([[1, 2, 101, 202]] * (t - 1)))
    video = penn_action.load_video(penn_action.label_files(tmp_path)[0])
    assert (video.name, video.action, video.train) == ("0007", "squats", True)
    assert video.keypoints.shape == (t, K, 3)
    np.testing.assert_array_equal(video.keypoints[0, INDEX["nose"]], [9, 14, 1])  # head -> nose, minus 1
    np.testing.assert_array_equal(video.keypoints[0, INDEX["left_wrist"]], [59, 64, 0])
    np.testing.assert_array_equal(video.keypoints[0, INDEX["right_ankle"]], [129, 134, 1])
    lacking = [INDEX[n] for n in ("left_ear", "right_ear")] + HANDS_AND_FEET
    assert np.isnan(video.keypoints[:, lacking, :2]).all() and len(lacking) == 12
    np.testing.assert_array_equal(video.bboxes[0], [0, 1, 100, 201])
    assert np.isnan(video.bboxes[-1]).all()  # fewer box rows than frames: padded, not guessed


def test_brace_segment_file(tmp_path):
    joints = np.stack([np.arange(17) * 2.0, np.arange(17) * 3.0, np.ones(17)], axis=1)
    path = write_brace_segment(tmp_path, 2011, "abc_DEF-1", 10, 13, "powermove",
                               {10: joints, 11: joints + 1, 13: joints}, boxes={10: [5, 6, 10, 20, 1.0]})
    (tmp_path / "shot_boundaries.json").write_text("{}")  # BRACE's other JSON is not a segment
    assert brace.segment_files(tmp_path) == [path]
    segment = brace.load_segment(path)
    assert (segment.video_id, segment.movement, segment.first_frame) == ("abc_DEF-1", "powermove", 10)
    assert segment.keypoints.shape == (4, K, 3)
    assert np.isnan(segment.keypoints[2, :, :2]).all()  # frame 12 is not in the file
    np.testing.assert_array_equal(segment.keypoints[1, INDEX["left_ear"]], [7, 10, 1])
    np.testing.assert_array_equal(segment.bboxes[0], [5, 6, 15, 26])
    assert np.isnan(segment.keypoints[0, HANDS_AND_FEET, :2]).all()
    assert [len(p) for p in split_at_gaps(segment.keypoints)] == [2, 1]
    assert [len(p) for p in split_at_gaps(segment.keypoints, min_length=2)] == [2]


def test_pretraining_sources_combine_and_split_by_video(tmp_path):
    synth = pretraining_data(("synthetic",), seed=0, val_fraction=0.25, min_length=5, synthetic=(4, 12))
    expected = synthetic_sequences(0, 4, 12)  # today's recipe: the last quarter validates
    assert len(synth.train) == 3 and np.array_equal(synth.val[0], expected[-1])

    rng = np.random.default_rng(0)
    for i in range(4):
        x = rng.uniform(1, 200, (20, 13))
        write_penn_action_label(tmp_path / "penn" / "labels" / f"{i:04d}.mat", x, x, np.ones((20, 13)), np.ones((20, 4)))
    for video in ("v1", "v2", "v3"):
        for start in (0, 100):
            frames = {start + j: np.c_[rng.uniform(0, 99, (17, 2)), np.ones(17)] for j in range(12) if j != 6}
            write_brace_segment(tmp_path / "brace", 2020, video, start, start + 11, "toprock", frames)
    dirs = {"penn_action": str(tmp_path / "penn"), "brace": str(tmp_path / "brace")}
    both = pretraining_data(("brace", "synthetic", "penn_action"), 0, 0.25, 5, (4, 12), dirs)
    again = pretraining_data(("penn_action", "brace"), 0, 0.25, 5, (4, 12), dirs)
    assert both.counts["penn_action_train"] + both.counts["penn_action_val"] == 4
    # BRACE: each segment loses frame 6 -> pieces of 6 and 5 frames; a video's pieces stay together
    assert both.counts["brace_train"] + both.counts["brace_val"] == 12 and both.counts["brace_val"] % 4 == 0
    assert both.counts["brace_val"] == again.counts["brace_val"] and len(both.files) == 10
    assert all(s.shape[1:] == (K, 3) for s in both.train + both.val)
    with pytest.raises(SourceError, match="pretrain.penn_action_dir"):
        pretraining_data(("penn_action",), 0, 0.25, 5, dirs={"penn_action": str(tmp_path)})


def test_keypoints_a_dataset_lacks_get_empty_input_maps():
    seq = to_project_layout(np.c_[np.random.default_rng(1).uniform(0, 50, (13, 2)), np.ones(13)][None].repeat(6, 0),
                            penn_action.PENN_JOINTS, penn_action.PENN_TO_PROJECT)
    windows = pretraining_windows([seq], 5, 1, 16, 255.0, 1.0, NoiseSpec(1.0, (1.0,)), "heatmaps", torch.device("cpu"))
    batch = windows.batch(torch.tensor([0, 1]), torch.Generator().manual_seed(0))
    mass = batch.inputs.sum(dim=(-2, -1))
    lacking = ~batch.present
    assert lacking.any() and (mass[lacking] == 0).all() and torch.allclose(mass[~lacking], torch.tensor(255.0))


# -- params -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, value, message", [
    ("data.source", "kinetics", "data.source 'kinetics' is not one of synthetic, climbalong, videos"),
    ("data.dir", "elsewhere", "data.dir must be data/synthetic with data.source=synthetic"),
    ("data.keypoint_map", {"toe": "big_toe"}, "data.keypoint_map.toe: 'big_toe' is not a keypoint"),
    ("data.keypoint_map", ["toe"], "'data.keypoint_map' must be a mapping"),
    ("pretrain.sources", ["synthetic", "h36m"], "pretrain.sources: 'h36m' is not one of"),
    ("pretrain.sources", [], "pretrain.sources must list at least one source"),
])
def test_bad_data_params_fail_with_the_key_named(path, value, message):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    section, key = path.split(".")
    params[section][key] = value
    with pytest.raises(ParamsError, match=message):
        params_from_dict(params)
    params[section][key] = yaml.safe_load((REPO / "params.yaml").read_text())[section][key]
    params["data"].update(source="climbalong", dir="data/synthetic/")
    with pytest.raises(ParamsError, match="not data/synthetic"):
        params_from_dict(params)


def test_fixture_video_shapes():
    arrays = make_video(5, 8, first_frame_annotated=23, shape_with_person_axis=True)
    assert arrays["inputs"]["heatmaps"].shape == (8, K, 56, 56) and arrays["targets"]["keypoints"].shape == (8, 1, K, 3)
    assert (arrays["targets"]["keypoints"][0, 0] == 0).all(axis=-1).sum() == 2
