"""A perspective pinhole camera filming the climber: on a tripod (still, wide) or handheld
(following the climber with lag, with drift, shake and slight zoom breathing).

Positions are in the wall frame; the camera's rows are (right, down, forward), OpenCV style.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from climbpose.synth.domain import TRAINING, Domain, draw


@dataclass
class Camera:
    """Per-frame camera: centre C (T, 3), rotation R (T, 3, 3) wall -> camera, focal f (T,) px."""

    C: np.ndarray
    R: np.ndarray
    f: np.ndarray
    width: int
    height: int

    @property
    def cx(self) -> float:
        return self.width / 2.0

    @property
    def cy(self) -> float:
        return self.height / 2.0

    def to_cam(self, X: np.ndarray) -> np.ndarray:
        """Wall-frame points (T, N, 3) -> camera-frame points (T, N, 3)."""
        return np.einsum("tij,tnj->tni", self.R, X - self.C[:, None, :])

    def project(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wall-frame points (T, N, 3) -> pixels (T, N, 2) and depth along the optical axis (T, N)."""
        Xc = self.to_cam(X)
        z = Xc[..., 2]
        zs = np.maximum(z, 1e-3)
        uv = np.stack([self.f[:, None] * Xc[..., 0] / zs + self.cx,
                       self.f[:, None] * Xc[..., 1] / zs + self.cy], axis=-1)
        return uv, z

    def frame_projector(self, t: int) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """`project` at frame t for points (N, 3), as the renderer calls it many times per frame.

        The same model as `project` with its operations in another order, so pixels agree to
        about 1e-13 px but not bit for bit; the rendered videos are pinned to this order.
        """
        R, C, f = self.R[t], self.C[t], self.f[t]
        c = np.array([self.cx, self.cy])

        def project(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            Xc = (P - C) @ R.T
            z = np.maximum(Xc[:, 2], 1e-3)
            return Xc[:, :2] / z[:, None] * f + c, Xc[:, 2]
        return project

    def homography(self, t: int, plane_origin: np.ndarray, ax_u: np.ndarray, ax_v: np.ndarray) -> np.ndarray:
        """3x3 map from plane coordinates (a, b) of p = origin + a ax_u + b ax_v to pixels at frame t."""
        K = np.array([[self.f[t], 0, self.cx], [0, self.f[t], self.cy], [0, 0, 1.0]])
        R = self.R[t]
        M = np.stack([R @ ax_u, R @ ax_v, R @ (plane_origin - self.C[t])], axis=1)
        return K @ M


def _look_at(C: np.ndarray, target: np.ndarray, up: np.ndarray, roll: np.ndarray) -> np.ndarray:
    fwd = target - C
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True)
    right = np.cross(fwd, up)
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    down = np.cross(fwd, right)
    c, s = np.cos(roll)[:, None], np.sin(roll)[:, None]
    r2, d2 = c * right + s * down, -s * right + c * down
    return np.stack([r2, d2, fwd], axis=1)


def _wobble(rng: np.random.Generator, t: np.ndarray, amp: float, fmin: float, fmax: float, n: int = 3) -> np.ndarray:
    """Smooth pseudo-random signal: a sum of a few sinusoids (handheld shake, breathing zoom)."""
    out = np.zeros_like(t)
    for _ in range(n):
        out += np.sin(2 * np.pi * rng.uniform(fmin, fmax) * t + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.3, 1.0)
    return out * amp / n


def sample_camera(rng: np.random.Generator, joints: np.ndarray, world_from_wall: np.ndarray,
                  fps: float, width: int, height: int, domain: Domain = TRAINING,
                  chooser: np.random.Generator | None = None, standoff: float = 0.0) -> Camera:
    """Place and animate a camera that frames the person whose joints (T, J, 3) are given.

    The domain sets distance, height, framing, shake and zoom; `chooser` (the video's domain
    stream) picks among its intervals and draws what only the held-out domain does (oblique
    offset, extra roll, pans). `standoff` adds the person's distance from the wall to the camera
    distance (someone standing on the floor; 0 for a climber)."""
    c = domain.camera
    extra = chooser or rng
    side, roll0 = draw(extra, c.side_offset, chooser), draw(extra, c.roll_offset, chooser)
    pan_amp = draw(extra, c.pan, chooser)
    T = joints.shape[0]
    t = np.arange(T) / fps
    wall_from_world = world_from_wall.T
    up = wall_from_world @ np.array([0.0, 1.0, 0.0])
    centre = joints.mean(axis=1)
    tripod = rng.random() < 0.35
    dist = draw(rng, c.distance, chooser)
    cam_h = draw(rng, c.tripod_height if tripod else c.handheld_height, chooser)
    mean_c = centre.mean(axis=0)
    C_world = np.array([mean_c[0] + rng.normal(0, 0.6) + side, cam_h, dist + standoff])
    C = np.broadcast_to(wall_from_world @ C_world, (T, 3)).copy()
    if tripod:
        target = np.broadcast_to(mean_c, (T, 3)).copy()
        lo, hi = joints.min(axis=(0, 1)), joints.max(axis=(0, 1))
        shake = 0.0015
    else:
        # The operator follows the climber with some lag (exponential smoothing).
        alpha = 1.0 - np.exp(-1.0 / (fps * rng.uniform(0.3, 1.0)))
        target = np.empty_like(centre)
        acc = centre[0].copy()
        for i in range(T):
            acc += alpha * (centre[i] - acc)
            target[i] = acc
        # Frame the largest single-frame extent: the climber moves, the framing follows.
        lo, hi = np.zeros(3), (joints.max(axis=1) - joints.min(axis=1)).max(axis=0)
        shake = draw(rng, c.shake, chooser)
        k = c.drift_scale
        C += np.stack([_wobble(rng, t, 0.03 * k, 0.1, 0.6), _wobble(rng, t, 0.03 * k, 0.1, 0.6),
                       _wobble(rng, t, 0.05 * k, 0.05, 0.3)], axis=1)
    extent_y, extent_x = hi[1] - lo[1], hi[0] - lo[0]
    d = np.linalg.norm(target - C, axis=1)
    frac = draw(rng, c.fill, chooser)  # share of the frame height the climber's extent fills
    f_nom = min(frac * height / max(extent_y, 0.5), 0.85 * width / max(extent_x, 0.3)) * d.mean()
    f = f_nom * (1.0 + _wobble(rng, t, draw(rng, c.zoom_breathing, chooser), 0.05, 0.3))
    jitter = np.stack([_wobble(rng, t, shake, 0.3, 2.5) for _ in range(3)], axis=1) * d[:, None]
    target = target + jitter + np.array([0.0, rng.normal(0, 0.08), 0.0]) * extent_y
    if pan_amp > 0:
        # A slow pan: the aim point swings sideways and back (the operator looks around), by
        # `pan_amp` of the half frame width at the person's distance.
        freq, phase = extra.uniform(0.1, 0.3), extra.uniform(0, 2 * np.pi)
        target[:, 0] += pan_amp * 0.5 * width / f_nom * d * np.sin(2 * np.pi * freq * t + phase)
    roll = rng.normal(0, 0.02) + _wobble(rng, t, shake * 0.7, 0.2, 1.5) + roll0
    R = _look_at(C, target, up, roll)
    return Camera(C=C, R=R, f=f, width=width, height=height)
