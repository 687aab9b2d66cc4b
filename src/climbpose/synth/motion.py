"""Climbing motion: a planner that picks holds and schedules moves, and a vectorised evaluator that
turns the plan into a posed body at any times (frames or motion-blur sub-frames).

A move: shift the hips toward the supporting limbs (prep), swing one hand or foot along an arc
away from the wall to a new hold with a minimum-jerk profile (reach 0.5-1.5 s), then pause.
Feet follow when the hands get far above them. The hips follow keyframes (eased), and limbs
that cannot reach pull the body along (body.reach_correct), so hands and feet stay on holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from climbpose.synth import body as B
from climbpose.synth.body import BodyShape, Pose
from climbpose.synth.domain import TRAINING, Domain, draw


def min_jerk(tau: np.ndarray) -> np.ndarray:
    """Minimum-jerk easing 0 -> 1: zero velocity and acceleration at both ends."""
    tau = np.clip(tau, 0.0, 1.0)
    return tau * tau * tau * (10 - 15 * tau + 6 * tau * tau)


def interp_keys(key_t: np.ndarray, key_v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Eased interpolation of keyframes (N,) -> (N, D) at times t (T,) -> (T, D)."""
    i = np.clip(np.searchsorted(key_t, t, side="right") - 1, 0, len(key_t) - 2)
    span = np.maximum(key_t[i + 1] - key_t[i], 1e-6)
    s = min_jerk((t - key_t[i]) / span)[:, None]
    return key_v[i] + (key_v[i + 1] - key_v[i]) * s


