"""Depthwise Conv3D: each keypoint refined by its own filter, blind to the others, and only near
where the estimator put it.

Conv3D (SPEC 1.3) mixes all 25 keypoint maps in every output map. On the synthetic climbers
that buys accuracy, because their limbs move in learnable patterns; on footage unlike them a
sharp peak in one keypoint's map raises a ghost peak in another's, and keypoints jump onto other
body parts. This model keeps Conv3D's shape of computation (a 5x5x5 kernel over time x rows x
columns, "same" zero padding, ReLU) but gives every keypoint one kernel that reads only that
keypoint's own maps (groups = K):

    parameters = 25 * 5 * 5 * 5 + 25 = 3,150   (at K = 25)

Two guards make what it learns on synthetic data safe elsewhere:

* Trust region: the output of each frame's map is kept only inside the square of side
  2 * trust_radius + 1 around that frame's input argmax (and zeroed outside). A per-keypoint
  kernel can still learn to move a peak across the map (a second blob, a learnt shift), and on
  the held-out domain such moves broke more keypoints than they fixed; inside the square the model
  may move a keypoint by at most trust_radius cells along each axis, never onto another body part.
* Readout: keypoints are read as the sub-cell peak of the output (`readout = "subcells"`,
  `climbpose.heatmaps.subcell_peaks`), not the argmax cell, since the corrections worth having are
  smaller than a cell.

Computation: like Conv3D's banded path, the window's frames are stacked as channels and the 3D
kernel unrolled over time, here into one grouped Conv2d (K groups of T -> T channels). It is the
same function as the grouped Conv3d (`forward_conv3d`, kept as the reference) and on a CPU its
training step takes about half the time: PyTorch's grouped 3D convolution has no fast weight
gradient there.

Initialisation: the identity. The centre tap (frame t, row, column of the same keypoint) is 1,
every other tap and the bias 0, so before training the output is exactly the input (inputs are
non-negative, so the ReLU changes nothing, and the input's argmax lies inside its own square).
Training then only has to learn a correction, and a model that learnt nothing is harmless.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from climbpose.models.conv3d import unroll_time


class DepthwiseConv3D(nn.Module):
    input_kind = "heatmaps"
    readout = "subcells"

    def __init__(self, num_keypoints: int = 25, kernel_size: int = 5, trust_radius: int = 2) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
        if trust_radius < 0:
            raise ValueError(f"trust_radius must be >= 0 (0: no trust region), got {trust_radius}")
        self.num_keypoints = num_keypoints
        self.kernel_size = kernel_size
        self.trust_radius = trust_radius
        self.conv = nn.Conv3d(num_keypoints, num_keypoints, kernel_size, padding=kernel_size // 2,
                              groups=num_keypoints)
        self._init_identity()

    def _init_identity(self) -> None:
        centre = self.kernel_size // 2
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[:, 0, centre, centre, centre] = 1.0
            self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, K, H, W) -> (B, T, K, H, W) through one grouped Conv2d over stacked frames."""
        B, T, K, H, W = x.shape
        weight = unroll_time(self.conv.weight, T)[:, 0]  # (K, T_out, T_in, kh, kw)
        weight = weight.reshape(K * T, T, *weight.shape[3:])  # group k: channels k*T .. k*T + T - 1
        stacked = x.transpose(1, 2).reshape(B, K * T, H, W)
        y = F.conv2d(stacked, weight, self.conv.bias.repeat_interleave(T), padding=self.kernel_size // 2, groups=K)
        return self._confine(F.relu(y).reshape(B, K, T, H, W).transpose(1, 2), x)

    def forward_conv3d(self, x: torch.Tensor) -> torch.Tensor:
        """Reference path: keypoints as channels, time as depth, through a grouped nn.Conv3d."""
        return self._confine(F.relu(self.conv(x.transpose(1, 2))).transpose(1, 2), x)

    def _confine(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return y * self.trust_region(x) if self.trust_radius > 0 else y

    def trust_region(self, x: torch.Tensor) -> torch.Tensor:
        """1 inside the square of side 2r+1 around each input map's argmax cell, 0 elsewhere."""
        flat = x.flatten(-2)
        peak = torch.zeros_like(flat).scatter_(-1, flat.argmax(dim=-1, keepdim=True), 1.0).view_as(x)
        r = self.trust_radius
        # One channel per map, batched (N, 1, H, W): also right for an empty batch of windows.
        return F.max_pool2d(peak.flatten(0, 2)[:, None], 2 * r + 1, stride=1, padding=r).view_as(x)
