"""Drawing the climber with OpenCV: shaded tapered limbs, a torso hull, a head with hair, ears and
face, hands and climbing shoes, depth-sorted (painter's algorithm) so near parts cover far ones.

Shading is a cheap three-band lighting gradient across each part (dark rim, mid tone, highlight
shifted toward the light). All coordinates carry 3 fractional bits (cv2 `shift`) so slow motion
stays smooth instead of snapping to whole pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from climbpose.synth.body import J, Pose
from climbpose.synth.domain import TRAINING, LookRanges

S8 = 8.0  # fixed-point scale for cv2 shift=3


@dataclass
class Look:
    """A climber's appearance."""

    skin: np.ndarray
    hair: np.ndarray
    hair_style: str      # short, long, bun, beanie, bald
    beanie: np.ndarray
    shirt: np.ndarray
    sleeves: str         # tank, short, long
    pants: np.ndarray
    legs: str            # long, shorts
    shoe: np.ndarray
    shoe2: np.ndarray
    bag: np.ndarray | None


def sample_look(rng: np.random.Generator, style: LookRanges = TRAINING.look) -> Look:
    """A person's colours and clothing cut, from the domain's palettes (`style`)."""
    pick = lambda pal: np.array(pal[int(rng.integers(len(pal)))], np.float32) * rng.uniform(0.9, 1.08)  # noqa: E731
    return Look(
        skin=pick(style.skin), hair=pick(style.hair),
        hair_style=str(rng.choice(["short", "long", "bun", "beanie", "bald"], p=[0.45, 0.25, 0.15, 0.12, 0.03])),
        beanie=pick(style.cloth), shirt=pick(style.cloth),
        sleeves=str(rng.choice(["tank", "short", "long"], p=list(style.sleeves_p))),
        pants=pick(style.cloth), legs=str(rng.choice(["long", "shorts"], p=list(style.legs_p))),
        shoe=pick(style.shoes), shoe2=pick(style.shoes), bag=pick(style.cloth) if rng.random() < 0.6 else None,
    )


def _pts(p: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(p) * S8).astype(np.int32)


def _tone(c: np.ndarray, k: float, add: float = 0.0) -> list[float]:
    """Scaled colour with an opaque alpha: the body is drawn on a transparent RGBA layer."""
    return np.clip(c * k + add, 0, 255).tolist() + [255.0]


def _quad(img, a, b, ra, rb, colour) -> None:
    d = b - a
    n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-6)
    poly = np.array([a + n * ra, b + n * rb, b - n * rb, a - n * ra])
    cv2.fillConvexPoly(img, _pts(poly), colour, cv2.LINE_AA, 3)
    cv2.circle(img, tuple(_pts(a)), int(ra * S8), colour, -1, cv2.LINE_AA, 3)
    cv2.circle(img, tuple(_pts(b)), int(rb * S8), colour, -1, cv2.LINE_AA, 3)


def limb(img, a, b, ra, rb, colour, light2d) -> None:
    """A tapered capsule with a lighting gradient across it."""
    d = b - a
    n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-6)
    side = 1.0 if float(n @ light2d) >= 0 else -1.0
    _quad(img, a, b, ra, rb, _tone(colour, 0.55))
    o = n * side
    _quad(img, a + o * ra * 0.18, b + o * rb * 0.18, ra * 0.72, rb * 0.72, _tone(colour, 0.82))
    _quad(img, a + o * ra * 0.38, b + o * rb * 0.38, ra * 0.32, rb * 0.32, _tone(colour, 1.0, 12))


def blob(img, pts2d: np.ndarray, colour, light2d, bands: bool = True) -> None:
    """A convex shape (hull of points) with dark rim, mid tone and highlight toward the light."""
    hull = cv2.convexHull(pts2d.astype(np.float32)).reshape(-1, 2)
    cv2.fillConvexPoly(img, _pts(hull), _tone(colour, 0.6 if bands else 0.85), cv2.LINE_AA, 3)
    if not bands:
        return
    c = hull.mean(0)
    size = float(np.sqrt(cv2.contourArea(hull.astype(np.float32)) + 1e-6))
    # Nested, lighter, shifted toward the light: after the layer's blur, a smooth gradient.
    for scale, k, add, sh in ((0.85, 0.72, 0.0, 0.06), (0.68, 0.82, 0.0, 0.12), (0.48, 0.92, 6.0, 0.18),
                              (0.28, 1.0, 12.0, 0.22)):
        inner = c + (hull - c) * scale + light2d * size * sh
        cv2.fillConvexPoly(img, _pts(inner), _tone(colour, k, add), cv2.LINE_AA, 3)