@dataclass
class LimbTrack:
    """Moves of one end effector: during [t0, t1] it travels p0 -> p1 with an arc `arc` (3,)."""

    t0: np.ndarray
    t1: np.ndarray
    p0: np.ndarray
    p1: np.ndarray
    arc: np.ndarray

    def at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (T, 3) and grip (T,): 1 while resting on a hold, 0 in the air."""
        i = np.clip(np.searchsorted(self.t1, t, side="left"), 0, len(self.t1) - 1)
        tau = np.clip((t - self.t0[i]) / np.maximum(self.t1[i] - self.t0[i], 1e-6), 0.0, 1.0)
        s = min_jerk(tau)[:, None]
        pos = self.p0[i] + (self.p1[i] - self.p0[i]) * s + self.arc[i] * np.sin(np.pi * tau)[:, None]
        grip = min_jerk(np.maximum(1 - 3 * tau, 3 * tau - 2))
        return pos, grip


@dataclass
class Plan:
    """Everything that drives one climber: body, style, limb tracks and body keyframes."""

    shape: BodyShape
    turnout: float
    limbs: list[LimbTrack]          # l hand, r hand, l foot, r foot (wrist / ankle targets)
    key_t: np.ndarray
    key_body: np.ndarray            # (N, 7): pelvis xyz, yaw_p, yaw_c, pitch, roll
    key_gaze: np.ndarray            # (N, 3)
    holds: list[tuple[np.ndarray, bool]]  # route holds used (position, is_foothold)
    sway: np.ndarray                # (3, 3): amplitude, frequency, phase of a small body sway


def plan_climb(rng: np.random.Generator, shape: BodyShape, duration: float,
               yaw: float | None = None, domain: Domain = TRAINING,
               chooser: np.random.Generator | None = None) -> Plan:
    """Plan a climb lasting at least `duration` seconds. yaw: the climber's base facing (0 faces
    the wall); drawn from the style mix when None. The domain sets the distance of the hips from
    the wall and the pace; `chooser` picks among its intervals."""
    if yaw is None:
        yaw = 0.0 if rng.random() < 0.45 else float(rng.choice([-1, 1]) * rng.uniform(0.35, 1.2))
    hip_z = draw(rng, domain.motion.hip_z, chooser)
    pace = draw(rng, domain.motion.pace, chooser)
    drift = rng.uniform(-0.25, 0.25)
    twist = rng.uniform(0.0, 0.6)
    turnout = float(rng.uniform(0.2, 0.9))
    leg, arm, torso = shape.leg, shape.arm, shape.torso
    foot_dir0 = B.foot_direction(B.facing(np.array(yaw)), np.cross(B.facing(np.array(yaw)), B.UP), 1.0, turnout)

    def hold_to_effector(limb: int, hold: np.ndarray) -> np.ndarray:
        side = -1.0 if limb % 2 == 0 else 1.0
        if limb < 2:
            return B.wrist_for_hold(hold, side, shape)
        fd = foot_dir0 * np.array([side, 1.0, 1.0])
        return B.ankle_for_hold(hold, fd, shape)

    # Start: on four holds, anywhere from the ground to mid-wall.
    fy = rng.uniform(0.15, 1.3)
    reach = 0.55 * leg + torso + 0.35 * arm
    holds_pos = [
        np.array([rng.uniform(-0.45, -0.15), fy + 0.45 * leg + rng.uniform(0.7, 0.95) * reach, 0.03]),
        np.array([rng.uniform(0.15, 0.45), fy + 0.45 * leg + rng.uniform(0.7, 0.95) * reach, 0.03]),
        np.array([rng.uniform(-0.35, -0.1), fy + rng.normal(0, 0.05), 0.02]),
        np.array([rng.uniform(0.1, 0.35), fy + rng.normal(0, 0.05), 0.02]),
    ]
    route = [(p.copy(), i >= 2) for i, p in enumerate(holds_pos)]
    eff = [hold_to_effector(i, p) for i, p in enumerate(holds_pos)]
    tracks: list[list[tuple[float, float, np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in range(4)]

    def body_key(moving: int | None, extra_yaw: float, lean: float, roll: float) -> np.ndarray:
        w = np.array([1.0, 1.0, 1.4, 1.4])
        if moving is not None:
            w[moving] = 0.0
        xs = np.array([e[0] for e in eff])
        x = float((w * xs).sum() / w.sum())
        feet_y = (eff[2][1] + eff[3][1]) / 2
        hands_y = min(eff[0][1], eff[1][1]) if moving is None or moving >= 2 else eff[1 - moving][1]
        # Hang on fairly straight arms (saves energy), with the legs as bent as that requires.
        y = min(feet_y + leg * rng.uniform(0.6, 0.85), hands_y - torso - rng.uniform(0.6, 0.85) * arm)
        y = max(y, feet_y + 0.3 * leg)
        return np.array([x, y, hip_z + rng.normal(0, 0.03), yaw + extra_yaw * 0.6, yaw + extra_yaw,
                         lean, roll])

    t = float(rng.uniform(0.0, 0.6))
    keys = [(0.0, body_key(None, 0.0, 0.05, 0.0), (eff[0] + eff[1]) / 2 + np.array([0, 0.3, 0]))]
    keys.append((t, keys[0][1].copy(), keys[0][2]))
    while t < duration + 0.5:
        hands_top = max(eff[0][1], eff[1][1])
        feet_low = min(eff[2][1], eff[3][1])
        # Feet may come up to about a squat below the lower hand, not higher.
        foot_cap = min(eff[0][1], eff[1][1]) - torso - 0.55 * arm - 0.4 * leg
        if hands_top - feet_low > 0.55 * leg + torso + 0.7 * arm + rng.normal(0, 0.1) and feet_low + 0.15 < foot_cap:
            limb = 2 if eff[2][1] <= eff[3][1] else 3
        else:
            lower = 0 if eff[0][1] <= eff[1][1] else 1
            limb = lower if rng.random() < 0.85 else 1 - lower
        side = -1.0 if limb % 2 == 0 else 1.0
        old = eff[limb].copy()
        if limb < 2:
            other = eff[1 - limb]
            top_y = max(other[1], old[1]) + 0.6 * shape.hand
            hold = np.array([other[0] + side * rng.uniform(0.15, 0.55) + drift,
                             top_y + rng.uniform(0.05, 0.4), 0.03])
            t_prep, t_move, t_pause = rng.uniform(0.2, 0.6), rng.uniform(0.5, 1.4), rng.uniform(0.15, 1.0)
            arc = np.array([side * rng.uniform(0, 0.08), rng.uniform(-0.05, 0.05), rng.uniform(0.06, 0.2)])
            extra_yaw = -side * twist * rng.uniform(0.3, 1.0)
        else:
            pel_x = keys[-1][1][0]
            hold = np.array([pel_x + side * rng.uniform(0.08, 0.4),
                             min(old[1] + rng.uniform(0.2, 0.5), foot_cap) - 0.9 * shape.ankle_h, 0.02])
            t_prep, t_move, t_pause = rng.uniform(0.1, 0.3), rng.uniform(0.4, 0.9), rng.uniform(0.1, 0.5)
            arc = np.array([0.0, rng.uniform(0.03, 0.12), rng.uniform(0.08, 0.18)])
            extra_yaw = side * twist * rng.uniform(0.0, 0.5)
        t_prep, t_move, t_pause = t_prep * pace, t_move * pace, t_pause * pace
        new = hold_to_effector(limb, hold)
        route.append((hold, limb >= 2))
        # Prep: weight onto the supporting limbs, turn, and look at the target.
        prep = body_key(limb, extra_yaw, rng.uniform(0.0, 0.15), side * rng.uniform(0.0, 0.12))
        keys.append((t + t_prep, prep, hold))
        tracks[limb].append((t + t_prep, t + t_prep + t_move, old, new, arc))
        eff[limb] = new
        t += t_prep + t_move
        after = body_key(None, extra_yaw * 0.5, rng.uniform(0.0, 0.12), side * rng.uniform(-0.05, 0.08))
        keys.append((t, after, hold))
        t += t_pause
        look = (eff[0] + eff[1]) / 2 + np.array([rng.normal(0, 0.3), rng.uniform(0.1, 0.5), 0])
        keys.append((t, keys[-1][1] + np.array([0, 0, 0, 0, 0, 0.02, 0]), look))

    limbs = []
    for i, tr in enumerate(tracks):
        tr.append((1e9, 1e9 + 1, eff[i], eff[i], np.zeros(3)))  # sentinel: stay on the last hold
        limbs.append(LimbTrack(
            t0=np.array([m[0] for m in tr]), t1=np.array([m[1] for m in tr]),
            p0=np.array([m[2] for m in tr]), p1=np.array([m[3] for m in tr]), arc=np.array([m[4] for m in tr])))
    key_t = np.array([k[0] for k in keys])
    key_t = key_t + np.arange(len(key_t)) * 1e-6  # strictly increasing
    sway = np.stack([rng.uniform(0.003, 0.015, 3), rng.uniform(0.2, 0.7, 3), rng.uniform(0, 2 * np.pi, 3)])
    return Plan(shape=shape, turnout=turnout, limbs=limbs, key_t=key_t,
                key_body=np.array([k[1] for k in keys]), key_gaze=np.array([k[2] for k in keys]),
                holds=route, sway=sway)


def evaluate(plan: Plan, t: np.ndarray) -> Pose:
    """Pose the climber at times t (seconds, any order, may repeat)."""
    t = np.maximum(np.asarray(t, dtype=np.float64), 0.0)
    shape = plan.shape
    effs, grips = zip(*(lt.at(t) for lt in plan.limbs))
    wrists = np.stack(effs[:2], axis=1)
    ankles = np.stack(effs[2:], axis=1)
    grip = np.stack(grips, axis=1)
    kb = interp_keys(plan.key_t, plan.key_body, t)
    amp, freq, phase = plan.sway
    pelvis = kb[:, :3] + amp * np.sin(2 * np.pi * freq * t[:, None] + phase)
    yaw_p, yaw_c, pitch, roll = kb[:, 3], kb[:, 4], kb[:, 5], kb[:, 6]
    # Resting limbs hold the body in place; a limb in the air pulls only a little.
    weights = 0.25 + 0.75 * grip
    pelvis = B.reach_correct(shape, pelvis, yaw_p, yaw_c, pitch, roll, wrists, ankles, weights)
    gaze = interp_keys(plan.key_t, plan.key_gaze, t)
    fwd_p = B.facing(yaw_p)
    right_p = np.cross(fwd_p, B.UP)
    foot_dirs = np.stack([B.foot_direction(fwd_p, right_p, s, plan.turnout) for s in (-1.0, 1.0)], axis=1)
    return B.assemble(shape, pelvis, yaw_p, yaw_c, pitch, roll, wrists, ankles, grip, gaze, foot_dirs,
                      knees_out=plan.turnout)
