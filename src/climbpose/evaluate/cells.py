"""The one scoring loop: a predictor run over a `WindowSet`, giving the keypoints it predicts for
every frame of every window beside their ground truth (and, when asked, its mean loss).

The training loop's validation (`climbpose.train.loop.evaluate_windows`) and the evaluation's rows
(`climbpose.evaluate.rows`) both call it, so validation during training and the evaluation stage
read the same batches, the same seeded input noise and the same keypoints from a model's output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from climbpose.data.window_sets import WindowSet
from climbpose.models import read_keypoints

__all__ = ["LossFunction", "WindowCells", "window_cells"]


@dataclass(frozen=True)
class WindowCells:
    """One row's predicted cells and the ground truth of every frame of every window, in window
    order: pred and gt (N, K, 2) with N = windows x frames, present (N, K)."""

    pred: np.ndarray
    gt: np.ndarray
    present: np.ndarray
    loss: float | None = None  # the mean loss over windows, when `window_cells` was given a loss


LossFunction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def window_cells(model: nn.Module, windows: WindowSet, batch_size: int, seed: int,
                 autocast: torch.dtype | None = None, loss: LossFunction | None = None) -> WindowCells:
    """The keypoints `model` predicts for every frame of every window, with their ground truth;
    with `loss(output, targets, present)`, also its mean over windows. Any input noise comes from
    a generator seeded with `seed`; `autocast` runs the model in that precision."""
    model.eval()
    generator = torch.Generator(device=windows.device).manual_seed(seed)
    pred, gt, present = [], [], []
    loss_sum, count = 0.0, 0
    for batch in windows.in_order(batch_size, generator):
        with torch.autocast(windows.device.type, dtype=autocast, enabled=autocast is not None):
            output = model(batch.inputs).float()
        if loss is not None:
            loss_sum += float(loss(output, batch.targets, batch.present)) * len(batch.inputs)
            count += len(batch.inputs)
        cells = read_keypoints(model, output)
        for out, tensor in ((pred, cells), (gt, batch.target_cells), (present, batch.present)):
            out.append(tensor.reshape(-1, *tensor.shape[2:]).cpu().numpy())
    mean_loss = None if loss is None else loss_sum / max(count, 1)
    k = windows.present.shape[-1]
    if not pred:
        return WindowCells(np.zeros((0, k, 2)), np.zeros((0, k, 2)), np.zeros((0, k), dtype=bool), mean_loss)
    return WindowCells(np.concatenate(pred), np.concatenate(gt), np.concatenate(present).astype(bool), mean_loss)