@dataclass
class FrameGeom:
    """What the painter needs for one (sub-)frame: projected joints, depths, px per metre."""

    uv: np.ndarray       # (NJ, 2)
    z: np.ndarray        # (NJ,)
    ppm: np.ndarray      # (NJ,) pixels per metre at each joint
    project: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  #: (N, 3) wall-frame points -> (N, 2) px, (N,) depth
    to_cam: np.ndarray   # unit vector from head to camera (wall frame)


def _ring(centre, right, fwd, a, b, n=10):
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return centre + np.outer(np.cos(ang) * a, right) + np.outer(np.sin(ang) * b, fwd)


Item = tuple[float, np.ndarray, Callable[[np.ndarray, np.ndarray], None]]


def draw_list(pose: Pose, t: int, g: FrameGeom, look: Look, light2d: np.ndarray) -> list[Item]:
    """The body as (depth, 3D reference point, draw function) items for one frame. The draw
    function takes the image and the pixel offset of its top-left corner."""
    sh, jt, tf = pose.shape, pose.joints[t], pose.torso
    uv, z, ppm = g.uv, g.z, g.ppm
    s = sh.height / 1.75
    items: list[Item] = []

    def add_limb(a, b, ra, rb, colour):
        ia, ib = J[a], J[b]
        def draw(img, o):
            limb(img, uv[ia] - o, uv[ib] - o, ra * ppm[ia], rb * ppm[ib], colour, light2d)
        items.append(((z[ia] + z[ib]) / 2, (jt[ia] + jt[ib]) / 2, draw))

    for lr in ("left", "right"):
        # Sleeves: tank tops show the whole arm, t-shirts cover the upper arm.
        upper = look.skin if look.sleeves == "tank" else look.shirt
        fore = look.shirt if look.sleeves == "long" else look.skin
        add_limb(f"{lr}_shoulder", f"{lr}_elbow", sh.radius("upper_arm"), sh.radius("elbow"), upper)
        add_limb(f"{lr}_elbow", f"{lr}_wrist", sh.radius("elbow"), sh.radius("wrist"), fore)
        add_limb(f"{lr}_hip", f"{lr}_knee", sh.radius("thigh"), sh.radius("knee"), look.pants)
        shin = look.pants if look.legs == "long" else look.skin
        add_limb(f"{lr}_knee", f"{lr}_ankle", sh.radius("knee"), sh.radius("ankle"), shin)
        # Hand: hull of wrist, finger points and fingertips.
        w, i, p, th = (jt[J[f"{lr}_{n}"]] for n in ("wrist", "index", "pinky", "thumb"))
        tip = w + (i - w) * 1.45
        hand3 = np.array([w, i, p, th, tip, p + (i - w) * 0.35, w + (th - w) * 0.3 + (p - w) * 0.25])
        hand2, hz = g.project(hand3)
        items.append((float(hz.mean()), hand3.mean(0), lambda img, o, h2=hand2: blob(img, h2 - o, look.skin, light2d)))
        # Shoe: hull of ankle, heel and toe widened across the foot.
        a, he, to, k = (jt[J[f"{lr}_{n}"]] for n in ("ankle", "heel", "foot_index", "knee"))
        across = np.cross(to - he, a - k)
        across = across / max(np.linalg.norm(across), 1e-9) * 0.045 * s
        shoe3 = np.array([a + across * 0.8, a - across * 0.8, he + across * 0.7, he - across * 0.7,
                          to + across * 0.5, to - across * 0.5, a + (a - k) * 0.05])
        mid = to * 0.6 + he * 0.4
        toe3 = np.array([to + across * 0.5, to - across * 0.5, mid + across, mid - across])
        shoe2, szz = g.project(shoe3)
        toe2, _ = g.project(toe3)

        def shoe(img, o, s2=shoe2, t2=toe2):
            blob(img, s2 - o, look.shoe, light2d)
            blob(img, t2 - o, look.shoe2, light2d, bands=False)
        items.append((float(szz.mean()), shoe3.mean(0), shoe))

    # Torso: pants hull (hips) under a shirt hull (neck to belt), both from 3D rings.
    up, rc, fc, rp, fp = tf.up[t], tf.right_c[t], tf.fwd_c[t], tf.right_p[t], tf.fwd_p[t]
    pel, neck = tf.pelvis[t], tf.neck[t]
    b = sh.build
    shirt3 = np.concatenate([
        _ring(neck + up * 0.045 * s, rc, fc, 0.07 * s * b, 0.055 * s, 6),  # trapezius
        _ring((jt[J["left_shoulder"]] + jt[J["right_shoulder"]]) / 2, rc, fc,
              sh.shoulder_half + 0.035 * s * b, 0.09 * s * b),
        _ring(pel + up * sh.torso * 0.6, rc, fc, sh.shoulder_half * 0.92 * b, 0.11 * s * b),
        _ring(pel + up * sh.torso * 0.2, rp, fp, sh.shoulder_half * 0.8 * b, 0.1 * s * b)])
    pants3 = np.concatenate([
        _ring(pel + up * sh.torso * 0.25, rp, fp, sh.shoulder_half * 0.8 * b, 0.1 * s * b),
        _ring(pel - up * 0.03 * s, rp, fp, sh.hip_half + sh.radius("thigh") * 0.95, 0.11 * s * b)])
    sh2, sz = g.project(shirt3)
    pa2, _ = g.project(pants3)

    def torso(img, o):
        blob(img, pa2 - o, look.pants, light2d)
        blob(img, sh2 - o, look.shirt, light2d)
    items.append((float(z[J["chest"]]), jt[J["chest"]], torso))
    if look.bag is not None:
        bag3 = _ring(pel - fp * (0.14 * s * b) - up * 0.03, rp, up, 0.06 * s, 0.07 * s, 8)
        bag2, bz = g.project(bag3)
        items.append((float(bz.mean()), bag3.mean(0), lambda img, o: blob(img, bag2 - o, look.bag, light2d)))
    items.append((float(z[J["head"]]), jt[J["head"]], lambda img, o: _head(img, o, pose, t, g, look, light2d)))
    return items


