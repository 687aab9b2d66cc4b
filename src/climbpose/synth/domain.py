"""Rendering domains: the ranges and palettes every random choice of the generator draws from.

Why: the temporal models are trained and tested on videos of one domain (`TRAINING`). A model can
score well there by learning that domain's regularities (its bodies, clothes, walls, camera work,
and the fact that everybody climbs) and still fail on real footage. `HELD_OUT` is a second domain
that no training stage ever sees: the `ood` stage renders it as an out-of-domain test set. Every
range of it lies outside the training range (or, for colours, comes from a disjoint palette), so
each difference is measurable; docs/design.md#the-held-out-domain-ood lists them.

A range is a tuple of intervals: a value is drawn uniformly from one of them, chosen by the
video's domain stream when there are several (`draw`). `TRAINING` holds the default dataset's
ranges as single intervals, each one `rng.uniform` call on the generator's own streams, so its
videos stay byte-identical to the default dataset (its dvc.lock and metrics rest on those bytes;
tests/test_ood.py pins them). Options only the held-out domain uses (camera pans, wall stripes,
extra body scales) default to a neutral single value (0 or 1) that is returned without drawing
anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Intervals = tuple[tuple[float, float], ...]
Palette = tuple[tuple[int, int, int], ...]


def draw(rng: np.random.Generator, intervals: Intervals, chooser: np.random.Generator | None = None) -> float:
    """A value uniform in one of `intervals`; `chooser` picks which when there are several.

    A single interval is exactly `rng.uniform(lo, hi)`, returned as numpy's float64 like that
    call (numpy keeps float32 arithmetic float32 only with Python floats, so the type matters
    for identical bytes); a single point (lo == hi) is returned as a Python float without
    touching any generator, so neutral options change no later draw.
    """
    if len(intervals) == 1:
        lo, hi = intervals[0]
        if lo == hi:
            return float(lo)
    else:
        lo, hi = intervals[int((chooser if chooser is not None else rng).integers(len(intervals)))]
    return rng.uniform(lo, hi)


@dataclass(frozen=True)
class BodyRanges:
    """Proportions. Segment lengths are anthropometric fractions of stature (body.sample_shape)
    times these per-person factors."""

    stature: Intervals      # metres
    ape: Intervals          # arm span / stature factor on both arm segments
    build: Intervals        # limb and torso thickness multiplier
    leg_scale: Intervals    # thigh and shin factor (leg length relative to stature)
    torso_scale: Intervals  # hip line to neck factor
    width_scale: Intervals  # shoulder and hip width factor
    head_scale: Intervals   # head radius factor


@dataclass(frozen=True)
class LookRanges:
    """Appearance: colour palettes (RGB before lighting) and clothing cut probabilities."""

    skin: Palette
    hair: Palette
    cloth: Palette
    shoes: Palette
    sleeves_p: tuple[float, float, float]  # tank, short, long
    legs_p: tuple[float, float]            # long, shorts


@dataclass(frozen=True)
class SceneRanges:
    """The gym: wall and mat palettes, wall texture, lighting and the camera's look."""

    wall: Palette
    mats: Palette
    bolt_step: Intervals      # spacing of the T-nut grid (m)
    stripes: Intervals        # width (m) of painted diagonal bands over the wall; 0: none
    light_x: Intervals        # sideways component of the key light (its y component is 1)
    light_z: Intervals        # component toward the camera (low: grazing light)
    brightness: Intervals     # overall gain
    colour_temp: Intervals    # white balance: +1 warm (red up 10%, blue down 12%), -1 cool
    vignette: Intervals       # darkening toward the corners
    noise: Intervals          # sensor noise sigma (grey levels)


@dataclass(frozen=True)
class CameraRanges:
    """Where the camera stands and how it moves (camera.sample_camera)."""

    distance: Intervals        # metres from the wall (from the person for someone on the floor)
    fill: Intervals            # share of the frame height the person's extent fills
    tripod_height: Intervals   # metres above the floor
    handheld_height: Intervals
    side_offset: Intervals     # extra sideways offset (m): oblique views
    roll_offset: Intervals     # extra roll (rad)
    shake: Intervals           # handheld shake amplitude (rad-ish, relative)
    drift_scale: float         # multiplier of the handheld position drift
    zoom_breathing: Intervals  # relative focal-length wobble
    pan: Intervals             # slow sideways pan of the aim point, in half frame widths; 0: none


@dataclass(frozen=True)
class MotionRanges:
    """Motion style: climbing pace and distance from the wall, and the share of videos in which
    the person stands on the floor (ground.plan_ground) instead of climbing."""

    pace: Intervals        # time scale of every move (> 1 slower)
    hip_z: Intervals       # pelvis distance from the wall while climbing (m)
    ground_share: float    # probability of a floor motion when simulate() is not told


@dataclass(frozen=True)
class Domain:
    """Everything that distinguishes one family of rendered videos from another."""

    name: str
    body: BodyRanges
    look: LookRanges
    scene: SceneRanges
    camera: CameraRanges
    motion: MotionRanges


ONE: Intervals = ((1.0, 1.0),)
ZERO: Intervals = ((0.0, 0.0),)

