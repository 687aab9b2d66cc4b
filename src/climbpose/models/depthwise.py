"""Depthwise Conv3D: each keypoint refined by its own filter, blind to the others, and only near
where the estimator put it.

Conv3D (docs/design.md#conv3d) mixes all 25 keypoint maps in every output map. On the synthetic climbers
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

Computation: only what the trust region keeps. With a trust region, every output map is zero
outside the (2r+1)^2 square around its own input peak, so `forward` computes just those cells: it
gathers, for each frame and keypoint, the (2r + kernel) square of the window's maps around that
frame's peak and applies the 5x5x5 kernel there as one small grouped convolution (`forward_local`).
At r = 2 that is 25 of the 3,136 cells of a 56x56 map, about 125 times fewer multiply-adds than
the full convolution, with the same outputs and the same weight gradients (tested against both
full paths). Without a trust region the full convolution runs: the window's frames stacked as
channels, the 3D kernel unrolled over time into one grouped Conv2d (`forward_stacked`; on a CPU its
training step takes about half the time of the grouped Conv3d), or PyTorch's grouped Conv3d
(`forward_conv3d`, the reference). Measured in `bench/bench_depthwise.py`.

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
    channels_last = False  # forward gathers a few cells per map: contiguous maps are cheaper (predict)

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

    def forward(self, x: torch.Tensor, peak: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, K, H, W) -> (B, T, K, H, W). `peak`: each map's flat argmax index (B, T, K), when
        the caller has it already (finding it reads every cell)."""
        return self.forward_local(x, peak) if self.trust_radius > 0 else self.forward_stacked(x)

    def forward_local(self, x: torch.Tensor, peak: torch.Tensor | None = None) -> torch.Tensor:
        """The kept cells only: each output map's (2r+1)^2 square around its input peak, zero elsewhere.

        Output cell (t, i, j) of keypoint k is relu(bias_k + sum over taps of w_k[dt, di, dj] *
        x[t + dt - p, k, i + di - p, j + dj - p]) with p = kernel // 2 and zero outside the window and
        the map: the "same"-padded convolution, evaluated at the 2r+1 rows and columns around the peak.
        """
        B, T, K, H, W = x.shape
        r, p = self.trust_radius, self.kernel_size // 2
        side = 2 * r + 1
        span = side + 2 * p  # input rows (and columns) that the kept square reads
        if peak is None:
            peak = x.flatten(-2).argmax(dim=-1)  # (B, T, K)
        top, left = peak // W - r, peak % W - r  # the square's first row and column (may be off the map)

        # Gather each square's input span, (B, T, K, kernel, span, span), through one flat index into
        # x; taps off the window or the map read a clamped neighbour and are then zeroed (the padding).
        def axis(n: int, dims: int, at: int) -> torch.Tensor:
            return torch.arange(n, device=x.device).view(*[n if d == at else 1 for d in range(dims)])

        frames = axis(T, 6, 1) + axis(self.kernel_size, 6, 3) - p
        rows = (top - p)[..., None, None, None] + axis(span, 6, 4)
        cols = (left - p)[..., None, None, None] + axis(span, 6, 5)
        # Combined small to large: (1, T, 1, kernel, 1, 1) frames, (B, T, K, 1, span, span) cells.
        inside = ((frames >= 0) & (frames < T)) & (((rows >= 0) & (rows < H)) & ((cols >= 0) & (cols < W)))
        plane = ((axis(B, 6, 0) * T + frames.clamp(0, T - 1)) * K + axis(K, 6, 2)) * (H * W)
        patches = x.reshape(-1)[plane + (rows.clamp(0, H - 1) * W + cols.clamp(0, W - 1))] * inside

        # Each square is then a "valid" convolution of its span: one grouped Conv2d over all of them,
        # the kernel's time taps as each group's input channels.
        y = F.conv2d(patches.reshape(B * T, K * self.kernel_size, span, span), self.conv.weight[:, 0],
                     self.conv.bias, groups=K)
        y = F.relu(y).view(B, T, K, side, side)

        # Scatter the squares into zero maps with an r-cell margin, so squares that overhang the
        # border need no clipping; the margin is then cut away.
        out = x.new_zeros(B, T, K, H + 2 * r, W + 2 * r)
        out[axis(B, 5, 0), axis(T, 5, 1), axis(K, 5, 2),
            (top + r)[..., None, None] + axis(side, 5, 3), (left + r)[..., None, None] + axis(side, 5, 4)] = y
        return out[..., r:r + H, r:r + W]

    def forward_stacked(self, x: torch.Tensor) -> torch.Tensor:
        """Full convolution through one grouped Conv2d over the window's frames stacked as channels."""
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
        """1 inside the square of side 2r+1 around each input map's argmax cell, 0 elsewhere.

        From the argmax's row and column: a cell is inside when both lie within r of the peak's.
        """
        H, W = x.shape[-2:]
        peak = x.flatten(-2).argmax(dim=-1)
        r = self.trust_radius
        near_rows = (torch.arange(H, device=x.device) - (peak // W)[..., None]).abs() <= r  # (..., H)
        near_cols = (torch.arange(W, device=x.device) - (peak % W)[..., None]).abs() <= r  # (..., W)
        return (near_rows[..., :, None] & near_cols[..., None, :]).to(x.dtype)
