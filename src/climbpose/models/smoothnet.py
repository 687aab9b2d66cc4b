"""SmoothNet-style per-keypoint temporal refiner on sub-cell coordinates.

SmoothNet (Zeng et al., ECCV 2022) refines a pose sequence one coordinate trajectory at a time:
a small network over the time axis, the same weights for every joint and axis, added to its
input. It never sees two keypoints at once, so it cannot learn which poses a body takes, only how
a trajectory moves; that is what carries over from synthetic climbers to other people, bodies and
cameras.

Input: (B, T, K, 2) keypoint positions in heatmap cells. This model reads them with sub-cell
precision (`input_kind = "subcells"`: each heatmap's argmax moved to the local centre of mass,
`climbpose.heatmaps.subcell_peaks`), since PCK@0.05 on a 56-cell grid is stricter than a cell.
Output: the same shape, in cells.

Per trajectory (one keypoint, one axis, T values):
1. subtract its mean over the window (the network sees motion, not where the body is);
2. Linear T -> width, then `blocks` residual blocks (Linear width -> width, LeakyReLU 0.2, added
   to their input), then Linear width -> T: a correction;
3. output = input + correction.

The last layer starts at zero, so before training the model is the identity of its input; a
model that learnt nothing moves nothing. Parameters at T = 5, width 64, 2 blocks: 9,029.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SmoothNet(nn.Module):
    input_kind = "subcells"

    def __init__(self, window: int = 5, width: int = 64, blocks: int = 2) -> None:
        super().__init__()
        self.window = window
        self.encode = nn.Linear(window, width)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.decode = nn.Linear(width, window)
        for layer in (self.encode, *self.blocks):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.decode.weight)
        nn.init.zeros_(self.decode.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, K, 2) cells -> (B, T, K, 2) cells."""
        if x.shape[1] != self.window:
            raise ValueError(f"SmoothNet was built for windows of {self.window} frames, got {x.shape[1]}")
        tracks = x.permute(0, 2, 3, 1)  # (B, K, 2, T): one trajectory per keypoint and axis
        centre = tracks.mean(dim=-1, keepdim=True)
        h = F.leaky_relu(self.encode(tracks - centre), 0.2)
        for block in self.blocks:
            h = h + F.leaky_relu(block(h), 0.2)
        return (tracks + self.decode(h)).permute(0, 3, 1, 2)
