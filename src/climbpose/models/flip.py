"""Flip gate + depthwise Conv3D: undo the estimator's whole-pose left/right flips, then refine each
keypoint near where it is.

BlazePose often reads a climber seen from behind as facing the camera: every left keypoint lands
on the right side of the body and the reverse, for many frames in a row. No model that moves a
keypoint by at most a few cells can repair that, and a model that may move keypoints far breaks
the ones that were right (docs/results.md#the-default-model-undoing-whole-pose-flips).
A whole-pose swap moves every keypoint onto a body part the estimator did find, so this model
makes one decision per frame, swap or not, and then applies the default model's refinement
(`DepthwiseConv3D`, with its trust region around the peaks it is given).

The decision is a logistic gate on what the window's maps say about the pose, computed from their
sub-cell peaks and peak heights (`frame_features`): whether the estimator puts the left shoulder
and hip on the image's right (it says "facing the camera"), how sharp the face and torso peaks
are, and the pose's shape (wrists above the shoulders, feet apart, the body's extent), each per
frame and as the window's mean, and once more only where the estimator says "facing the camera".
What separates a climber read backwards from a person who does face the camera is mostly the
pose: climbers reach up, people on the floor mostly do not. That is learnt only if training
data holds both, hence the training videos of people on the floor (`synthesize.ground_videos`).

Training (the finetune stage's MSE) mixes the refinements of the window as given and of the
window swapped, by the gate's probability per frame, so the loss says how much a swap would help;
in evaluation (`model.eval()`) a frame is swapped when the probability exceeds one half. The
gate learns at `gate_lr_scale` times the recipe's learning rate (`optimiser_groups`): at the
thesis' 1e-4 its 55 weights would barely move in 8 epochs. Initialisation: gate weights 0 and
bias GATE_BIAS (a swap probability of 0.018), the refinement the identity, so the untrained model
is the sub-cell reading of the estimator's maps, exactly as `conv3d_depthwise` starts.

Parameters at K = 25 and the default kernel_size 3: the depthwise model's 25 x 3^3 + 25 = 700 and the
gate's 3 x 18 + 1 = 55, 755 in all.
"""

from __future__ import annotations

import torch
from torch import nn

from climbpose.core.keypoints import INDEX, LEFT_HIP, LEFT_SHOULDER, MIRROR, RIGHT_HIP, RIGHT_SHOULDER
from climbpose.heatmaps import flat_index_cells, subcell_peaks
from climbpose.models.depthwise import DepthwiseConv3D

GATE_BIAS = -4.0
FRAME_FEATURES = 18
FEATURE_LIMIT = 5.0  # features are clipped to +-this, so no odd map can drive the gate to certainty
LOG_HEIGHT_CENTRE = 2.5  # log(1 + peak) of a typical keypoint map at c = 255


