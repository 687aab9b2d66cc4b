"""Conv3D: the smallest temporal model of the study (docs/design.md#conv3d).

One 3D convolution over a window of heatmaps, with the 25 keypoints as channels
and time as depth, kernel 5x5x5, stride 1, "same" zero padding, then a ReLU:

    parameters = 25 * 25 * 5 * 5 * 5 + 25 = 78,150   (at K = 25)

Input and output are (B, T, K, H, W), the layout shared by all heatmap models.

Two ways to compute the same function
-------------------------------------
* ``forward_conv3d`` (the reference): permute to (B, K, T, H, W) and call Conv3d.
* ``forward_banded`` (docs/design.md#conv3d): stack the window's T frames as T*K channels and run
  a single Conv2d(T*K -> T*K, 5x5). Its weight is the 3D kernel unrolled into a
  banded block matrix: the block from input frame t_in to output frame t_out is
  the 3D kernel's depth slice d = t_in - t_out + 2, and zero where
  |t_in - t_out| > 2. A zero-padded frame outside the window contributes nothing
  in the Conv3d, so leaving those taps out is exact for any T (not only T = 5).
  GPUs run 125-channel 2D convolutions far faster than 25-channel 3D ones.

The banded weight is rebuilt from the Conv3d's parameters in every forward call, so
the parameter count, the state_dict and the gradients are the Conv3D's whichever
path is used. ``banded=False`` (default) picks the reference path: on the CPU the 2D
convolution's backward pass is not bitwise repeatable from run to run, the 3D one is, and
same params must give identical metrics there. The training stages use the banded path on CUDA.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Conv3D(nn.Module):
    input_kind = "heatmaps"

    def __init__(self, num_keypoints: int = 25, kernel_size: int = 5, banded: bool = False) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
        self.num_keypoints = num_keypoints
        self.kernel_size = kernel_size
        self.banded = banded
        # Conv3d wants (B, C, D, H, W): channels = keypoints, depth = time.
        self.conv = nn.Conv3d(num_keypoints, num_keypoints, kernel_size, stride=1, padding=kernel_size // 2)
        self._init_weights()

    def _init_weights(self) -> None:
        # docs/design.md#initialisation: weights with more than one dimension start Xavier-uniform;
        # biases start at zero.
        nn.init.xavier_uniform_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_banded(x) if self.banded else self.forward_conv3d(x)

    def forward_conv3d(self, x: torch.Tensor) -> torch.Tensor:
        """Reference path: (B, T, K, H, W) -> (B, T, K, H, W) through nn.Conv3d."""
        y = self.conv(x.transpose(1, 2))  # (B, K, T, H, W)
        return F.relu(y).transpose(1, 2)

    def banded_weight(self, num_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The Conv3d unrolled into a Conv2d over T*K stacked channels.

        Returns (weight (T*K, T*K, kh, kw), bias (T*K,)); channel index = frame * K + keypoint.
        """
        w = unroll_time(self.conv.weight, num_frames)  # (K_out, K_in, T_out, T_in, kh, kw)
        # Rows are output channels (t_out, k_out), columns input channels (t_in, k_in).
        k_out, k_in = w.shape[:2]
        w = w.permute(2, 0, 3, 1, 4, 5).reshape(num_frames * k_out, num_frames * k_in, *w.shape[4:])
        b = self.conv.bias.repeat(num_frames)  # the same bias for every output frame
        return w, b

    def forward_banded(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path: one Conv2d over the window's frames stacked as channels. Same function."""
        B, T, K, H, W = x.shape
        w, b = self.banded_weight(T)
        # (B, T, K, H, W) is already (B, T*K, H, W) in memory with channel = t * K + k.
        y = F.conv2d(x.reshape(B, T * K, H, W), w, b, padding=self.kernel_size // 2)
        return F.relu(y).reshape(B, T, K, H, W)


def unroll_time(weight: torch.Tensor, num_frames: int) -> torch.Tensor:
    """A 3D kernel (C_out, C_in, D, kh, kw) with "same" padding in time, as the 2D kernels that link
    each input frame to each output frame of a T-frame window: (C_out, C_in, T_out, T_in, kh, kw).

    The kernel from input frame t_in to output frame t_out is depth slice d = t_in - t_out + D // 2,
    and zero where that falls outside the kernel (a zero-padded frame outside the window contributes
    nothing in the Conv3d, so leaving those taps out is exact for any T).
    """
    depth = weight.shape[2]
    frames = torch.arange(num_frames, device=weight.device)
    # offset[t_out, t_in] = which depth slice links input frame t_in to output frame t_out.
    offset = frames[None, :] - frames[:, None] + depth // 2
    inside = (offset >= 0) & (offset < depth)
    w = weight[:, :, offset.clamp(0, depth - 1)]  # advanced indexing on the depth axis
    return w * inside[None, None, :, :, None, None].to(w.dtype)  # the band: zero outside |dt| <= D // 2
