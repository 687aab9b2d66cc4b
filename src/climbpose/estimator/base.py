"""The pluggable estimator interface: what every frozen pose estimator hands the pipeline.

An estimator turns one RGB frame into a `FrameEstimate`: 25 heatmaps (docs/design.md#keypoints order) over an
axis-aligned, square person box, plus the box, per-keypoint scores and regressed keypoints.
Everything downstream (windows, models, PCK) sees only this, so estimators are interchangeable.

Adding an estimator (say a user's TorchScript model) is a small subclass plus one registry line:

    @register("torchscript")
    class TorchScriptPose(Estimator):
        def __init__(self, path: str, heatmap_size: int = 56): ...
        def reset(self) -> None: ...            # forget tracking state between videos
        def __call__(self, frame): ...          # -> FrameEstimate

and import its module in `climbpose/estimator/make.py` (beside blazepose and precomputed) so the
decorator runs;
`make_estimator("torchscript", path=...)` then builds it. `regions.resample_hwc` and
`regions.person_box` help an estimator whose maps live in some other crop.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import numpy as np

from climbpose.core.keypoints import K


@dataclass
class FrameEstimate:
    """One frame's estimate. Shapes use K = 25 and S = heatmap size.

    heatmaps:  float32 (K, S, S) over `bbox`; cell (row i, col j) is image point
               (x1 + j (x2-x1)/S, y1 + i (y2-y1)/S), the grid of the ground truth (docs/design.md#ground-truth).
    bbox:      float32 (4,) x1, y1, x2, y2 in image pixels (square for the built-in estimators).
    detected:  whether a person was found; if False, heatmaps/bbox/scores are zeros and
               keypoints NaN.
    scores:    float32 (K,) per-keypoint confidence in [0, 1].
    keypoints: float32 (K, 2) regressed x, y in image pixels (NaN where unknown).
    """

    heatmaps: np.ndarray
    bbox: np.ndarray
    detected: bool
    scores: np.ndarray
    keypoints: np.ndarray

    @classmethod
    def empty(cls, size: int) -> FrameEstimate:
        """The estimate of a frame where no person was found."""
        return cls(
            heatmaps=np.zeros((K, size, size), np.float32),
            bbox=np.zeros(4, np.float32),
            detected=False,
            scores=np.zeros(K, np.float32),
            keypoints=np.full((K, 2), np.nan, np.float32),
        )


class Estimator(ABC):
    """A frozen single-frame (optionally tracking) pose estimator."""

    #: registry name, set by @register
    name: str = ""
    #: S of the S x S heatmaps it returns
    heatmap_size: int = 56

    @abstractmethod
    def reset(self) -> None:
        """Start a new video: forget anything carried over from previous frames."""

    @abstractmethod
    def __call__(self, frame_rgb_uint8: np.ndarray) -> FrameEstimate:
        """Estimate the pose in one RGB uint8 frame (H, W, 3)."""

    def start_video(self, video_path: str | os.PathLike) -> None:
        """Called before the first frame of a video file; override to use its name."""
        self.reset()

    def end_video(self, frames: int) -> None:
        """Called after the last of a video's `frames` frames; a replaying estimator checks its length."""


ESTIMATOR_CLASSES: dict[str, type[Estimator]] = {}

E = TypeVar("E", bound=type[Estimator])


def register(name: str) -> Callable[[E], E]:
    """Class decorator: make an Estimator subclass available to `make_estimator(name)`."""

    def wrap(cls: E) -> E:
        if name in ESTIMATOR_CLASSES and ESTIMATOR_CLASSES[name] is not cls:
            raise ValueError(f"estimator name {name!r} is already registered")
        cls.name = name
        ESTIMATOR_CLASSES[name] = cls
        return cls

    return wrap
