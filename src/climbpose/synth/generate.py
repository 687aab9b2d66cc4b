"""Public API of the synthetic climbing-video generator.

`simulate` builds everything but pixels (climber, motion, wall, camera, keypoints); `iter_video`
renders its frames one by one; `generate_video` returns all frames at once;
`sample_keypoint_sequence` is the render-free path for pretraining data.

Seeding: one SeedSequence per seed is split into independent streams (body, motion, wall,
camera, appearance, rendering), so the keypoints of a seed do not depend on any rendering choice:
`sample_keypoint_sequence(s, n)` equals the keypoints of `generate_video(s, n)`.

Domains (synth.domain): every function takes a `domain`, the training domain by default. Choices
only another domain makes (which of several intervals, held-out-only options, floor or climbing
motion) come from two further streams (children 6 and 7 of the same SeedSequence: scene and
rendering), so in the training domain streams 0-5 alone decide every value and a seed renders
the default dataset's videos byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from climbpose.core.keypoints import K
from climbpose.synth import compose as C
from climbpose.synth import render as R
from climbpose.synth import wall as Wl
from climbpose.synth.body import J, Pose, sample_shape
from climbpose.synth.camera import Camera, sample_camera
from climbpose.synth.domain import TRAINING, Domain, draw
from climbpose.synth.ground import GroundPlan, evaluate_ground, plan_ground
from climbpose.synth.motion import Plan, evaluate, plan_climb
from climbpose.synth.scene import Scene, build_scene, scatter_holds
from climbpose.synth.visibility import keypoint_visibility


@dataclass
class Climb:
    """One video's content without pixels."""

    seed: int
    fps: int
    plan: Plan | GroundPlan
    pose: Pose
    scene: Scene
    camera: Camera
    keypoints: np.ndarray  # (T, 25, 3) float32: x, y, visible
    streams: list[np.random.Generator]
    domain: Domain = TRAINING

    @property
    def motion(self) -> str:
        """"climb" or "ground" (a person moving on the floor in front of the wall)."""
        return "ground" if isinstance(self.plan, GroundPlan) else "climb"


MOTIONS = ("climb", "ground")


def pose_at(plan: Plan | GroundPlan, t: np.ndarray) -> Pose:
    """The posed body of either kind of plan at times t (seconds)."""
    return evaluate_ground(plan, t) if isinstance(plan, GroundPlan) else evaluate(plan, t)


def _seed_of(seed: int | np.random.Generator) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    return int(seed)


