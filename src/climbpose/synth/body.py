"""Human body model of the synthetic climbers: proportions, a rigid torso and head, 2-bone IK limbs,
rigid hands and feet.

Everything is in the wall frame, in metres: x along the wall to the right, y up the wall, z out of
the wall toward the camera. All functions are vectorised over a leading time axis T, so one call
poses a whole video (this is what makes the render-free keypoint path fast).

The skeleton carries the 25 project keypoints (climbpose.core.keypoints.NAMES, same order) followed by a
few extra points that only the renderer needs (EXTRA).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from climbpose.core.keypoints import NAMES
from climbpose.synth.domain import TRAINING, Domain, draw

EXTRA: tuple[str, ...] = ("pelvis", "neck", "head", "chest")
JOINTS: tuple[str, ...] = NAMES + EXTRA
J: dict[str, int] = {name: i for i, name in enumerate(JOINTS)}
UP = np.array([0.0, 1.0, 0.0])
INTO_WALL = np.array([0.0, 0.0, -1.0])


@dataclass(frozen=True)
class BodyShape:
    """One climber's dimensions (metres). Segment lengths follow anthropometric fractions of
    stature (Drillis & Contini) with per-person jitter, so bodies differ in height and proportion."""

    height: float
    upper_arm: float
    forearm: float
    hand: float
    thigh: float
    shin: float
    foot: float
    ankle_h: float
    shoulder_half: float
    hip_half: float
    torso: float      # hip-joint line to neck base
    neck: float       # neck base to head centre
    head_r: float
    build: float      # limb and torso thickness multiplier

    def radius(self, part: str) -> float:
        """Half-thickness of a body part, scaled by stature and build."""
        base = {
            "upper_arm": 0.046, "elbow": 0.040, "wrist": 0.029, "thigh": 0.085, "knee": 0.058,
            "ankle": 0.040, "neck": 0.055, "torso": 0.11, "hand": 0.035, "foot": 0.045,
        }[part]
        s = self.height / 1.75
        return base * s * (self.build if part not in ("hand", "foot", "wrist", "ankle") else 0.5 + 0.5 * self.build)

    @property
    def arm(self) -> float:
        return self.upper_arm + self.forearm

    @property
    def leg(self) -> float:
        return self.thigh + self.shin


def sample_shape(rng: np.random.Generator, domain: Domain = TRAINING,
                 chooser: np.random.Generator | None = None) -> BodyShape:
    """Draw a person. Training domain: stature 1.55-1.92 m, +-4% per-segment jitter, ape index and
    build vary. The domain's extra scales (legs, torso, widths, head; 1 in training) are drawn
    from `chooser`, the video's domain stream, so they leave `rng`'s draws as they were."""
    b = domain.body
    legs, torso, width, head = (draw(chooser or rng, r, chooser)
                                for r in (b.leg_scale, b.torso_scale, b.width_scale, b.head_scale))
    h = float(draw(rng, b.stature, chooser))
    jit = lambda: float(rng.normal(1.0, 0.035))  # noqa: E731
    ape = float(draw(rng, b.ape, chooser))  # climbers often have long arms
    return BodyShape(
        height=h,
        upper_arm=0.186 * h * ape * jit(),
        forearm=0.146 * h * ape * jit(),
        hand=0.108 * h * jit(),
        thigh=0.245 * h * jit() * legs,
        shin=0.246 * h * jit() * legs,
        foot=0.152 * h * jit(),
        ankle_h=0.039 * h,
        shoulder_half=0.112 * h * jit() * width,
        hip_half=0.058 * h * jit() * width,
        torso=0.29 * h * jit() * torso,
        neck=0.095 * h,
        head_r=0.047 * h * jit() * head,
        build=float(draw(rng, b.build, chooser)),
    )


def _norm(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _ortho(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """v made orthogonal to the unit vector `axis` and normalised."""
    return _norm(v - np.sum(v * axis, axis=-1, keepdims=True) * axis)


def facing(yaw: np.ndarray) -> np.ndarray:
    """Horizontal chest direction for a yaw angle: 0 faces the wall, +-pi/2 side-on, pi faces the camera."""
    return np.stack([np.sin(yaw), np.zeros_like(yaw), -np.cos(yaw)], axis=-1)


def spine_up(pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Spine direction: pitch tilts the top away from the wall (+z), roll bends it sideways (+x)."""
    return _norm(np.stack([np.tan(roll), np.ones_like(roll), np.tan(pitch)], axis=-1))


