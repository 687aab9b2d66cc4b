"""Putting the climber into a frame: the body is drawn on a transparent RGBA layer (OpenCV's
anti-aliasing leaves it premultiplied), which makes the effects cheap and local to a crop:
sub-frame layers average into motion blur, a small blur softens the flat shading, volume faces
in front of a part are cut out of the layer, and the layer's alpha, blurred and offset, darkens
the wall as the climber's soft shadow.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from climbpose.synth import render as R
from climbpose.synth import wall as Wl
from climbpose.synth.body import J, Pose
from climbpose.synth.camera import Camera
from climbpose.synth.scene import Volume
from climbpose.synth.visibility import parts_behind_volumes


@dataclass(frozen=True)
class LayerStyle:
    """Per-video look of the climber layer."""

    soft: float         # Gaussian sigma (px) softening edges and shading bands
    shadow: float       # darkness of the shadow on the wall (0-1)
    shadow_blur: float  # shadow softness in metres (gyms light from many lamps)


def composite_climber(frame: np.ndarray, cam: Camera, t: int, volumes: list[Volume], pose: Pose,
                      indices: list[int], geoms: list[R.FrameGeom], look: R.Look,
                      light: np.ndarray, style: LayerStyle) -> None:
    """Draw the climber into `frame` (in place) at frame t from the sub-frame poses `indices`."""
    H, W = frame.shape[:2]
    lc = cam.R[t] @ light
    light2d = lc[:2] / max(float(np.hypot(*lc[:2])), 1e-6)
    g0 = geoms[len(geoms) // 2]
    ppm = float(cam.f[t] / max(g0.z[J["pelvis"]], 1e-3))
    # Shadow: the body ~0.3 m off the wall, lit from above, casts down and away from the light.
    dist = float(pose.joints[indices[0], J["pelvis"], 2])
    shift = -np.array([light[0], -light[1]]) / max(light[2], 0.3) * dist * 0.5 * ppm
    sblur = style.shadow_blur * ppm
    allp = np.concatenate([g.uv for g in geoms])
    pad = float(max(g.ppm.max() for g in geoms)) * 0.25 + 8
    lo = np.minimum(allp.min(0) - pad, allp.min(0) - pad + np.minimum(shift, 0) - 2 * sblur)
    hi = np.maximum(allp.max(0) + pad, allp.max(0) + pad + np.maximum(shift, 0) + 2 * sblur)
    x0, y0 = np.floor(np.maximum(lo, 0)).astype(int)
    x1, y1 = np.ceil(np.minimum(hi, [W, H])).astype(int)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], float)
    acc = np.zeros((y1 - y0, x1 - x0, 4), np.uint16)
    for k, g in zip(indices, geoms):
        layer = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        items = R.draw_list(pose, k, g, look, light2d)
        items.sort(key=lambda it: -it[0])  # far to near
        behind = parts_behind_volumes(cam.C[t], np.array([it[1] for it in items]), volumes)
        for it, b in zip(items, behind):
            if b:
                it[2](layer, off)
        if behind.any():
            for vol in volumes:
                Wl.draw_volume(layer, cam, t, vol, light, (x0, y0), erase=True)
        for it, b in zip(items, behind):
            if not b:
                it[2](layer, off)
        acc += layer
    layer = (acc // len(geoms)).astype(np.uint8)
    layer = cv2.GaussianBlur(layer, (0, 0), style.soft)
    crop = frame[y0:y1, x0:x1].astype(np.float32)
    if style.shadow > 0:
        # Blur at quarter resolution: a wide soft shadow for little work.
        a = layer[..., 3]
        small = cv2.resize(a, (max(1, a.shape[1] // 4), max(1, a.shape[0] // 4)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), max(sblur / 4, 0.5))
        m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
        sh = cv2.warpAffine(cv2.resize(small, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR), m,
                            (a.shape[1], a.shape[0]))
        crop *= (1.0 - style.shadow / 255.0 * sh.astype(np.float32))[..., None]
    alpha = layer[..., 3:].astype(np.float32) * (1.0 / 255)
    frame[y0:y1, x0:x1] = (crop * (1.0 - alpha) + layer[..., :3]).clip(0, 255).astype(np.uint8)
