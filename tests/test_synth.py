"""The procedural climbing-video generator (climbpose.synth): determinism, shapes, anatomy,
visibility and the mp4 round trip. Small frames keep the whole file fast."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from climbpose.core.keypoints import INDEX, K
from climbpose.synth import generate_video, iter_video, sample_keypoint_sequence, simulate
from climbpose.synth.body import J
from climbpose.synth.visibility import keypoint_visibility
from climbpose.video import probe, read_frames, write_mp4

W, H = 180, 320


@pytest.fixture(scope="module")
def video():
    return generate_video(11, 16, width=W, height=H)


def test_same_seed_is_bitwise_identical(video):
    frames, kp = video
    frames2, kp2 = generate_video(11, 16, width=W, height=H)
    assert np.array_equal(frames, frames2)
    assert np.array_equal(kp, kp2)


def test_different_seeds_differ(video):
    frames, kp = video
    frames2, kp2 = generate_video(12, 16, width=W, height=H)
    assert not np.array_equal(frames, frames2)
    assert np.abs(kp[..., :2] - kp2[..., :2]).mean() > 1.0


def test_shapes_dtypes_ranges(video):
    frames, kp = video
    assert frames.shape == (16, H, W, 3) and frames.dtype == np.uint8
    assert kp.shape == (16, K, 3) and kp.dtype == np.float32
    assert set(np.unique(kp[..., 2])) <= {0.0, 1.0}
    vis = kp[..., 2] > 0
    assert vis.mean() > 0.5
    xy = kp[..., :2][vis]
    assert (xy[:, 0] >= 0).all() and (xy[:, 0] <= W - 1).all()
    assert (xy[:, 1] >= 0).all() and (xy[:, 1] <= H - 1).all()
    assert frames.std() > 10  # a real picture, not a flat colour


def test_lazy_variant_and_keypoint_path_match(video):
    frames, kp = video
    lazy = iter_video(11, 16, width=W, height=H)
    assert np.array_equal(lazy.keypoints, kp)
    first = next(iter(lazy))
    assert np.array_equal(first, frames[0])
    # The render-free path gives exactly the video's keypoints.
    assert np.array_equal(sample_keypoint_sequence(11, 16, width=W, height=H), kp)
    rng_kp = sample_keypoint_sequence(np.random.default_rng(3), 8)
    assert rng_kp.shape == (8, K, 3)


def test_rejects_empty_video():
    with pytest.raises(ValueError):
        sample_keypoint_sequence(0, 0)


def _bone(j: np.ndarray, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(j[:, J[a]] - j[:, J[b]], axis=-1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bones_are_rigid_and_hands_attached(seed):
    climb = simulate(seed, 150)
    j = climb.pose.joints
    for lr in ("left", "right"):
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"),
                     ("wrist", "index"), ("wrist", "pinky"), ("wrist", "thumb"), ("ankle", "heel"),
                     ("ankle", "foot_index"), ("heel", "foot_index")):
            length = _bone(j, f"{lr}_{a}", f"{lr}_{b}")
            assert length.std() < 1e-6, (lr, a, b)
        fingers = _bone(j, f"{lr}_wrist", f"{lr}_index")
        assert 0.07 < fingers.mean() < 0.16  # index point is a hand's length away, not more
    # Shoulders shrug when an arm goes overhead, so their distance varies a little; hips are rigid.
    sh = _bone(j, "left_shoulder", "right_shoulder")
    assert sh.max() - sh.min() < 0.02 * sh.mean()
    assert _bone(j, "left_hip", "right_hip").std() < 1e-6
    # The climber actually moves up or across, at a plausible speed (no teleporting).
    pelvis = j[:, J["pelvis"]]
    assert np.linalg.norm(pelvis[-1] - pelvis[0]) > 0.1
    assert np.linalg.norm(np.diff(j[:, :K], axis=0), axis=-1).max() < 0.25  # < 7.5 m/s per joint


def test_left_and_right_are_consistent():
    for yaw, left_is_left_in_image in ((0.0, True), (np.pi, False)):
        climb = simulate(5, 60, yaw=yaw)
        tf = climb.pose.torso
        j = climb.pose.joints
        # Left is always on the person's left (-right direction) in 3D ...
        assert (np.sum((j[:, J["left_shoulder"]] - j[:, J["right_shoulder"]]) * tf.right_c, -1) < 0).all()
        assert (np.sum((j[:, J["left_hip"]] - j[:, J["right_hip"]]) * tf.right_p, -1) < 0).all()
        # ... so from behind it is image-left, facing the camera image-right.
        kp = climb.keypoints
        left_x = kp[:, INDEX["left_shoulder"], 0] < kp[:, INDEX["right_shoulder"], 0]
        assert left_x.mean() > 0.9 if left_is_left_in_image else left_x.mean() < 0.1


def test_face_hidden_when_facing_the_wall():
    nose, ears = INDEX["nose"], [INDEX["left_ear"], INDEX["right_ear"]]
    wall = np.concatenate([simulate(s, 60, yaw=0.0).keypoints for s in range(4)])
    camera = np.concatenate([simulate(s, 60, yaw=np.pi).keypoints for s in range(4)])
    assert wall[:, nose, 2].mean() < 0.2
    assert camera[:, nose, 2].mean() > 0.8
    assert wall[:, [nose] + ears, 2].sum() < camera[:, [nose] + ears, 2].sum()
    # Side-on: the far shoulder is behind the torso.
    side = simulate(1, 60, yaw=np.pi / 2).keypoints
    assert side[:, INDEX["left_shoulder"], 2].mean() < side[:, INDEX["right_shoulder"], 2].mean()


def test_out_of_frame_points_are_invisible_but_keep_coordinates():
    climb = simulate(3, 30, width=W, height=H)
    cam = dataclasses.replace(climb.camera, f=climb.camera.f * 3.0)  # zoom in: limbs leave the frame
    P = climb.pose.joints[:, :K]
    uv, z = cam.project(P)
    vis = keypoint_visibility(climb.pose, cam, climb.scene.volumes, uv, z)
    out = (uv[..., 0] < 0) | (uv[..., 0] > W - 1) | (uv[..., 1] < 0) | (uv[..., 1] > H - 1)
    assert out.any() and (~out).any()
    assert not vis[out].any()
    assert vis[~out].any()
    # The stored keypoints of the original camera use the same projection.
    uv0, _ = climb.camera.project(P)
    assert np.allclose(climb.keypoints[..., :2], uv0, atol=1e-3)


def test_mp4_round_trip(tmp_path, video):
    frames, _ = video
    path = tmp_path / "clip.mp4"
    assert write_mp4(path, frames, fps=30) == len(frames)
    back = list(read_frames(path))
    assert len(back) == len(frames)
    assert back[0].shape == (H, W, 3)
    n, w, h, fps = probe(path)
    assert (n, w, h) == (len(frames), W, H) and fps == pytest.approx(30)
    # Compression keeps the picture recognisable.
    assert np.abs(back[5].astype(float) - frames[5]).mean() < 12
