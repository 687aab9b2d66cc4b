"""Lapse selector: each keypoint's map either kept or replaced by a map the estimator itself made,
chosen by how much it can be trusted.

The estimator is sometimes wrong about a keypoint for a frame or two between frames where it is
right (a lapse), and sometimes swaps a left keypoint for the right one. A temporal refinement that
earns the name should repair those from the frames or the keypoint that got it right, and leave a
confident keypoint where it is. This model never invents a position: for every frame t and
keypoint k it picks one candidate map

    own        the map of (t, k) itself
    t-2 .. t+2 the map of k in a neighbouring frame of the window
    mirror     the map of k's left/right counterpart in frame t (a swap undone)

and outputs it unchanged, so a keypoint either stays exactly where the estimator put it or moves to
where the estimator put it in a neighbouring frame or on the other side; it can never land between
two body parts. Keypoints are read as sub-cell peaks (`readout = "subcells"`), like the estimator's
own `subcells` row, so a selector that keeps every map scores exactly that row.

The choice: every candidate gets a score from what the maps say about it, the same small network
for every keypoint and candidate (plus a learnt bias per keypoint and candidate kind):

* confidence: the candidate map's peak height (maps sum to c, so a sharp peak is a high one) and
  its share of mass within 2 cells of the peak, and the same two for the own map;
* agreement: how far the candidate's peak lies from the own peak (in cells), how much mass the own
  map has at the candidate's peak, and how many of the other candidates put k within 2 cells of it;
* which kind of candidate it is (one-hot).

Training (the finetune stage's MSE against the target heatmaps) mixes the candidates with a
softmax over the scores, so the loss has a gradient; in evaluation (`model.eval()`) the best
candidate is taken whole. Initialisation: the own candidate's bias is OWN_BIAS and every weight of
the last layer 0, so the untrained model keeps every map (the identity, read between cells) and
training has to earn every change. Parameters at K = 25 and hidden 16: 25 x 6 biases + 9 x 16 + 16
+ 16 + 1 = 327.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from climbpose.core.keypoints import MIRROR
from climbpose.heatmaps import flat_index_cells

NEIGHBOURS = (-2, -1, 1, 2)  # frame offsets of the neighbour candidates
CANDIDATES = ("own", *(f"t{o:+d}" for o in NEIGHBOURS), "mirror")
OWN_BIAS = 4.0  # softmax weight e^4 / (e^4 + 5) = 0.92 on the own map before training
AGREE_CELLS = 2.0  # two peaks within this many cells count as the same place
FEATURES = 9


def _peaks(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Argmax cells (..., 2) as float (x, y) and peak heights (...) of maps (..., H, W)."""
    flat = maps.flatten(-2)
    height, index = flat.max(dim=-1)
    w = maps.shape[-1]
    return flat_index_cells(index, w).float(), height


def _mass_near(maps: torch.Tensor, cells: torch.Tensor, radius: float = AGREE_CELLS) -> torch.Tensor:
    """Share of each map's mass (..., H, W) within `radius` cells (Chebyshev) of `cells` (..., 2)."""
    h, w = maps.shape[-2:]
    cols = torch.arange(w, device=maps.device, dtype=maps.dtype)
    rows = torch.arange(h, device=maps.device, dtype=maps.dtype)
    in_x = ((cols - cells[..., 0, None]).abs() <= radius).to(maps.dtype)  # (..., W)
    in_y = ((rows - cells[..., 1, None]).abs() <= radius).to(maps.dtype)  # (..., H)
    near = torch.einsum("...hw,...h,...w->...", maps, in_y, in_x)
    total = maps.sum(dim=(-2, -1))
    return near / torch.where(total > 0, total, torch.ones_like(total))


class LapseSelector(nn.Module):
    input_kind = "heatmaps"
    readout = "subcells"

    def __init__(self, num_keypoints: int = 25, hidden: int = 16) -> None:
        super().__init__()
        if num_keypoints != len(MIRROR):
            raise ValueError(f"the mirror candidate needs the {len(MIRROR)}-keypoint layout, got {num_keypoints}")
        self.num_keypoints = num_keypoints
        self.score = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.bias = nn.Parameter(torch.zeros(num_keypoints, len(CANDIDATES)))
        nn.init.xavier_uniform_(self.score[0].weight)
        nn.init.zeros_(self.score[0].bias)
        nn.init.zeros_(self.score[2].weight)
        nn.init.zeros_(self.score[2].bias)
        with torch.no_grad():
            self.bias[:, 0] = OWN_BIAS

    def candidates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Candidate maps (B, T, K, C, H, W) and which exist (B, T, K, C) bool: a neighbour outside
        the window does not (its slot holds the own map, never chosen)."""
        B, T, K, H, W = x.shape
        maps, valid = [x], [torch.ones(B, T, K, dtype=torch.bool, device=x.device)]
        for offset in NEIGHBOURS:
            source = (torch.arange(T, device=x.device) + offset)
            inside = (source >= 0) & (source < T)
            maps.append(x[:, source.clamp(0, T - 1)])
            valid.append(inside[None, :, None].expand(B, T, K))
        maps.append(x[:, :, list(MIRROR)])
        valid.append(torch.ones(B, T, K, dtype=torch.bool, device=x.device))
        stacked = torch.stack(maps, dim=3)
        exists = torch.stack(valid, dim=3)
        return torch.where(exists[..., None, None], stacked, x[:, :, :, None]), exists

    def features(self, x: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """(B, T, K, C, FEATURES) from the window x and its candidate maps."""
        C = maps.shape[3]
        cell, height = _peaks(maps)  # (B, T, K, C, 2), (B, T, K, C)
        own_cell, own_height = cell[..., 0, :], height[..., 0]
        mass = x.sum(dim=(-2, -1)).clamp_min(1e-6)[..., None]  # c, or less for an empty map
        sharp = _mass_near(maps, cell)
        own_sharp = sharp[..., :1].expand_as(sharp)
        distance = (cell - own_cell[..., None, :]).abs().amax(dim=-1)
        own_support = _mass_near(x[:, :, :, None].expand_as(maps), cell)
        apart = (cell[..., :, None, :] - cell[..., None, :, :]).abs().amax(dim=-1)  # (B, T, K, C, C)
        agree = (apart <= AGREE_CELLS).float().sum(dim=-1) - 1.0
        kind = torch.arange(C, device=x.device)
        return torch.stack([
            torch.log1p(height / mass * 100), sharp, torch.log1p(own_height[..., None] / mass * 100).expand_as(sharp),
            own_sharp, torch.log1p(distance), own_support, agree / (C - 1),
            (kind == 0).float().expand_as(sharp), (kind == C - 1).float().expand_as(sharp),
        ], dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, K, H, W) -> (B, T, K, H, W): each map replaced by its chosen candidate."""
        maps, exists = self.candidates(x)
        logits = self.score(self.features(x, maps))[..., 0] + self.bias
        logits = logits.masked_fill(~exists, float("-inf"))
        if self.training:
            weights = logits.softmax(dim=-1)
        else:
            weights = F.one_hot(logits.argmax(dim=-1), maps.shape[3]).to(x.dtype)
        return torch.einsum("btkc,btkchw->btkhw", weights, maps)
