"""Floor motions: a person standing and moving on the mats in front of the wall, not climbing.

Why: the out-of-domain test set must hold poses the climbing videos never show (squats, lunges,
arm raises and waving, side bends, turns, stepping in place, reaching down to the floor), so a
refinement model that learnt climbers' cross-keypoint patterns (hands above the head, feet on
holds near hip height) and moves keypoints toward them is caught doing so.

A plan is a sequence of actions, each a few keyframes of the whole body eased with the climbing
moves' minimum-jerk profile (motion.interp_keys). The body is the climbers' body model
(body.assemble, two-bone IK, body.reach_correct); hand targets are stored relative to the
shoulders in the person's heading frame (right, world up, forward), so arm poses follow the body
as it bends and turns, and ankle targets in the wall frame, so planted feet stay put.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from climbpose.synth import body as B
from climbpose.synth.body import BodyShape, Pose
from climbpose.synth.motion import interp_keys, min_jerk

ACTIONS: tuple[str, ...] = ("squat", "lunge", "arms_up", "wave", "side_bend", "turn", "march", "reach_floor")
HANG = (0.15, -0.95, 0.08)  # relaxed arm: (outward, up, forward) in arm lengths from the shoulder
SIDE = (0.9, 0.05, 0.25)    # arm raised sideways, the way up to overhead


@dataclass
class GroundPlan:
    """Everything that drives one person on the floor (evaluate_ground poses it at any times)."""

    shape: BodyShape
    turnout: float
    ankle_y: float              # ankle height of a planted foot
    key_t: np.ndarray           # (N,)
    key_body: np.ndarray        # (N, 7): pelvis xyz, yaw_p, yaw_c, pitch, roll (as motion.Plan)
    key_hands: np.ndarray       # (N, 2, 3): wrist target - shoulder along (right, up, forward), metres
    key_feet: np.ndarray        # (N, 2, 3): ankle targets, wall frame
    key_gaze: np.ndarray        # (N, 3)
    key_wave: np.ndarray        # (N, 2): amplitude (m) of each hand's sideways waving
    wave_hz: float
    sway: np.ndarray            # (3, 3): amplitude, frequency, phase of a small body sway
    actions: list[tuple[float, str]]  # (start time, action)
    holds: list = field(default_factory=list)  # no route: build_scene makes a plain vertical wall


def _heading(yaw: float) -> tuple[np.ndarray, np.ndarray]:
    fwd = B.facing(np.array(yaw))
    return fwd, np.cross(fwd, B.UP)


class _Planner:
    """Keyframes of one floor routine. `state` is the pose being built; `key` records it."""

    def __init__(self, rng: np.random.Generator, shape: BodyShape) -> None:
        self.rng, self.shape = rng, shape
        self.ankle_y = 0.95 * shape.ankle_h
        yaw = np.pi + (rng.uniform(-0.5, 0.5) if rng.random() < 0.7 else rng.choice([-1, 1]) * rng.uniform(0.9, 1.5))
        self.stance = shape.hip_half + rng.uniform(0.0, 0.1)
        x, z = rng.uniform(-0.3, 0.3), rng.uniform(0.6, 1.5)
        self.state = dict(x=x, z=z, yaw=float(yaw), twist=0.0, bend=rng.uniform(0.0, 0.06), side=0.0, h=0.95,
                          hands=self.arms(HANG, HANG), feet=self.planted(x, z, float(yaw), self.stance),
                          gaze=None, wave=np.zeros(2))
        self.t = 0.0
        self.rows: list[tuple[float, dict]] = []
        self.actions: list[tuple[float, str]] = []
        self.key(0.0)

    # -- pose helpers -------------------------------------------------------------------------
    def arms(self, left: tuple[float, float, float], right: tuple[float, float, float]) -> np.ndarray:
        """Hand offsets (2, 3) from (outward, up, forward) in arm lengths, kept within reach."""
        out = []
        for side, (o, u, f) in ((-1.0, left), (1.0, right)):
            v = np.array([side * o, u, f])
            out.append(v / max(np.linalg.norm(v) / 0.97, 1.0) * self.shape.arm)
        return np.array(out)

    def planted(self, x: float, z: float, yaw: float, stance: float, toe_out: float = 0.0) -> np.ndarray:
        fwd, right = _heading(yaw)
        base = np.array([x, self.ankle_y, z])
        return np.array([base + right * side * stance + fwd * toe_out for side in (-1.0, 1.0)])

    def body(self, s: dict) -> np.ndarray:
        """(7,) body key of a state: the pelvis is as high as `h` (leg lengths above the ankles)
        asks, but never so high that a planted foot is out of reach."""
        leg = self.shape.leg
        fwd_c, right_c = _heading(s["yaw"] + s["twist"])
        _, right = _heading(s["yaw"])
        y = self.ankle_y + s["h"] * leg
        for side, foot in zip((-1.0, 1.0), s["feet"]):
            hip = np.array([s["x"], 0.0, s["z"]]) + right * side * self.shape.hip_half
            dh = float(np.hypot(foot[0] - hip[0], foot[2] - hip[2]))
            y = min(y, foot[1] + float(np.sqrt(max((0.95 * leg) ** 2 - dh * dh, (0.4 * leg) ** 2))))
        # Spine tilt toward the chest's forward (bend) and right (side), as motion.Plan's pitch/roll.
        lean = fwd_c * np.tan(s["bend"]) + right_c * np.tan(s["side"])
        return np.array([s["x"], y, s["z"], s["yaw"], s["yaw"] + s["twist"], np.arctan(lean[2]), np.arctan(lean[0])])

    def gaze(self, s: dict, body: np.ndarray) -> np.ndarray:
        if s["gaze"] is not None:
            return np.asarray(s["gaze"], float)
        fwd, _ = _heading(body[4])
        return body[:3] + B.UP * (self.shape.torso + self.shape.neck) + fwd * 3.0

    def key(self, dt: float, **changes) -> None:
        self.t += dt
        self.state.update(changes)
        self.rows.append((self.t, {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.state.items()}))

    def step_foot(self, i: int, target: np.ndarray, dt: float, lift: float = 0.07) -> None:
        feet = self.state["feet"].copy()
        feet[i] = (feet[i] + target) / 2 + B.UP * lift
        self.key(dt / 2, feet=feet)
        feet = feet.copy()
        feet[i] = target
        self.key(dt / 2, feet=feet)

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    # -- actions ------------------------------------------------------------------------------
    def squat(self, neutral: dict, p: float) -> None:
        fwd, _ = _heading(neutral["yaw"])
        wide = self.planted(neutral["x"], neutral["z"], neutral["yaw"], self.stance + self.u(0.04, 0.12), 0.03)
        self.key(0.4 * p, feet=wide)
        for _ in range(int(self.rng.integers(1, 3))):
            back = fwd * -self.u(0.05, 0.15)
            self.key(self.u(0.8, 1.2) * p, h=self.u(0.42, 0.6), bend=self.u(0.3, 0.6), x=neutral["x"] + back[0],
                     z=neutral["z"] + back[2], hands=self.arms((0.12, -0.1, 0.9), (0.12, -0.1, 0.9)))
            self.key(self.u(0.2, 0.5) * p)
            self.key(self.u(0.8, 1.2) * p, h=0.95, bend=0.05, x=neutral["x"], z=neutral["z"], hands=neutral["hands"])

    def lunge(self, neutral: dict, p: float) -> None:
        i = int(self.rng.integers(2))
        fwd, _ = _heading(neutral["yaw"])
        step = fwd * self.u(0.45, 0.7) * self.shape.leg
        self.step_foot(i, neutral["feet"][i] + step, 0.6 * p)
        self.key(self.u(0.6, 1.0) * p, x=neutral["x"] + step[0] / 2, z=neutral["z"] + step[2] / 2, h=self.u(0.5, 0.66),
                 bend=self.u(0.0, 0.15), hands=self.arms((0.3, -0.85, 0.1), (0.3, -0.85, 0.1)))
        self.key(self.u(0.2, 0.6) * p)
        self.key(self.u(0.6, 1.0) * p, x=neutral["x"], z=neutral["z"], h=0.95, bend=0.03, hands=neutral["hands"])
        self.step_foot(i, neutral["feet"][i], 0.6 * p)

    def arms_up(self, neutral: dict, p: float) -> None:
        up = [(self.u(0.1, 0.35), self.u(0.85, 0.95), self.u(-0.05, 0.2)) for _ in range(2)]
        # Up sideways or in front, both arms together, sometimes looking up after them.
        via = SIDE if self.rng.random() < 0.5 else (0.2, 0.05, 0.95)
        gaze = self.state["feet"].mean(0) + np.array([0, 4.0, 0]) if self.rng.random() < 0.3 else None
        self.key(self.u(0.5, 0.7) * p, hands=self.arms(via, via))
        self.key(self.u(0.5, 0.7) * p, hands=self.arms(*up), gaze=gaze)
        self.key(self.u(0.4, 1.2) * p)
        self.key(self.u(0.5, 0.7) * p, hands=self.arms(via, via), gaze=None)
        self.key(self.u(0.5, 0.7) * p, hands=neutral["hands"])

    def wave(self, neutral: dict, p: float) -> None:
        i = int(self.rng.integers(2))
        arms = [HANG, HANG]
        arms[i] = (self.u(0.35, 0.55), self.u(0.5, 0.75), self.u(0.1, 0.3))
        amp = np.zeros(2)
        amp[i] = self.u(0.07, 0.14)
        self.key(self.u(0.7, 0.9) * p, hands=self.arms(*arms))
        self.key(0.3 * p, wave=amp)
        self.key(self.u(1.0, 2.2) * p)
        self.key(0.3 * p, wave=np.zeros(2))
        self.key(self.u(0.7, 0.9) * p, hands=neutral["hands"])

    def side_bend(self, neutral: dict, p: float) -> None:
        for s in self.rng.permutation([-1.0, 1.0])[: int(self.rng.integers(1, 3))]:
            over, down = (-0.3, 0.88, 0.0), (0.1, -0.95, 0.05)
            hands = self.arms(over, down) if s > 0 else self.arms(down, over)
            raised = self.arms(SIDE, down) if s > 0 else self.arms(down, SIDE)
            self.key(self.u(0.4, 0.6) * p, side=s * 0.1, hands=raised)
            self.key(self.u(0.5, 0.8) * p, side=s * self.u(0.25, 0.5), hands=hands)
            self.key(self.u(0.3, 0.9) * p)
            self.key(self.u(0.5, 0.8) * p, side=s * 0.1, hands=raised)
            self.key(self.u(0.4, 0.6) * p, side=0.0, hands=neutral["hands"])

    def turn(self, neutral: dict, p: float) -> None:
        yaw = neutral["yaw"] + float(self.rng.choice([-1, 1])) * self.u(0.6, 1.4)
        yaw = float(np.clip(yaw, np.pi - 2.4, np.pi + 2.4))  # at most nearly back to the camera
        feet = self.planted(neutral["x"], neutral["z"], yaw, self.stance)
        order = self.rng.permutation(2)
        self.key(0.3 * p, twist=(yaw - neutral["yaw"]) * 0.4)
        self.state["yaw"] = (neutral["yaw"] + yaw) / 2
        self.step_foot(int(order[0]), feet[order[0]], 0.6 * p)
        self.state["yaw"] = yaw
        self.step_foot(int(order[1]), feet[order[1]], 0.6 * p)
        self.key(0.4 * p, twist=0.0)
        self.key(self.u(0.3, 0.8) * p)

    def march(self, neutral: dict, p: float) -> None:
        fwd, _ = _heading(neutral["yaw"])
        swing = self.u(0.2, 0.4)
        for k in range(int(self.rng.integers(3, 7))):
            i = k % 2
            lifted = neutral["feet"].copy()
            lifted[i] += B.UP * self.u(0.12, 0.25) * self.shape.leg + fwd * 0.06
            front = (0.12, -0.88, swing)
            back = (0.12, -0.9, -swing * 0.7)
            hands = self.arms(back, front) if i == 0 else self.arms(front, back)
            self.key(self.u(0.25, 0.35) * p, feet=lifted, hands=hands, h=0.93)
            self.key(self.u(0.2, 0.3) * p, feet=neutral["feet"])
        self.key(0.4 * p, hands=neutral["hands"], h=0.95)

    def reach_floor(self, neutral: dict, p: float) -> None:
        fwd, right = _heading(neutral["yaw"])
        back = fwd * -self.u(0.08, 0.2)
        pose = dict(self.state, x=neutral["x"] + back[0], z=neutral["z"] + back[2], h=self.u(0.48, 0.62),
                    bend=self.u(0.9, 1.25), side=0.0)
        body = self.body(pose)
        tf = B.torso_frame(self.shape, body[None, :3], body[None, 3], body[None, 4], body[None, 5], body[None, 6])
        spot = neutral["feet"].mean(0) + fwd * self.u(0.15, 0.4)
        hands = []
        for side, shoulder in ((-1.0, tf.l_sh[0]), (1.0, tf.r_sh[0])):
            target = spot + right * side * self.u(0.05, 0.2)
            target[1] = 0.06
            v = target - shoulder
            v = v / max(np.linalg.norm(v) / (0.97 * self.shape.arm), 1.0)
            hands.append([v @ right, v[1], v @ fwd])
        self.key(self.u(0.9, 1.4) * p, **{k: pose[k] for k in ("x", "z", "h", "bend", "side")}, hands=np.array(hands),
                 gaze=spot)
        self.key(self.u(0.3, 1.0) * p)
        self.key(self.u(0.9, 1.4) * p, x=neutral["x"], z=neutral["z"], h=0.95, bend=0.04, hands=neutral["hands"],
                 gaze=None)


def plan_ground(rng: np.random.Generator, shape: BodyShape, duration: float) -> GroundPlan:
    """A floor routine lasting at least `duration` seconds: actions in a random order (each at most
    once before any repeats), with short pauses in between."""
    pl = _Planner(rng, shape)
    pace = float(rng.uniform(0.8, 1.25))
    pl.key(float(rng.uniform(0.1, 0.6)))
    order: list[str] = []
    while pl.t < duration + 0.5:
        if not order:
            order = [ACTIONS[i] for i in rng.permutation(len(ACTIONS))]
        name = order.pop()
        pl.actions.append((pl.t, name))
        getattr(pl, name)(dict(pl.state), pace)
        pl.key(float(rng.uniform(0.1, 0.6)) * pace)
    bodies = [pl.body(s) for _, s in pl.rows]
    key_t = np.array([t for t, _ in pl.rows]) + np.arange(len(pl.rows)) * 1e-6  # strictly increasing
    sway = np.stack([rng.uniform(0.003, 0.012, 3), rng.uniform(0.2, 0.6, 3), rng.uniform(0, 2 * np.pi, 3)])
    return GroundPlan(
        shape=shape, turnout=float(rng.uniform(0.1, 0.4)), ankle_y=pl.ankle_y, key_t=key_t,
        key_body=np.array(bodies), key_hands=np.array([s["hands"] for _, s in pl.rows]),
        key_feet=np.array([s["feet"] for _, s in pl.rows]),
        key_gaze=np.array([pl.gaze(s, b) for (_, s), b in zip(pl.rows, bodies)]),
        key_wave=np.array([s["wave"] for _, s in pl.rows]), wave_hz=float(rng.uniform(1.5, 3.0)), sway=sway,
        actions=pl.actions,
    )


def swing_keys(key_t: np.ndarray, vectors: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Eased interpolation of vectors (N, M, 3) -> (T, M, 3): the direction turns along a great
    circle and the length changes linearly, so a hand swings around its shoulder instead of
    cutting through it (a straight line would flip the elbow where it passes the shoulder)."""
    i = np.clip(np.searchsorted(key_t, t, side="right") - 1, 0, len(key_t) - 2)
    span = np.maximum(key_t[i + 1] - key_t[i], 1e-6)
    s = min_jerk((t - key_t[i]) / span)[:, None, None]
    a, b = vectors[i], vectors[i + 1]
    la, lb = (np.linalg.norm(v, axis=-1, keepdims=True) for v in (a, b))
    ua, ub = a / np.maximum(la, 1e-9), b / np.maximum(lb, 1e-9)
    angle = np.arccos(np.clip(np.sum(ua * ub, axis=-1, keepdims=True), -1.0, 1.0))
    sin = np.sin(angle)
    near = sin < 1e-6
    wa = np.where(near, 1 - s, np.sin((1 - s) * angle) / np.where(near, 1.0, sin))
    wb = np.where(near, s, np.sin(s * angle) / np.where(near, 1.0, sin))
    u = wa * ua + wb * ub
    return u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-9) * (la + (lb - la) * s)