def simulate(seed: int | np.random.Generator, n_frames: int, width: int = 540, height: int = 960,
             fps: int = 30, yaw: float | None = None, domain: Domain = TRAINING,
             motion: str | None = None) -> Climb:
    """Person, motion, wall, camera and ground-truth keypoints of a video. yaw forces the
    climber's base facing (0 = facing the wall, pi = facing the camera); None draws it.
    motion: "climb" or "ground" (standing and moving on the floor; yaw is then ignored); None
    draws it with the domain's `ground_share` (0 in training)."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if motion not in (None, *MOTIONS):
        raise ValueError(f"motion must be one of {', '.join(MOTIONS)} or None, got {motion!r}")
    seed = _seed_of(seed)
    # Streams 0-5 are the training domain's (unchanged); 6 and 7 make only other domains' choices.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    r_body, r_plan, r_scene, r_cam = streams[:4]
    chooser = streams[6]
    if motion is None:
        motion = "ground" if domain.motion.ground_share > 0 and chooser.random() < domain.motion.ground_share else "climb"
    shape = sample_shape(r_body, domain, chooser)
    if motion == "ground":
        plan: Plan | GroundPlan = plan_ground(r_plan, shape, n_frames / fps)
    else:
        plan = plan_climb(r_plan, shape, n_frames / fps, yaw, domain, chooser)
    pose = pose_at(plan, np.arange(n_frames) / fps)
    scene = build_scene(r_scene, plan.holds, pose.joints[:, J["pelvis"]])
    # Someone on the floor stands well away from the wall: the camera distance counts from them.
    standoff = float(pose.joints[:, J["pelvis"], 2].mean()) if motion == "ground" else 0.0
    cam = sample_camera(r_cam, pose.joints, scene.world_from_wall, fps, width, height, domain, chooser, standoff)
    uv, z = cam.project(pose.joints[:, :K])
    vis = keypoint_visibility(pose, cam, scene.volumes, uv, z)
    kp = np.concatenate([uv, vis[..., None]], axis=-1).astype(np.float32)
    return Climb(seed=seed, fps=fps, plan=plan, pose=pose, scene=scene, camera=cam, keypoints=kp, streams=streams,
                 domain=domain)


def sample_keypoint_sequence(seed: int | np.random.Generator, n_frames: int, width: int = 540,
                             height: int = 960, fps: int = 30, domain: Domain = TRAINING,
                             motion: str | None = None) -> np.ndarray:
    """Render-free keypoints (T, 25, 3) float32: pixel x, y and visibility (0/1)."""
    return simulate(seed, n_frames, width, height, fps, domain=domain, motion=motion).keypoints


class SynthVideo:
    """A rendered video, frame by frame: `keypoints` is available at once, frames on iteration."""

    SUB = 3  # motion-blur sub-frames

    def __init__(self, seed: int | np.random.Generator, n_frames: int, width: int = 540,
                 height: int = 960, fps: int = 30, domain: Domain = TRAINING,
                 motion: str | None = None) -> None:
        self.climb = simulate(seed, n_frames, width, height, fps, domain=domain, motion=motion)
        self.keypoints = self.climb.keypoints
        self.n_frames, self.width, self.height, self.fps = n_frames, width, height, fps
        cl = self.climb
        r_look, rng, chooser = cl.streams[4], cl.streams[5], cl.streams[7]
        sc = domain.scene
        self.look = R.sample_look(r_look, domain.look)
        lx = float(draw(rng, sc.light_x, chooser))
        light = np.array([lx, 1.0, draw(rng, sc.light_z, chooser)])
        self.light = light / np.linalg.norm(light)
        lo, hi, ppm = Wl.visible_wall(cl.camera, cl.scene.x0, cl.scene.x1)
        scatter_holds(rng, cl.scene, lo, hi)
        self.texture = Wl.paint_wall(rng, cl.scene, lo, hi, lx, ppm, sc, chooser)
        self.mat = sc.mats[int(rng.integers(len(sc.mats)))]
        # Exposure (fraction of the frame interval): gyms are dim, so fast moves smear.
        exposure = rng.uniform(0.25, 1.0)
        self.sub_dt = np.array([-exposure / 2, 0.0, exposure / 2]) / fps
        t = np.arange(n_frames) / fps
        self.sub_pose = pose_at(cl.plan, (t[:, None] + self.sub_dt[None, :]).ravel())
        # Per-video look of the camera: brightness, white balance, vignette, noise, focus.
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        r2 = ((xx - width / 2) ** 2 + (yy - height / 2) ** 2) / ((width / 2) ** 2 + (height / 2) ** 2)
        vign = 1.0 - draw(rng, sc.vignette, chooser) * r2
        temp = draw(rng, sc.colour_temp, chooser)
        gains = np.array([1 + 0.1 * temp, 1.0, 1 - 0.12 * temp]) * draw(rng, sc.brightness, chooser)
        self.gain = np.clip(128 * vign[..., None] * gains, 0, 255).astype(np.uint8)
        sigma = draw(rng, sc.noise, chooser)
        self.noise = np.clip(rng.normal(0, sigma, (height + 16, width + 16, 3)), -127, 127).astype(np.int16)
        self.blur = float(rng.uniform(0.5, 1.1)) if rng.random() < 0.5 else 0.0
        self.noise_offsets = rng.integers(0, 16, (n_frames, 2))
        self.style = C.LayerStyle(soft=float(rng.uniform(0.6, 1.3)), shadow=float(rng.uniform(0.1, 0.35)),
                                  shadow_blur=float(rng.uniform(0.05, 0.12)))

    def __len__(self) -> int:
        return self.n_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        for t in range(self.n_frames):
            yield self.render(t)

    def _geom(self, t: int, k: int) -> R.FrameGeom:
        cam = self.climb.camera
        joints = self.sub_pose.joints[k]
        project = cam.frame_projector(t)
        uv, z = project(joints)
        to_cam = cam.C[t] - joints[J["head"]]
        return R.FrameGeom(uv=uv, z=z, ppm=cam.f[t] / np.maximum(z, 1e-3), project=project,
                           to_cam=to_cam / np.linalg.norm(to_cam))

    def render(self, t: int) -> np.ndarray:
        """Frame t as RGB uint8 (H, W, 3)."""
        cl, cam, W, H = self.climb, self.climb.camera, self.width, self.height
        tex = self.texture
        bg = cv2.warpPerspective(tex.image, tex.homography(cam, t), (W, H), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=tex.ceiling)
        Wl.draw_floor(bg, cam, t, cl.scene, self.mat)
        frame = bg.copy()
        for vol in cl.scene.volumes:
            Wl.draw_volume(frame, cam, t, vol, self.light)
        geoms = [self._geom(t, t * self.SUB + k) for k in range(self.SUB)]
        moved = float(np.abs(geoms[-1].uv - geoms[0].uv).max())
        # Motion blur only where it shows: sub-frames when some joint moves > 1.5 px per exposure.
        subs = list(zip(range(self.SUB), geoms)) if moved > 1.5 else [(1, geoms[1])]
        C.composite_climber(frame, cam, t, cl.scene.volumes, self.sub_pose, [t * self.SUB + k for k, _ in subs],
                            [g for _, g in subs], self.look, self.light, self.style)
        if self.blur > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), self.blur)
        frame = cv2.multiply(frame, self.gain, scale=1.0 / 128)
        ox, oy = self.noise_offsets[t]
        return cv2.add(frame, self.noise[oy:oy + H, ox:ox + W], dtype=cv2.CV_8U)


def iter_video(seed: int | np.random.Generator, n_frames: int, width: int = 540, height: int = 960,
               fps: int = 30, domain: Domain = TRAINING, motion: str | None = None) -> SynthVideo:
    """Lazy variant of generate_video: `.keypoints` at once, RGB frames when iterated."""
    return SynthVideo(seed, n_frames, width, height, fps, domain, motion)


def generate_video(seed: int, n_frames: int, width: int = 540, height: int = 960,
                   fps: int = 30, domain: Domain = TRAINING,
                   motion: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T, H, W, 3) uint8 RGB and keypoints (T, 25, 3) float32 (x, y, visible).
    `domain` and `motion` as in `simulate`."""
    video = SynthVideo(seed, n_frames, width, height, fps, domain, motion)
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    for t, frame in enumerate(video):
        frames[t] = frame
    return frames, video.keypoints
