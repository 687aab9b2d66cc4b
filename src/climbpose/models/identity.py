"""The identity "model": the estimator's own heatmaps, unrefined
(docs/design.md#the-projects-models, docs/design.md#pck).

Every result table reports it beside the trained models. It has no parameters, so
there is nothing to train: callers should skip the optimiser for it (torch.optim
refuses an empty parameter list) and evaluate it directly.
"""

from __future__ import annotations

import torch
from torch import nn


class Identity(nn.Module):
    """`input_kind` "subcells" makes it the estimator's sub-cell peaks passed through (a baseline)."""

    def __init__(self, input_kind: str = "heatmaps") -> None:
        super().__init__()
        self.input_kind = input_kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, K, H, W) -> the same tensor (any shape passes through)."""
        return x
