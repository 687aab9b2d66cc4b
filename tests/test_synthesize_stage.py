"""The synthesize stage's videos: climbs from the "video" stream (the default dataset as it always
was) and people on the floor from a stream of their own."""

from __future__ import annotations

import dataclasses
import runpy

import numpy as np

from climbpose.core.config import load_params
from climbpose.core.seeds import derived_seed
from climbpose.synth import sample_keypoint_sequence
from climbpose.video import probe
from tests.dvc_repo import REPO


def _stage():
    return runpy.run_path(str(REPO / "stages" / "synthesize.py"), run_name="synthesize_stage")


def test_video_jobs_name_seed_and_motion_of_every_video():
    p = dataclasses.replace(load_params(REPO / "params.yaml").synthesize, videos=3, ground_videos=2)
    jobs = _stage()["video_jobs"](7, p)
    assert jobs == [
        ("clip_000", derived_seed(7, "video", 0), "climb"), ("clip_001", derived_seed(7, "video", 1), "climb"),
        ("clip_002", derived_seed(7, "video", 2), "climb"),
        ("ground_000", derived_seed(7, "ground_video", 0), "ground"),
        ("ground_001", derived_seed(7, "ground_video", 1), "ground"),
    ]
    # Adding floor videos leaves the climbs as they were.
    assert _stage()["video_jobs"](7, dataclasses.replace(p, ground_videos=0)) == jobs[:3]


def test_a_floor_video_holds_the_floor_motion_of_its_seed(tmp_path):
    stage = _stage()
    p = dataclasses.replace(load_params(REPO / "params.yaml").synthesize, frames=6, width=216, height=384)
    for folder in ("videos", "keypoints"):
        (tmp_path / folder).mkdir()
    seed = derived_seed(0, "ground_video", 0)
    assert stage["render_one"](("ground_000", seed, "ground", p, tmp_path)) == "ground_000"
    written = np.load(tmp_path / "keypoints" / "ground_000.npz")["keypoints"]
    assert np.array_equal(written, sample_keypoint_sequence(seed, 6, 216, 384, motion="ground"))
    assert not np.array_equal(written, sample_keypoint_sequence(seed, 6, 216, 384, motion="climb"))
    assert probe(tmp_path / "videos" / "ground_000.mp4")[:3] == (6, 216, 384)  # frames, width, height
