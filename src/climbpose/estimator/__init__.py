"""Frozen pose estimators: frames in, 25 heatmaps over a person box out (SPEC 2).

`make_estimator("blazepose", num_threads=2)` or `make_estimator("precomputed", directory=...)`;
see `base` for the interface and how to add an estimator.
"""

from climbpose.estimator.base import ESTIMATORS, Estimator, FrameEstimate, make_estimator, register
from climbpose.estimator.blazepose import BlazePose
from climbpose.estimator.precomputed import Precomputed
from climbpose.estimator.weights import ensure_weights

__all__ = [
    "ESTIMATORS", "BlazePose", "Estimator", "FrameEstimate", "Precomputed",
    "ensure_weights", "make_estimator", "register",
]