@dataclass
class TorsoFrame:
    """Per-frame torso geometry: points and the chest/pelvis orientation (unit vectors, T x 3)."""

    pelvis: np.ndarray
    neck: np.ndarray
    chest: np.ndarray
    l_hip: np.ndarray
    r_hip: np.ndarray
    l_sh: np.ndarray
    r_sh: np.ndarray
    up: np.ndarray
    fwd_c: np.ndarray
    right_c: np.ndarray
    fwd_p: np.ndarray
    right_p: np.ndarray


def torso_frame(shape: BodyShape, pelvis: np.ndarray, yaw_p: np.ndarray, yaw_c: np.ndarray,
                pitch: np.ndarray, roll: np.ndarray, shrug: np.ndarray | None = None) -> TorsoFrame:
    """Rigid torso from the pelvis position and angles. `shrug` (T, 2) raises each shoulder (metres),
    as shoulders lift when the arm goes overhead."""
    up = spine_up(pitch, roll)
    fwd_c = _ortho(facing(yaw_c), up)
    fwd_p = _ortho(facing(yaw_p), up)
    # A person's right = forward x up (facing the wall, right is +x: image right from behind).
    right_c = np.cross(fwd_c, up)
    right_p = np.cross(fwd_p, up)
    neck = pelvis + up * shape.torso
    sh_base = neck - up * (0.012 * shape.height)
    if shrug is None:
        shrug = np.zeros(pelvis.shape[:-1] + (2,))
    l_sh = sh_base - right_c * shape.shoulder_half + up * shrug[..., :1]
    r_sh = sh_base + right_c * shape.shoulder_half + up * shrug[..., 1:]
    return TorsoFrame(
        pelvis=pelvis, neck=neck, chest=pelvis + up * (0.55 * shape.torso) + fwd_c * 0.02,
        l_hip=pelvis - right_p * shape.hip_half, r_hip=pelvis + right_p * shape.hip_half,
        l_sh=l_sh, r_sh=r_sh, up=up, fwd_c=fwd_c, right_c=right_c, fwd_p=fwd_p, right_p=right_p,
    )


