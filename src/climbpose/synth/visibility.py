"""Ground-truth visibility of the 25 keypoints: a keypoint is visible when it is inside the image
and the line of sight from the camera to it is not blocked by another body part (capsules that
approximate the rendered shapes) or by a volume on the wall.

Joints lie inside the body, so a capsule never hides a keypoint that is one of its end points or
lies inside it: a joint is judged from the surface of its own limb, not from its centre. The far
shoulder of a side-on climber is hidden (by the torso's middle), the near one is not.
"""

from __future__ import annotations

import numpy as np

from climbpose.core.keypoints import K
from climbpose.synth.body import J, Pose
from climbpose.synth.camera import Camera
from climbpose.synth.scene import Volume

# Occluder capsules: (joint a, joint b, radius name at a, radius name at b). "head" is a sphere.
CAPSULES: tuple[tuple[str, str, str, str], ...] = (
    ("head", "head", "head", "head"),
    ("neck", "head", "neck", "neck"),
    ("pelvis", "neck", "torso", "torso"),
    ("left_shoulder", "right_shoulder", "shoulder", "shoulder"),
    ("left_hip", "right_hip", "hipbar", "hipbar"),
    ("left_shoulder", "left_hip", "side", "side"),
    ("right_shoulder", "right_hip", "side", "side"),
    ("left_shoulder", "left_elbow", "upper_arm", "elbow"),
    ("right_shoulder", "right_elbow", "upper_arm", "elbow"),
    ("left_elbow", "left_wrist", "elbow", "wrist"),
    ("right_elbow", "right_wrist", "elbow", "wrist"),
    ("left_wrist", "left_index", "hand", "hand"),
    ("right_wrist", "right_index", "hand", "hand"),
    ("left_hip", "left_knee", "thigh", "knee"),
    ("right_hip", "right_knee", "thigh", "knee"),
    ("left_knee", "left_ankle", "knee", "ankle"),
    ("right_knee", "right_ankle", "knee", "ankle"),
    ("left_heel", "left_foot_index", "foot", "foot"),
    ("right_heel", "right_foot_index", "foot", "foot"),
)


# (K, P): capsule p is one of keypoint k's own parts (the keypoint is one of its end points).
# The head sphere is not the face points' own part: it is what hides the nose from behind.
OWN = np.array([[J[c[0]] == k or J[c[1]] == k for c in CAPSULES] for k in range(K)])


def capsule_radii(pose: Pose) -> np.ndarray:
    """(P, 2) radii of CAPSULES for this body."""
    sh = pose.shape
    special = {"head": sh.head_r, "shoulder": 0.07 * sh.height / 1.75 * sh.build,
               "hipbar": 0.09 * sh.height / 1.75 * sh.build, "side": 0.08 * sh.height / 1.75 * sh.build}
    r = lambda n: special[n] if n in special else sh.radius(n)  # noqa: E731
    return np.array([[r(c[2]), r(c[3])] for c in CAPSULES])


def capsules(pose: Pose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capsule end points A, B (T, P, 3) and radii (P, 2)."""
    ia = [J[c[0]] for c in CAPSULES]
    ib = [J[c[1]] for c in CAPSULES]
    return pose.joints[:, ia], pose.joints[:, ib], capsule_radii(pose)


def _closest(p1, q1, p2, q2):
    """Closest points of segments p1q1 and p2q2 (broadcast arrays of shape (..., 3)): returns
    (s, t, squared distance), s and t in [0, 1] along each segment (Ericson's algorithm)."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    dot = lambda x, y: np.einsum("...i,...i->...", x, y)  # noqa: E731  (no temporaries)
    a = dot(d1, d1)
    e = dot(d2, d2) + 1e-12
    f = dot(d2, r)
    c = dot(d1, r)
    b = dot(d1, d2)
    denom = a * e - b * b
    s = np.where(denom > 1e-12, np.clip((b * f - c * e) / np.maximum(denom, 1e-12), 0, 1), 0.0)
    t = (b * s + f) / e
    s = np.where(t < 0, np.clip(-c / a, 0, 1), np.where(t > 1, np.clip((b - c) / a, 0, 1), s))
    t = np.clip(t, 0, 1)
    diff = (r + d1 * s[..., None]) - d2 * t[..., None]
    return s, t, dot(diff, diff)


def inside_mask(points: np.ndarray, A: np.ndarray, Bp: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """(T, K, P): is each point (T, K, 3) inside each capsule?"""
    ab = (Bp - A)[:, None]                       # (T, 1, P, 3)
    ap = points[:, :, None] - A[:, None]         # (T, K, P, 3)
    u = np.clip(np.einsum("tkpi,tkpi->tkp", ap, np.broadcast_to(ab, ap.shape))
                / np.maximum(np.einsum("tkpi,tkpi->tkp", ab, ab), 1e-12), 0, 1)
    off = ap - ab * u[..., None]
    rad = radii[:, 0] + (radii[:, 1] - radii[:, 0]) * u
    return np.einsum("tkpi,tkpi->tkp", off, off) < rad * rad


def segment_hits_volume(O: np.ndarray, Q: np.ndarray, vol: Volume) -> np.ndarray:
    """Does the segment O->Q (broadcast (..., 3)) pass through the convex volume? (...) bool."""
    n, d = vol.planes[:, :3], vol.planes[:, 3]
    D = Q - O
    num = d - O @ n.T                      # (..., F)
    den = D @ n.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    lower = np.where(den < 0, ratio, -np.inf).max(axis=-1)
    upper = np.where(den > 0, ratio, np.inf).min(axis=-1)
    parallel_out = ((den == 0) & (num < 0)).any(axis=-1)
    return (np.maximum(lower, 0.0) < np.minimum(upper, 1.0) - 1e-6) & ~parallel_out


def keypoint_visibility(pose: Pose, cam: Camera, volumes: list[Volume], uv: np.ndarray,
                        depth: np.ndarray) -> np.ndarray:
    """(T, 25) bool: inside the image and not hidden by the body or a volume."""
    P = pose.joints[:, :K]
    A, Bp, radii = capsules(pose)
    O = np.broadcast_to(cam.C[:, None], P.shape)
    ray = P - O
    length = np.linalg.norm(ray, axis=-1, keepdims=True)
    # A keypoint's own parts (capsules ending at it) and any capsule it sits inside count as its
    # surface and never hide it (annotators call a hip seen from behind visible).
    Qs = P - ray / length * 0.015
    s, t, d2 = _closest(O[:, :, None], Qs[:, :, None], A[:, None], Bp[:, None])
    rad = radii[None, None, :, 0] + (radii[None, None, :, 1] - radii[None, None, :, 0]) * t
    hidden = ((d2 < (0.95 * rad) ** 2) & ~OWN[None] & ~inside_mask(P, A, Bp, radii)).any(axis=-1)
    for vol in volumes:
        hidden |= segment_hits_volume(O, Qs, vol)
    w, h = cam.width, cam.height
    inside = (uv[..., 0] >= 0) & (uv[..., 0] <= w - 1) & (uv[..., 1] >= 0) & (uv[..., 1] <= h - 1) & (depth > 0.05)
    return inside & ~hidden


def parts_behind_volumes(cam_c: np.ndarray, mids: np.ndarray, volumes: list[Volume]) -> np.ndarray:
    """For one frame: which part midpoints (P, 3) are behind some volume as seen from cam_c (P,)."""
    out = np.zeros(len(mids), dtype=bool)
    O = np.broadcast_to(cam_c, mids.shape)
    for vol in volumes:
        out |= segment_hits_volume(O, mids, vol)
    return out
