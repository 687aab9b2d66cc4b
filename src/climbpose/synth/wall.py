"""Drawing the gym: the wall texture (painted once per video in wall coordinates, then warped by
the camera's homography every frame), the floor mats and the shaded volumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from climbpose.synth.camera import Camera
from climbpose.synth.domain import TRAINING, SceneRanges, draw
from climbpose.synth.scene import Scene, Volume

@dataclass
class WallTexture:
    """Texture image and the wall-frame rectangle it covers (pixels per metre `ppm`)."""

    image: np.ndarray
    u0: float
    v1: float
    ppm: float
    ceiling: tuple[int, int, int]

    def homography(self, cam: Camera, t: int) -> np.ndarray:
        """Texture pixels -> image pixels at frame t."""
        return cam.homography(t, np.array([self.u0, self.v1, 0.0]), np.array([1.0 / self.ppm, 0, 0]),
                              np.array([0.0, -1.0 / self.ppm, 0]))


def visible_wall(cam: Camera, x_lo: float, x_hi: float) -> tuple[float, float, float]:
    """x-range of the wall plane the camera sees over the video (clipped to [x_lo, x_hi]) and the
    texture resolution (px per metre) that matches the sharpest view of it."""
    xs = []
    corners = np.array([[0, 0], [cam.width, 0], [0, cam.height], [cam.width, cam.height]], float)
    for t in range(0, len(cam.f), 5):
        d = np.concatenate([(corners - [cam.cx, cam.cy]) / cam.f[t], np.ones((4, 1))], axis=1) @ cam.R[t]
        hit = d[:, 2] < -1e-6
        s = np.where(hit, -cam.C[t, 2] / np.where(hit, d[:, 2], -1.0), 0.0)
        x = cam.C[t, 0] + s * d[:, 0]
        xs.extend(np.where(hit, x, np.where(d[:, 0] < 0, x_lo, x_hi)).tolist())
    lo, hi = max(x_lo, min(xs) - 0.3), min(x_hi, max(xs) + 0.3)
    ppm = float(np.clip(0.9 * (cam.f / np.maximum(cam.C[:, 2], 0.5)).max(), 120.0, 360.0))
    return lo, hi, ppm


def _noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth value noise in [-1, 1]: random grid upsampled with cubic interpolation."""
    small = rng.uniform(-1, 1, (max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _poly(points_m: np.ndarray, u0: float, v1: float, ppm: float) -> np.ndarray:
    """Wall-frame (x, y) metres -> texture pixel coordinates with 3 fractional bits for cv2 `shift`."""
    px = np.stack([(points_m[:, 0] - u0) * ppm, (v1 - points_m[:, 1]) * ppm], axis=1)
    return np.round(px * 8).astype(np.int32)


def paint_wall(rng: np.random.Generator, scene: Scene, x_lo: float, x_hi: float, light_x: float,
               ppm: float = 200.0, style: SceneRanges = TRAINING.scene,
               chooser: np.random.Generator | None = None) -> WallTexture:
    """Paint plywood/painted panels with seams, bolt holes, grime and chalk, holds with shading and
    soft shadows, and the volumes' shadows. `style` gives the wall palette, the bolt spacing and
    (held-out domain only, drawn from `chooser`) painted diagonal bands of a second colour."""
    u0, u1 = x_lo, x_hi
    v0, v1 = -0.2, scene.top + 0.05
    w, h = int((u1 - u0) * ppm), int((v1 - v0) * ppm)
    base = np.array(style.wall[int(rng.integers(len(style.wall)))], np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    stripe = draw(chooser or rng, style.stripes, chooser)
    if stripe > 0:
        extra = chooser or rng
        second = np.array(style.wall[int(extra.integers(len(style.wall)))], np.float32)
        angle = extra.uniform(-0.9, 0.9)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / ppm
        bands = np.floor((xx * np.cos(angle) + yy * np.sin(angle)) / stripe).astype(int) % 2 == 1
        img[bands] = second
    # Plywood sheets 1.22 x 2.44 m, each with its own tint; grain and friction-paint speckle.
    pw, ph = 1.22 * rng.uniform(0.8, 1.05), 2.44 * rng.uniform(0.5, 1.0)
    off = rng.uniform(0, pw)
    cols = np.floor(((np.arange(w) / ppm + u0) - off) / pw).astype(int)
    rows = np.floor((v1 - np.arange(h) / ppm) / ph).astype(int)
    tints = rng.normal(1.0, 0.04, (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)).astype(np.float32)
    img *= tints[rows - rows.min()][:, cols - cols.min()][..., None]
    grain = _noise(rng, h, w, 40) * 0.05 + _noise(rng, h // 8 + 1, w, 3)[np.arange(h) // 8] * 0.03
    speck = rng.normal(0, 0.035, (h, w)).astype(np.float32)
    img *= (1.0 + grain + speck)[..., None]
    # Gym lighting: brighter where the lights point, darker toward the top edge.
    light = 1.0 + 0.18 * _noise(rng, h, w, int(ppm * 2.5)) - 0.12 * np.linspace(1, 0, h, dtype=np.float32)[:, None] ** 3
    img *= light[..., None]
    seam = (base * 0.45).tolist()
    for x in np.arange(off + np.floor((u0 - off) / pw) * pw, u1, pw):
        xi = int((x - u0) * ppm)
        cv2.line(img, (xi, 0), (xi, h), seam, 2, cv2.LINE_AA)
    for y in np.arange(0.0, v1, ph):
        yi = int((v1 - y) * ppm)
        cv2.line(img, (0, yi), (w, yi), seam, 2, cv2.LINE_AA)
    # Bolt holes (T-nuts) on a ~20 cm grid: the signature texture of a climbing wall.
    step = draw(rng, style.bolt_step, chooser)
    gx, gy = np.meshgrid(np.arange(u0 + step / 2, u1, step), np.arange(step / 2, v1, step))
    hole = (base * 0.3).tolist()
    for x, y in zip(gx.ravel(), gy.ravel()):
        cv2.circle(img, (int((x - u0) * ppm), int((v1 - y) * ppm)), max(1, int(0.006 * ppm)), hole, -1, cv2.LINE_AA)

    # Soft shadows (holds and volumes) and chalk go into two masks blurred once.
    shadow = np.zeros((h, w), np.float32)
    chalk = np.zeros((h, w), np.float32)
    sdx, sdy = -light_x * 0.03, -0.035  # shadows fall down and away from the light
    for vol in scene.volumes:
        pts = np.concatenate([vol.base[:, :2], vol.top[:, :2] + vol.top[:, 2:3] * np.array([sdx, sdy]) / 0.035 * 0.6])
        hull = cv2.convexHull(_poly(pts, u0, v1, ppm))
        cv2.fillConvexPoly(shadow, hull, 0.55, cv2.LINE_AA, 3)
    for hold in scene.holds:
        pts = hold.outline + np.array([hold.x + sdx * 0.6, hold.y + sdy * 0.6])
        cv2.fillPoly(shadow, [_poly(pts, u0, v1, ppm)], 0.6, cv2.LINE_AA, 3)
        if hold.route or rng.random() < 0.25:
            c = np.array([hold.x, hold.y]) + rng.normal(0, 0.03, 2)
            cv2.circle(chalk, (int((c[0] - u0) * ppm), int((v1 - c[1]) * ppm)),
                       int(ppm * rng.uniform(0.025, 0.06)), float(rng.uniform(0.1, 0.3)), -1)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 0.02 * ppm)
    chalk = cv2.GaussianBlur(chalk, (0, 0), 0.03 * ppm)
    img *= (1.0 - shadow)[..., None]
    img += (np.float32(245) - img) * chalk[..., None]
    for hold in scene.holds:
        col = np.array(hold.colour, np.float32) * rng.uniform(0.85, 1.1)
        pts = hold.outline + np.array([hold.x, hold.y])
        cv2.fillPoly(img, [_poly(pts, u0, v1, ppm)], (col * 0.7).tolist(), cv2.LINE_AA, 3)
        inner = hold.outline * 0.72 + np.array([hold.x + light_x * 0.01, hold.y + 0.012])
        cv2.fillPoly(img, [_poly(inner, u0, v1, ppm)], np.minimum(col * 1.0 + 12, 255).tolist(), cv2.LINE_AA, 3)
        hi = hold.outline * 0.3 + np.array([hold.x + light_x * 0.02, hold.y + 0.02])
        cv2.fillPoly(img, [_poly(hi, u0, v1, ppm)], np.minimum(col * 1.15 + 30, 255).tolist(), cv2.LINE_AA, 3)
        if hold.route:  # chalked-up edge
            cv2.fillPoly(img, [_poly(hi + np.array([0, 0.01]), u0, v1, ppm)], (235, 235, 230), cv2.LINE_AA, 3)
    img = np.clip(img, 0, 255).astype(np.uint8)
    ceiling = tuple(int(c) for c in rng.uniform(20, 60) * np.array([1.0, 1.0, 1.05]))
    return WallTexture(image=img, u0=u0, v1=v1, ppm=ppm, ceiling=ceiling)


def clip_near(poly_cam: np.ndarray, near: float = 0.1) -> np.ndarray:
    """Clip a polygon (k, 3) in camera coordinates against the plane z = near."""
    out = []
    k = len(poly_cam)
    for i in range(k):
        a, b = poly_cam[i], poly_cam[(i + 1) % k]
        ina, inb = a[2] >= near, b[2] >= near
        if ina:
            out.append(a)
        if ina != inb:
            s = (near - a[2]) / (b[2] - a[2])
            out.append(a + (b - a) * s)
    return np.array(out) if out else np.zeros((0, 3))


def to_pixels(cam: Camera, t: int, poly_cam: np.ndarray) -> np.ndarray:
    """Camera-frame points -> int32 pixel coordinates with 3 fractional bits."""
    uv = poly_cam[:, :2] / poly_cam[:, 2:3] * cam.f[t] + np.array([cam.cx, cam.cy])
    return np.round(uv * 8).astype(np.int32)


def draw_floor(img: np.ndarray, cam: Camera, t: int, scene: Scene, colour: tuple[int, int, int]) -> None:
    """Crash mats on the floor in front of the wall, with seams every 2 m."""
    wfw = scene.world_from_wall
    to_wall = lambda p: wfw.T @ np.asarray(p, float)  # noqa: E731
    zmax = 2.5
    corners = np.array([to_wall([x, 0.0, z])
                        for x, z in ((scene.x0, 0), (scene.x1, 0), (scene.x1, zmax), (scene.x0, zmax))])
    cam_pts = (cam.R[t] @ (corners - cam.C[t]).T).T
    poly = clip_near(cam_pts)
    if len(poly) >= 3:
        cv2.fillConvexPoly(img, to_pixels(cam, t, poly), colour, cv2.LINE_AA, 3)
    dark = tuple(int(c * 0.6) for c in colour)
    for x in np.arange(np.ceil(scene.x0 / 2) * 2, scene.x1, 2.0):
        seg = (cam.R[t] @ (np.array([to_wall([x, 0.0, 0.0]), to_wall([x, 0.0, zmax])]) - cam.C[t]).T).T
        if seg[:, 2].min() > 0.1:
            p = to_pixels(cam, t, seg)
            cv2.line(img, tuple(p[0]), tuple(p[1]), dark, 2, cv2.LINE_AA, 3)
    edge = (cam.R[t] @ (np.array([to_wall([scene.x0, 0.0, 0.01]), to_wall([scene.x1, 0.0, 0.01])]) - cam.C[t]).T).T
    if edge[:, 2].min() > 0.1:
        p = to_pixels(cam, t, edge)
        cv2.line(img, tuple(p[0]), tuple(p[1]), (25, 25, 25), 3, cv2.LINE_AA, 3)


def draw_volume(img: np.ndarray, cam: Camera, t: int, vol: Volume, light: np.ndarray,
                offset: tuple[int, int] = (0, 0), erase: bool = False) -> None:
    """Draw the camera-facing faces of a volume, Lambert-shaded. `light` is a unit vector in the
    wall frame; `offset` shifts pixel coordinates (drawing into a crop); `erase` fills the faces
    with transparent black instead (cuts body parts behind the volume out of an RGBA layer)."""
    col = np.array(vol.colour, np.float32)
    shift = np.array(offset) * 8
    for face in vol.faces()[:-1]:
        n = np.cross(face[1] - face[0], face[2] - face[0])
        n /= np.linalg.norm(n)
        if n @ (face.mean(0) - vol.centroid) < 0:
            n = -n
        if n @ (cam.C[t] - face[0]) <= 0:
            continue  # faces away from the camera
        shade = 0.45 + 0.6 * max(0.0, float(n @ light))
        cam_pts = (cam.R[t] @ (face - cam.C[t]).T).T
        if cam_pts[:, 2].min() < 0.1:
            continue
        px = to_pixels(cam, t, cam_pts) - shift
        if erase:
            cv2.fillConvexPoly(img, px, (0, 0, 0, 0), cv2.LINE_AA, 3)
            continue
        cv2.fillConvexPoly(img, px, np.minimum(col * shade, 255).tolist(), cv2.LINE_AA, 3)
        cv2.polylines(img, [px], True, (col * shade * 0.8).tolist(), 1, cv2.LINE_AA, 3)