def two_bone_ik(root: np.ndarray, target: np.ndarray, l1: float, l2: float,
                pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Place the middle joint and end of a 2-bone chain. The end goes to `target` or as close as
    the chain reaches; the middle joint bends toward `pole`. Bone lengths stay exact."""
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    dhat = d / np.maximum(dist, 1e-9)
    reach = np.clip(dist, abs(l1 - l2) + 1e-3, (l1 + l2) * 0.9995)
    end = root + dhat * reach
    cos_a = np.clip((l1 * l1 + reach * reach - l2 * l2) / (2 * l1 * reach), -1.0, 1.0)
    perp = pole - np.sum(pole * dhat, axis=-1, keepdims=True) * dhat
    # Pole parallel to the chain: fall back to any perpendicular so the result stays defined.
    fallback = np.cross(dhat, np.array([1.0, 0.0, 0.0]))
    bad = np.linalg.norm(perp, axis=-1, keepdims=True) < 1e-6
    perp = _norm(np.where(bad, fallback, perp))
    mid = root + dhat * (l1 * cos_a) + perp * (l1 * np.sqrt(1.0 - cos_a * cos_a))
    return mid, end


def grip_direction(fwd: np.ndarray, side: float) -> np.ndarray:
    """Wrist-to-fingers direction of a hand on a hold: up and curled over into the wall."""
    return _norm(np.broadcast_to(UP * 0.8 + INTO_WALL * 0.55, fwd.shape) - side * np.array([0.15, 0, 0]))


def foot_direction(fwd_p: np.ndarray, right_p: np.ndarray, side: float, turnout: float) -> np.ndarray:
    """Heel-to-toe direction of a foot on a hold: toward the wall, following the hips, turned out."""
    d = fwd_p + side * right_p * turnout + INTO_WALL * 0.6 - UP * 0.15
    d = d.copy()
    d[..., 2] = np.minimum(d[..., 2], -0.3)  # toes always point at least somewhat into the wall
    return _norm(d)


def hand_points(elbow: np.ndarray, wrist: np.ndarray, grip: np.ndarray, side: float,
                shape: BodyShape, right_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pinky, index and thumb points of a rigid hand. `grip` (T, 1) blends a free hand (continuing
    the forearm, palm toward the body's midline) with a hand gripping a hold (palm on the wall).
    side: -1 left, +1 right."""
    fore = _norm(wrist - elbow)
    d = _norm(fore * (1 - grip) + grip_direction(fore, side) * grip + fore * 0.05)
    palm = _norm((-side * right_c) * (1 - grip) + INTO_WALL * grip)
    palm = _ortho(palm + 1e-3 * UP, d)
    thumb_dir = np.cross(d, palm) if side > 0 else np.cross(palm, d)
    hl = shape.hand
    index = wrist + d * (0.62 * hl) + thumb_dir * (0.10 * hl)
    pinky = wrist + d * (0.52 * hl) - thumb_dir * (0.17 * hl)
    thumb = wrist + d * (0.36 * hl) + thumb_dir * (0.24 * hl) + palm * (0.08 * hl)
    return pinky, index, thumb, palm


def foot_points(knee: np.ndarray, ankle: np.ndarray, grip: np.ndarray, on_dir: np.ndarray,
                fwd_p: np.ndarray, shape: BodyShape) -> tuple[np.ndarray, np.ndarray]:
    """Heel and toe of a rigid foot: on a hold the toe points into the wall (`on_dir`); a free foot
    hangs roughly at right angles to the shin."""
    shin = _norm(ankle - knee)
    free = _ortho(fwd_p + 0.3 * shin, shin)
    # A swinging foot keeps much of its on-hold orientation (and turns smoothly).
    d = _norm(free * (1 - grip) * 0.6 + on_dir * (0.4 + 0.6 * grip))
    down = _ortho(shin + 1e-3 * fwd_p, d)
    heel = ankle - d * (0.22 * shape.foot) + down * (0.8 * shape.ankle_h)
    toe = ankle + d * (0.78 * shape.foot) + down * (0.9 * shape.ankle_h)
    return heel, toe


def wrist_for_hold(hold: np.ndarray, side: float, shape: BodyShape) -> np.ndarray:
    """Wrist position that puts the fingers on a hold at `hold`."""
    d = grip_direction(np.zeros(3), side)
    return hold - d * (0.6 * shape.hand) + np.array([0.0, 0.0, 0.02])


def ankle_for_hold(hold: np.ndarray, foot_dir: np.ndarray, shape: BodyShape) -> np.ndarray:
    """Ankle position that puts the toe on a foothold at `hold`."""
    return hold - foot_dir * (0.78 * shape.foot) + UP * (0.9 * shape.ankle_h) + np.array([0.0, 0.0, 0.02])


@dataclass
class Pose:
    """A posed body over time: joints (T, len(JOINTS), 3) and orientations the renderer needs."""

    joints: np.ndarray
    head_fwd: np.ndarray
    head_up: np.ndarray
    torso: TorsoFrame
    shape: BodyShape


def assemble(shape: BodyShape, pelvis: np.ndarray, yaw_p: np.ndarray, yaw_c: np.ndarray,
             pitch: np.ndarray, roll: np.ndarray, wrists: np.ndarray, ankles: np.ndarray,
             grips: np.ndarray, gaze: np.ndarray, foot_dirs: np.ndarray, knees_out: float = 0.6,
             elbow_pole: tuple[float, float, float] = (-1.0, 0.7, -0.35)) -> Pose:
    """Pose the body. wrists/ankles (T, 2, 3) are IK targets (left, right); grips (T, 4) say how much
    each of (l hand, r hand, l foot, r foot) holds on; gaze (T, 3) is the point the head turns to;
    knees_out (0-1) how far the knees open sideways; elbow_pole the (up, out, forward) weights of
    the direction the elbows bend toward (the default suits arms reaching for holds)."""
    T = pelvis.shape[0]
    # Shoulders rise as the arm goes overhead: part of what makes a reaching climber look right.
    arm_up = (wrists[:, :, 1] - (pelvis[:, None, 1] + shape.torso)) / shape.arm
    shrug = 0.035 * shape.height * np.clip(arm_up, 0.0, 1.0)
    tf = torso_frame(shape, pelvis, yaw_p, yaw_c, pitch, roll, shrug)
    out = np.zeros((T, len(JOINTS), 3))

    # Head: turn toward the gaze point, limited relative to the chest (necks turn ~70 degrees).
    head_base = tf.neck + tf.up * (0.2 * shape.neck)
    look = _norm(gaze - head_base)
    fwd = tf.fwd_c
    h_fwd = _norm(fwd * 0.45 + look * 0.55)
    cos_lim = np.cos(np.deg2rad(70.0))
    too_far = np.sum(h_fwd * fwd, axis=-1, keepdims=True) < cos_lim
    h_fwd = np.where(too_far, _norm(fwd + h_fwd), h_fwd)
    h_up = _ortho(tf.up + 0.1 * UP, h_fwd)
    h_right = np.cross(h_fwd, h_up)
    head = tf.neck + _norm(tf.up + 0.18 * tf.fwd_c) * shape.neck
    r = shape.head_r
    out[:, J["head"]] = head
    out[:, J["nose"]] = head + h_fwd * (1.02 * r) - h_up * (0.2 * r)
    out[:, J["left_ear"]] = head - h_right * (0.98 * r) - h_fwd * (0.12 * r)
    out[:, J["right_ear"]] = head + h_right * (0.98 * r) - h_fwd * (0.12 * r)

    for k, name in ((tf.pelvis, "pelvis"), (tf.neck, "neck"), (tf.chest, "chest"),
                    (tf.l_sh, "left_shoulder"), (tf.r_sh, "right_shoulder"),
                    (tf.l_hip, "left_hip"), (tf.r_hip, "right_hip")):
        out[:, J[name]] = k

    for i, (side, lr) in enumerate(((-1.0, "left"), (1.0, "right"))):
        s_pt = tf.l_sh if side < 0 else tf.r_sh
        out_dir = side * tf.right_c
        pole = tf.up * elbow_pole[0] + out_dir * elbow_pole[1] + tf.fwd_c * elbow_pole[2]
        elbow, wrist = two_bone_ik(s_pt, wrists[:, i], shape.upper_arm, shape.forearm, pole)
        pinky, index, thumb, _ = hand_points(elbow, wrist, grips[:, i:i + 1], side, shape, tf.right_c)
        out[:, J[f"{lr}_elbow"]] = elbow
        out[:, J[f"{lr}_wrist"]] = wrist
        out[:, J[f"{lr}_pinky"]] = pinky
        out[:, J[f"{lr}_index"]] = index
        out[:, J[f"{lr}_thumb"]] = thumb

        h_pt = tf.l_hip if side < 0 else tf.r_hip
        # Knees bend toward the wall and out to the side (the "frog" position of climbers).
        # The up component keeps the pole off the thigh's line when a foot is high and far out.
        pole = tf.fwd_p * 0.8 + side * tf.right_p * (0.2 + 0.7 * knees_out) + tf.up * 0.6
        knee, ankle = two_bone_ik(h_pt, ankles[:, i], shape.thigh, shape.shin, pole)
        heel, toe = foot_points(knee, ankle, grips[:, 2 + i:3 + i], foot_dirs[:, i], tf.fwd_p, shape)
        out[:, J[f"{lr}_knee"]] = knee
        out[:, J[f"{lr}_ankle"]] = ankle
        out[:, J[f"{lr}_heel"]] = heel
        out[:, J[f"{lr}_foot_index"]] = toe
    return Pose(joints=out, head_fwd=h_fwd, head_up=h_up, torso=tf, shape=shape)


def reach_correct(shape: BodyShape, pelvis: np.ndarray, yaw_p: np.ndarray, yaw_c: np.ndarray,
                  pitch: np.ndarray, roll: np.ndarray, wrists: np.ndarray, ankles: np.ndarray,
                  weights: np.ndarray, iters: int = 4) -> np.ndarray:
    """Move the pelvis so over-stretched limbs can reach their targets (hands pull the body up,
    feet pull it down); `weights` (T, 4) says how strongly each limb pulls. Returns the new pelvis."""
    pelvis = pelvis.copy()
    lengths = np.array([shape.arm, shape.arm, shape.leg, shape.leg])
    limits = lengths * 0.96
    # A limb folded tighter than this pushes the body away (also keeps the IK well-conditioned).
    shortest = lengths * np.array([0.3, 0.3, 0.42, 0.42])
    for _ in range(iters):
        tf = torso_frame(shape, pelvis, yaw_p, yaw_c, pitch, roll)
        roots = np.stack([tf.l_sh, tf.r_sh, tf.l_hip, tf.r_hip], axis=1)
        targets = np.concatenate([wrists, ankles], axis=1)
        d = targets - roots
        dist = np.linalg.norm(d, axis=-1)
        excess = np.maximum(dist - limits, 0.0) - np.maximum(shortest - dist, 0.0)
        push = d / np.maximum(dist, 1e-9)[..., None] * (excess * weights)[..., None]
        pelvis += push.sum(axis=1) / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9) * 1.2
    return pelvis