def evaluate_ground(plan: GroundPlan, t: np.ndarray) -> Pose:
    """Pose the person at times t (seconds, any order, may repeat)."""
    t = np.maximum(np.asarray(t, dtype=np.float64), 0.0)
    shape, n = plan.shape, len(plan.key_t)
    kb = interp_keys(plan.key_t, plan.key_body, t)
    amp, freq, phase = plan.sway
    pelvis = kb[:, :3] + amp * np.sin(2 * np.pi * freq * t[:, None] + phase)
    yaw_p, yaw_c, pitch, roll = kb[:, 3], kb[:, 4], kb[:, 5], kb[:, 6]
    ankles = interp_keys(plan.key_t, plan.key_feet.reshape(n, 6), t).reshape(-1, 2, 3)
    # Only the feet carry the body: the pelvis drops where a foot would be out of reach.
    weights = np.broadcast_to(np.array([0.0, 0.0, 1.0, 1.0]), (len(t), 4))
    pelvis = B.reach_correct(shape, pelvis, yaw_p, yaw_c, pitch, roll, ankles.copy(), ankles, weights)
    tf = B.torso_frame(shape, pelvis, yaw_p, yaw_c, pitch, roll)
    fwd_h = B.facing(yaw_c)
    right_h = np.cross(fwd_h, B.UP)
    hands = swing_keys(plan.key_t, plan.key_hands, t)
    wave = interp_keys(plan.key_t, plan.key_wave, t) * np.sin(2 * np.pi * plan.wave_hz * t)[:, None]
    wrists = (np.stack([tf.l_sh, tf.r_sh], axis=1) + (hands[..., :1] + wave[..., None]) * right_h[:, None]
              + hands[..., 1:2] * B.UP + hands[..., 2:] * fwd_h[:, None])
    lifted = np.clip((ankles[..., 1] - plan.ankle_y) / 0.05, 0.0, 1.0)
    grips = np.concatenate([np.zeros((len(t), 2)), 1.0 - lifted], axis=1)
    fwd_p = B.facing(yaw_p)
    right_p = np.cross(fwd_p, B.UP)
    # Feet flat on the floor, toes forward and a little out.
    foot_dirs = np.stack([fwd_p + side * right_p * (0.15 + 0.4 * plan.turnout) for side in (-1.0, 1.0)], axis=1)
    foot_dirs /= np.linalg.norm(foot_dirs, axis=-1, keepdims=True)
    gaze = interp_keys(plan.key_t, plan.key_gaze, t)
    # Elbows out and back: never parallel to an arm that hangs, reaches forward, down or overhead,
    # so the elbow does not flip as the arm sweeps between those (the climbers' pole would).
    return B.assemble(shape, pelvis, yaw_p, yaw_c, pitch, roll, wrists, ankles, grips, gaze, foot_dirs,
                      knees_out=plan.turnout, elbow_pole=(-0.3, 0.8, -0.5))
