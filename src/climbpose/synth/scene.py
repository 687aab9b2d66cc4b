"""The bouldering wall as geometry: holds (flat, painted into the wall texture) and volumes (convex
3D blocks that can hide limbs passing behind them).

Wall frame, metres: x along the wall, y up, z out of the wall. The wall surface is z = 0 from the
floor (y = 0) to `top`. An overhanging wall is the same frame rotated about x (`world_from_wall`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Gym hold colours (RGB, before the per-video lighting): route setters use a few strong colours.
HOLD_COLOURS: tuple[tuple[int, int, int], ...] = (
    (205, 40, 40), (35, 90, 200), (40, 160, 70), (235, 200, 40), (240, 120, 30), (130, 60, 170),
    (240, 110, 170), (30, 30, 35), (235, 235, 230), (40, 170, 170), (150, 90, 50), (160, 200, 60),
)
VOLUME_COLOURS: tuple[tuple[int, int, int], ...] = (
    (60, 60, 65), (210, 210, 205), (185, 150, 105), (50, 100, 170), (190, 60, 50), (90, 140, 90),
    (230, 190, 60), (120, 120, 125),
)


@dataclass
class Hold:
    """A hold: centre on the wall, outline (k, 2) in metres around the centre, colour."""

    x: float
    y: float
    outline: np.ndarray
    colour: tuple[int, int, int]
    route: bool = False


@dataclass
class Volume:
    """A frustum-shaped volume: base polygon on the wall, smaller top face out from the wall."""

    base: np.ndarray          # (n, 3), z = 0
    top: np.ndarray           # (n, 3), z = depth
    colour: tuple[int, int, int]
    planes: np.ndarray = field(init=False)  # (F, 4): n . p <= d inside, n outward

    def __post_init__(self) -> None:
        self.planes = np.array([_plane(*f[:3], self.centroid) for f in self.faces()])

    @property
    def centroid(self) -> np.ndarray:
        return (self.base.mean(0) + self.top.mean(0)) / 2

    def faces(self) -> list[np.ndarray]:
        """Polygons (k, 3): the top face, the side faces, and last the base on the wall (never seen,
        but it closes the solid for the inside test)."""
        n = len(self.base)
        sides = [np.stack([self.base[i], self.base[(i + 1) % n], self.top[(i + 1) % n], self.top[i]])
                 for i in range(n)]
        return [self.top] + sides + [self.base]


def _plane(a: np.ndarray, b: np.ndarray, c: np.ndarray, inside: np.ndarray) -> np.ndarray:
    n = np.cross(b - a, c - a)
    n /= np.linalg.norm(n)
    d = float(n @ a)
    if n @ inside > d:  # orient the normal outward
        n, d = -n, -d
    return np.array([*n, d])


@dataclass
class Scene:
    """Wall geometry of one video."""

    overhang: float
    x0: float
    x1: float
    top: float
    holds: list[Hold]
    volumes: list[Volume]
    route_colour: tuple[int, int, int]

    @property
    def world_from_wall(self) -> np.ndarray:
        """Rotation taking wall-frame vectors to the world (top of an overhang leans toward +z)."""
        c, s = np.cos(self.overhang), np.sin(self.overhang)
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def hold_outline(rng: np.random.Generator, size: float) -> np.ndarray:
    """An irregular blob (k, 2): jugs, crimps and slopers all read as lumpy convex-ish shapes."""
    k = int(rng.integers(6, 11))
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    aspect = rng.uniform(0.45, 1.0)
    rad = size * rng.uniform(0.7, 1.0, k)
    pts = np.stack([np.cos(ang) * rad, np.sin(ang) * rad * aspect], axis=1)
    rot = rng.uniform(0, np.pi)
    c, s = np.cos(rot), np.sin(rot)
    return pts @ np.array([[c, s], [-s, c]])


def make_volume(rng: np.random.Generator, cx: float, cy: float, size: float) -> Volume:
    n = int(rng.integers(3, 6))
    ang = np.sort(rng.uniform(0, 2 * np.pi, n) + np.arange(n) * 2 * np.pi / n) % (2 * np.pi)
    ang = np.sort(ang)
    rad = size * rng.uniform(0.7, 1.0, n)
    base = np.stack([cx + np.cos(ang) * rad, cy + np.sin(ang) * rad, np.zeros(n)], axis=1)
    scale = rng.uniform(0.2, 0.6)
    shift = rng.uniform(-0.25, 0.25, 2) * size
    depth = rng.uniform(0.15, 0.42) * min(1.0, size / 0.5)
    centre = np.array([cx, cy, 0.0])
    top = centre + (base - centre) * scale + np.array([shift[0], shift[1], depth])
    colour = VOLUME_COLOURS[int(rng.integers(len(VOLUME_COLOURS)))]
    return Volume(base=base, top=top, colour=colour)


def build_scene(rng: np.random.Generator, route: list[tuple[np.ndarray, bool]],
                body_path: np.ndarray) -> Scene:
    """Wall around a planned route, with volumes but no other holds yet (see `scatter_holds`).
    route: (hold position, is_foothold); body_path (N, 3): pelvis samples, so volumes are not
    put where the climber's body is. An empty route (a person on the floor, synth.ground) gets
    a vertical wall around the body path: the body model's "up" is the wall's y axis."""
    xs = np.array([p[0] for p, _ in route]) if route else body_path[:, 0]
    x0, x1 = float(xs.min() - 5.0), float(xs.max() + 5.0)
    top = float(rng.uniform(4.2, 4.8))
    overhang = float(rng.choice([0.0, 0.0, rng.uniform(0.05, 0.35)]))
    if not route:
        overhang = 0.0
    route_colour = HOLD_COLOURS[int(rng.integers(len(HOLD_COLOURS)))]
    holds = [Hold(float(p[0]), float(p[1]),
                  hold_outline(rng, rng.uniform(0.035, 0.06) if foot else rng.uniform(0.05, 0.11)),
                  route_colour, True) for p, foot in route]
    taken = np.array([[h.x, h.y] for h in holds])
    volumes: list[Volume] = []
    for _ in range(int(rng.integers(1, 6))):
        for _try in range(20):
            size = float(rng.uniform(0.3, 0.8))
            # Most volumes sit beside the route, where they can hide a limb from an off-axis camera.
            if rng.random() < 0.6:
                cx = float(rng.uniform(xs.min() - 1.5, xs.max() + 1.5))
            else:
                cx = float(rng.uniform(x0 + 1, x1 - 1))
            cy = float(rng.uniform(0.6, top - 0.5))
            near_route = np.min(np.hypot(taken[:, 0] - cx, taken[:, 1] - cy)) - size if route else np.inf
            near_body = np.min(np.hypot(body_path[:, 0] - cx, body_path[:, 1] - cy)) - size
            if near_route > 0.1 and near_body > 0.05:
                volumes.append(make_volume(rng, cx, cy, size))
                break
    return Scene(overhang=overhang, x0=x0, x1=x1, top=top, holds=holds, volumes=volumes,
                 route_colour=route_colour)


def scatter_holds(rng: np.random.Generator, scene: Scene, x_lo: float, x_hi: float) -> None:
    """Add other routes' holds between x_lo and x_hi: a dense scatter in many colours, as on any
    commercial wall. Only the renderer needs them (they never hide the climber), so the
    keypoint-only path skips this."""
    taken = np.array([[h.x, h.y] for h in scene.holds if h.route] or [[np.inf, np.inf]])
    n_other = int((x_hi - x_lo) * scene.top * rng.uniform(4.0, 8.0))
    pts = np.stack([rng.uniform(x_lo, x_hi, n_other), rng.uniform(0.1, scene.top - 0.1, n_other)], axis=1)
    near = np.min(np.hypot(taken[None, :, 0] - pts[:, None, 0], taken[None, :, 1] - pts[:, None, 1]), axis=1)
    for (x, y), d in zip(pts, near):
        if d < 0.2:
            continue
        colour = HOLD_COLOURS[int(rng.integers(len(HOLD_COLOURS)))]
        size = float(rng.choice([rng.uniform(0.03, 0.07), rng.uniform(0.07, 0.16)], p=[0.6, 0.4]))
        scene.holds.append(Hold(float(x), float(y), hold_outline(rng, size), colour))
