"""The temporal models (docs/design.md#models) and a registry to build them by name.

Every model maps a window to a window of the same shape and says what it eats in
the class attribute ``input_kind``:

* "heatmaps": (B, T, K, H, W) -> (B, T, K, H, W): conv3d, bi_convlstm_sum,
  bi_convlstm_concat, conv3d_depthwise, flip_depthwise, lapse_selector, identity.
* "coordinates": (B, T, K, 2) -> (B, T, K, 2) in heatmap cells: deciwatch; each frame's keypoints
  are its heatmaps' argmax cells.
* "subcells": as "coordinates", but each keypoint read between cells
  (`climbpose.heatmaps.subcell_peaks`): smoothnet.
* "landmarks": as "coordinates", but the estimator's own regressed landmarks (the preprocessed
  `landmark_cells`), which no heatmap holds; only the evaluation's `landmarks` row reads them.

`climbpose.data.input_kinds.model_inputs` turns heatmaps into what a model of each kind eats;
`read_keypoints` turns what it outputs into keypoint cells: coordinates as they are, heatmaps by
their argmax cell (docs/design.md#reading-a-keypoint), or, for a model whose class says
`readout = "subcells"` (conv3d_depthwise, flip_depthwise, lapse_selector), by their sub-cell peak.

Parameter counts at K = 25, 56x56: conv3d 78,150; deciwatch 1,708,388;
bi_convlstm_sum 1,875,666; bi_convlstm_concat 1,872,313; identity 0. Beyond the thesis'
four, each starting as the identity: conv3d_depthwise 3,150 and smoothnet 9,029 (every keypoint
refined on its own), flip_depthwise 755 (a whole-pose left/right swap decided per frame, then
conv3d_depthwise with 3x3x3 kernels), lapse_selector 327 (each keypoint's map kept or replaced by a neighbouring
frame's or its left/right counterpart's).
Weights are drawn from torch's global RNG: seed it (torch.manual_seed) first and
the same name and arguments give the same model.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from climbpose.models.conv3d import Conv3D
from climbpose.models.convlstm import BiConvLSTM, ConvLSTM
from climbpose.models.deciwatch import DeciWatch
from climbpose.heatmaps import argmax_cells, subcell_peaks
from climbpose.models.depthwise import DepthwiseConv3D
from climbpose.models.flip import FlipDepthwise
from climbpose.models.selector import LapseSelector
from climbpose.models.smoothnet import SmoothNet
from climbpose.models.identity import Identity

from climbpose.core.model_registry import model_names, model_spec
from climbpose.data.input_kinds import reads_coordinates

__all__ = ["DepthwiseConv3D", "FlipDepthwise", "LapseSelector", "SmoothNet", "read_keypoints", "build_model", "device_options",
           "model_names", "Conv3D", "ConvLSTM", "BiConvLSTM", "DeciWatch", "Identity"]


def build_model(name: str, num_keypoints: int = 25, size: int = 56, window: int = 5,
                options: dict[str, Any] | None = None, **device_kwargs) -> nn.Module:
    """Build a registered model (`climbpose.core.model_registry`) by name.

    ``size`` is the heatmap side (the ConvLSTMs' per-pixel parameters and DeciWatch's
    coordinate normalisation depend on it); ``window`` the frames per window (DeciWatch and
    SmoothNet are tied to it). ``options`` are the model's own registered options (params.yaml's
    `model_options.<name>`; unset ones take their registered defaults). Other keyword arguments go
    to the constructor as they are: per-device choices (`device_options`) or a test's settings,
    e.g. ``dropout=0.0`` for deciwatch.
    """
    spec = model_spec(name)
    shape = {"num_keypoints": num_keypoints, "size": size, "window": window}
    kwargs = {**{key: shape[key] for key in spec.shape}, **spec.fixed, **spec.resolved_options(options), **device_kwargs}
    return spec.model_class()(**kwargs)


def device_options(name: str, device: torch.device) -> dict[str, Any]:
    """Per-device choices that leave the function unchanged, as registered: Conv3D's banded path on
    CUDA only (faster there; on the CPU its backward pass is not bitwise repeatable)."""
    return dict(model_spec(name).cuda_options) if device.type == "cuda" else {}


def read_keypoints(model: nn.Module, output: torch.Tensor) -> torch.Tensor:
    """Keypoints (..., K, 2) float cells of a model's output (..., K, H, W) or (..., K, 2)."""
    if reads_coordinates(getattr(model, "input_kind", "heatmaps")):
        return output
    if getattr(model, "readout", "argmax") == "subcells":
        return subcell_peaks(output)
    return argmax_cells(output).float()