def _head(img, o, pose: Pose, t: int, g: FrameGeom, look: Look, light2d) -> None:
    """Head ellipse, ears, hair covering the back and top, and face hints when it faces us."""
    sh = pose.shape
    hc3, fwd, upv = pose.joints[t, J["head"]], pose.head_fwd[t], pose.head_up[t]
    right = np.cross(fwd, upv)
    r = sh.head_r
    face_cam = float(fwd @ g.to_cam)
    pts3 = np.array([hc3, hc3 + upv * r, hc3 + right * r, hc3 + fwd * r,
                     hc3 - right * 0.98 * r, hc3 + right * 0.98 * r])
    p2, _ = g.project(pts3)
    p2 = p2 - o
    c, top, side = p2[0], p2[1], p2[2]
    up2, fw2 = top - c, p2[3] - c
    rp = float(np.hypot(*(side - c)) * 0.5 + np.hypot(*up2) * 0.5)
    ang = float(np.degrees(np.arctan2(up2[0], -up2[1])))

    def ell(centre, ax, ay, colour):
        cv2.ellipse(img, tuple(_pts(centre)), (int(ax * S8), int(ay * S8)), ang, 0, 360, colour, -1, cv2.LINE_AA, 3)

    # Neck first, from its base to under the head, so the head always covers its top end.
    n2, _ = g.project(np.array([pose.joints[t, J["neck"]], hc3 - upv * 0.45 * r]))
    n2 = n2 - o
    limb(img, n2[0], n2[1], rp * 0.55 * sh.build, rp * 0.5 * sh.build, look.skin, light2d)
    long_hair = look.hair_style == "long"
    hair = look.hair if look.hair_style != "bald" else look.skin
    if long_hair and face_cam > 0:  # ponytail hanging behind the head
        limb(img, c - up2 * 0.2, c - up2 * 2.0 - fw2 * 0.5, rp * 0.5, rp * 0.3, hair, light2d)
    # Ears first, slightly outside the skull, so only the part sticking out shows.
    for e, sgn in ((p2[4], -1.0), (p2[5], 1.0)):
        if float(sgn * right @ g.to_cam) > -0.3:
            cv2.ellipse(img, tuple(_pts(e)), (int(rp * 0.22 * S8), int(rp * 0.32 * S8)), ang, 0, 360,
                        _tone(look.skin, 0.8), -1, cv2.LINE_AA, 3)
    # The skull is hair; the face is a skin patch around the facing direction.
    ell(c, rp * 0.96, rp * 1.1, _tone(hair, 0.6))
    ell(c + light2d * rp * 0.15, rp * 0.7, rp * 0.85, _tone(hair, 0.85, 6))
    if face_cam > -0.35:
        fc2, _ = g.project((hc3 + fwd * 0.45 * r - upv * 0.15 * r)[None])
        fc2 = fc2[0] - o
        n = float(np.hypot(*fw2))
        fang = float(np.degrees(np.arctan2(fw2[1], fw2[0]))) if n > 0.1 * rp else ang
        along = rp * 0.8 * (0.35 + 0.65 * max(face_cam, 0.0))
        across = rp * 0.85
        if n <= 0.1 * rp:
            along = across = rp * 0.8
        for k, sc in ((0.7, 1.0), (0.92, 0.75)):
            centre = tuple(_pts(fc2 + light2d * rp * 0.4 * (1 - sc)))
            cv2.ellipse(img, centre, (int(along * sc * S8), int(across * sc * S8)), fang, 0, 360,
                        _tone(look.skin, k), -1, cv2.LINE_AA, 3)
        if look.hair_style != "bald":  # hairline over the forehead
            hl, _ = g.project((hc3 + upv * 0.7 * r - fwd * 0.05 * r)[None])
            ell(hl[0] - o, rp * 0.85, rp * 0.45, _tone(hair, 0.7))
    if look.hair_style == "beanie":
        b2, _ = g.project((hc3 + upv * 0.35 * r)[None])
        ell(b2[0] - o, rp * 1.0, rp * 0.85, _tone(look.beanie, 0.75))
        ell(b2[0] - o + light2d * rp * 0.15, rp * 0.65, rp * 0.55, _tone(look.beanie, 0.95))
    if look.hair_style == "bun":
        cv2.circle(img, tuple(_pts(c + up2 * 0.85 - fw2 * 0.6)), int(rp * 0.42 * S8), _tone(hair, 0.75), -1,
                   cv2.LINE_AA, 3)
    if long_hair and face_cam <= 0:  # ponytail down the back
        limb(img, c - fw2 * 0.3 - up2 * 0.2, c - up2 * 2.1 - fw2 * 0.5, rp * 0.5, rp * 0.3, hair, light2d)
    if face_cam > 0.15:
        eyes3 = np.array([hc3 + fwd * 0.9 * r + upv * 0.08 * r + right * k * 0.36 * r for k in (-1, 1)]
                         + [hc3 + fwd * 0.88 * r - upv * 0.5 * r, hc3 + fwd * 1.05 * r - upv * 0.2 * r])
        e2, _ = g.project(eyes3)
        e2 = e2 - o
        for e in e2[:2]:
            cv2.circle(img, tuple(_pts(e)), max(1, int(rp * 0.11 * S8)), (40, 30, 30, 255), -1, cv2.LINE_AA, 3)
        cv2.circle(img, tuple(_pts(e2[2])), max(1, int(rp * 0.1 * S8)), _tone(look.skin, 0.55), -1, cv2.LINE_AA, 3)
        cv2.circle(img, tuple(_pts(e2[3])), max(1, int(rp * 0.1 * S8)), _tone(look.skin, 0.75), -1, cv2.LINE_AA, 3)