TRAINING = Domain(
    name="training",
    body=BodyRanges(stature=((1.55, 1.92),), ape=((0.97, 1.06),), build=((0.85, 1.3),),
                    leg_scale=ONE, torso_scale=ONE, width_scale=ONE, head_scale=ONE),
    look=LookRanges(
        skin=((255, 219, 190), (240, 195, 160), (225, 170, 130), (198, 134, 92), (160, 105, 70),
              (120, 80, 55), (85, 58, 40)),
        hair=((25, 20, 18), (60, 40, 25), (110, 75, 40), (190, 150, 90), (140, 60, 30), (150, 150, 150), (45, 35, 30)),
        cloth=((20, 20, 22), (235, 235, 235), (120, 120, 125), (30, 45, 90), (160, 30, 40), (40, 120, 130),
               (200, 160, 40), (90, 110, 60), (220, 100, 140), (100, 60, 140), (230, 90, 30), (60, 140, 210),
               (150, 110, 80), (70, 70, 75)),
        shoes=((30, 30, 30), (200, 50, 40), (240, 200, 30), (40, 90, 200), (60, 160, 80), (230, 120, 30), (120, 40, 150)),
        sleeves_p=(0.3, 0.5, 0.2), legs_p=(0.7, 0.3)),
    scene=SceneRanges(
        wall=((206, 178, 136), (196, 166, 120), (222, 218, 210), (170, 172, 176), (120, 122, 128),
              (60, 62, 68), (40, 42, 48), (70, 95, 140), (140, 60, 55), (90, 120, 95), (232, 230, 226)),
        mats=((40, 70, 140), (50, 50, 55), (90, 92, 96), (150, 40, 40), (30, 100, 90), (200, 200, 195)),
        bolt_step=((0.18, 0.25),), stripes=ZERO, light_x=((-0.6, 0.6),), light_z=((0.4, 1.0),),
        brightness=((0.75, 1.15),), colour_temp=((-1.0, 1.0),), vignette=((0.0, 0.45),), noise=((1.0, 4.0),)),
    camera=CameraRanges(distance=((2.6, 5.5),), fill=((0.32, 0.72),), tripod_height=((0.3, 1.2),),
                        handheld_height=((0.9, 1.8),), side_offset=ZERO, roll_offset=ZERO,
                        shake=((0.003, 0.012),), drift_scale=1.0, zoom_breathing=((0.0, 0.04),), pan=ZERO),
    motion=MotionRanges(pace=((0.75, 1.3),), hip_z=((0.22, 0.42),), ground_share=0.0),
)

# Every range below lies outside its TRAINING counterpart; palettes share no colour with it and
# keep at least 40 RGB units (skin: 20, human skin has a narrow gamut) from every training colour.
HELD_OUT = Domain(
    name="held_out",
    body=BodyRanges(stature=((1.30, 1.50), (1.97, 2.10)), ape=((0.88, 0.95), (1.08, 1.13)), build=((1.35, 1.55),),
                    leg_scale=((0.84, 0.92), (1.07, 1.12)), torso_scale=((1.08, 1.16), (0.86, 0.92)),
                    width_scale=((1.12, 1.25),), head_scale=((1.1, 1.2),)),
    look=LookRanges(
        skin=((250, 235, 215), (215, 180, 110), (175, 130, 60), (236, 160, 150), (140, 95, 50), (60, 40, 35),
              (105, 55, 60)),
        hair=((235, 220, 160), (200, 40, 40), (40, 60, 140), (230, 230, 225), (120, 40, 110), (80, 110, 20)),
        cloth=((170, 255, 0), (255, 0, 200), (0, 230, 255), (255, 255, 90), (190, 170, 255), (255, 160, 140),
               (0, 200, 60), (100, 10, 30), (250, 210, 170), (0, 90, 60), (140, 0, 255), (120, 180, 250)),
        shoes=((255, 255, 255), (0, 255, 160), (255, 0, 90), (140, 200, 255), (110, 70, 20)),
        sleeves_p=(0.05, 0.25, 0.7), legs_p=(0.92, 0.08)),
    scene=SceneRanges(
        wall=((250, 215, 70), (255, 140, 60), (70, 190, 200), (150, 90, 190), (240, 130, 180), (160, 200, 90),
              (10, 90, 50), (255, 255, 150)),
        mats=((230, 200, 40), (120, 60, 170), (60, 170, 60), (250, 130, 80), (10, 10, 12)),
        bolt_step=((0.3, 0.42),), stripes=((0.35, 1.2),), light_x=((-1.0, -0.75), (0.75, 1.0)),
        light_z=((0.05, 0.3),), brightness=((0.42, 0.62), (1.3, 1.5)), colour_temp=((-2.6, -1.6), (1.6, 2.6)),
        vignette=((0.5, 0.7),), noise=((4.5, 7.0),)),
    camera=CameraRanges(distance=((1.7, 2.4), (6.5, 9.0)), fill=((0.24, 0.3), (0.76, 0.88)),
                        tripod_height=((0.0, 0.2), (1.9, 2.6)), handheld_height=((0.35, 0.8), (2.0, 2.7)),
                        side_offset=((-2.2, -1.2), (1.2, 2.2)), roll_offset=((-0.2, -0.08), (0.08, 0.2)),
                        shake=((0.018, 0.035),), drift_scale=2.5, zoom_breathing=((0.06, 0.12),),
                        pan=((0.2, 0.45),)),
    motion=MotionRanges(pace=((0.5, 0.7), (1.4, 1.8)), hip_z=((0.12, 0.2), (0.44, 0.58)), ground_share=0.5),
)