def frame_features(x: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
    """(B, T, K, H, W) maps -> (B, T, FRAME_FEATURES), lengths in torso diameters of the estimate.
    `index`: the maps' flat argmax (B, T, K), when known.

    x positions grow to the image's right and y downwards, so the estimator says "facing the
    camera" when its left shoulder lies right of its right shoulder (first feature > 0).
    """
    flat = x.flatten(-2)
    index = flat.argmax(dim=-1) if index is None else index  # serves both readings below
    size = x.shape[-1]
    peaks = subcell_peaks(x, peak=flat_index_cells(index, size))
    px, py = peaks[..., 0], peaks[..., 1]  # (B, T, K)
    log_height = torch.log1p(flat.gather(-1, index[..., None])[..., 0].clamp_min(0)) - LOG_HEIGHT_CENTRE
    shoulder_hip = (peaks[..., LEFT_SHOULDER, :] - peaks[..., LEFT_HIP, :]).norm(dim=-1)
    shoulder_hip = shoulder_hip + (peaks[..., RIGHT_SHOULDER, :] - peaks[..., RIGHT_HIP, :]).norm(dim=-1)
    torso = (shoulder_hip / 2).clamp_min(1.0)
    shoulder_y = (py[..., LEFT_SHOULDER] + py[..., RIGHT_SHOULDER]) / 2
    hip_y = (py[..., LEFT_HIP] + py[..., RIGHT_HIP]) / 2

    def across(left: str, right: str) -> torch.Tensor:
        return px[..., INDEX[left]] - px[..., INDEX[right]]

    def apart_y(left: str, right: str) -> torch.Tensor:
        return (py[..., INDEX[left]] - py[..., INDEX[right]]).abs()

    features = [
        across("left_shoulder", "right_shoulder") / torso,
        across("left_hip", "right_hip") / torso,
        across("left_ear", "right_ear") / torso,
        log_height[..., INDEX["nose"]],
        log_height[..., [INDEX["left_ear"], INDEX["right_ear"]]].mean(dim=-1),
        log_height[..., [LEFT_SHOULDER, RIGHT_SHOULDER]].mean(dim=-1),
        log_height[..., [LEFT_HIP, RIGHT_HIP]].mean(dim=-1),
        log_height.mean(dim=-1),
        (shoulder_y - py[..., INDEX["left_wrist"]]) / torso,  # > 0: the wrist above the shoulders
        (shoulder_y - py[..., INDEX["right_wrist"]]) / torso,
        apart_y("left_wrist", "right_wrist") / torso,
        apart_y("left_ankle", "right_ankle") / torso,
        across("left_ankle", "right_ankle").abs() / torso,
        across("left_knee", "right_knee").abs() / torso,
        ((py[..., INDEX["left_ankle"]] + py[..., INDEX["right_ankle"]]) / 2 - hip_y) / torso,
        torso / size,
        (py.amax(dim=-1) - py.amin(dim=-1)) / size,
        (px.amax(dim=-1) - px.amin(dim=-1)) / size,
    ]
    return torch.stack(features, dim=-1).clamp(-FEATURE_LIMIT, FEATURE_LIMIT)


def gate_inputs(x: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
    """(B, T, 3 * FRAME_FEATURES): each frame's features, the window's mean, and the frame's
    features again where the estimator says "facing the camera" (zero elsewhere)."""
    frame = frame_features(x, index)
    says_facing = (frame[..., :1] > 0).to(frame.dtype)
    return torch.cat([frame, frame.mean(dim=1, keepdim=True).expand_as(frame), frame * says_facing], dim=-1)


class FlipDepthwise(nn.Module):
    input_kind = "heatmaps"
    readout = "subcells"
    channels_last = False

    def __init__(self, num_keypoints: int = 25, kernel_size: int = 3, trust_radius: int = 2,
                 gate_lr_scale: float = 100.0) -> None:
        super().__init__()
        if num_keypoints != len(MIRROR):
            raise ValueError(f"the flip gate needs the {len(MIRROR)}-keypoint layout, got {num_keypoints}")
        if gate_lr_scale <= 0:
            raise ValueError(f"gate_lr_scale must be > 0, got {gate_lr_scale}")
        self.num_keypoints = num_keypoints
        self.gate_lr_scale = gate_lr_scale
        self.refine = DepthwiseConv3D(num_keypoints, kernel_size, trust_radius)
        self.gate = nn.Linear(3 * FRAME_FEATURES, 1)
        nn.init.zeros_(self.gate.weight)
        nn.init.constant_(self.gate.bias, GATE_BIAS)

    def optimiser_groups(self, lr: float) -> list[dict]:
        """Parameter groups for the training recipe's Adam: the gate at gate_lr_scale x lr."""
        return [{"params": list(self.refine.parameters()), "lr": lr},
                {"params": list(self.gate.parameters()), "lr": lr * self.gate_lr_scale}]

    def swap_logits(self, x: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T): > 0 where the frame's pose should be swapped left for right. `index`: the maps'
        flat argmax (B, T, K), when known."""
        with torch.no_grad():  # the features are read off the input; only the gate learns
            inputs = gate_inputs(x.float(), index)
        return self.gate(inputs.to(self.gate.weight.dtype)).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, K, H, W) -> (B, T, K, H, W)."""
        # One argmax over every map serves the features and both refinements: a swapped map's
        # peak is its counterpart's.
        index = x.flatten(-2).argmax(dim=-1)
        logits = self.swap_logits(x, index)
        mirror = list(MIRROR)
        if not self.training:
            swap = logits > 0
            if not swap.any():  # most windows: nothing to swap, nothing to copy
                return self.refine(x, index)
            x, index = x.clone(), index.clone()
            x[swap], index[swap] = x[swap][:, mirror], index[swap][:, mirror]
            return self.refine(x, index)
        p = torch.sigmoid(logits)[..., None, None, None].to(x.dtype)
        # Two passes rather than one over both concatenated: slicing that result would cost a
        # zero-filled gradient of twice the batch per slice in the backward pass.
        return torch.lerp(self.refine(x, index), self.refine(x[:, :, mirror], index[..., mirror]), p)
