"""One training step of the recipe (docs/design.md#training-recipe: Adam on a masked MSE) and how it
is made fast on a GPU.

Only torch is imported here, so the training benchmark (bench/bench_train.py) times exactly the
step the training stages take, on a machine that has nothing but torch and numpy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def masked_mse(output: torch.Tensor, target: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """MSE where absent keypoints cost nothing: their target is the model's own output, detached."""
    mask = present.reshape(*present.shape, *([1] * (output.dim() - present.dim())))
    return F.mse_loss(output, torch.where(mask, target, output.detach()))


def new_optimiser(model: nn.Module, lr: float) -> torch.optim.Adam:
    """The recipe's Adam (docs/design.md#training-recipe). On CUDA the fused implementation updates
    every parameter in one kernel. A model with parts that must learn at another rate says so
    with `optimiser_groups(lr)` (Adam's parameter groups; the first one's lr is the one logged)."""
    fused = next(model.parameters()).device.type == "cuda"
    groups = model.optimiser_groups(lr) if hasattr(model, "optimiser_groups") else model.parameters()
    return torch.optim.Adam(groups, lr=lr, fused=fused or None)


def compiled(model: nn.Module, single_gpu: bool) -> nn.Module:
    """`model` through torch.compile; on a single GPU with CUDA graphs, which replay a whole
    forward or backward pass as one launch (batch 16 steps are otherwise launch-bound)."""
    return torch.compile(model, mode="reduce-overhead" if single_gpu else None, dynamic=False)


def train_step(model: nn.Module, optimiser: torch.optim.Optimizer, inputs: torch.Tensor, targets: torch.Tensor,
               present: torch.Tensor, autocast: torch.dtype | None) -> torch.Tensor:
    """One Adam step; returns the loss on the device (reading it here would sync every step)."""
    with torch.autocast(inputs.device.type, dtype=autocast, enabled=autocast is not None):
        output = model(inputs)
    loss = masked_mse(output.float(), targets, present)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss.detach()
