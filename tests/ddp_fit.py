"""Trains the tiny model of test_distributed.py; run directly or under torchrun. Writes rank 0's result."""

from __future__ import annotations

import sys

import torch

from climbpose.train.checkpoint import CheckpointDir
from climbpose.train.distributed import setup
from climbpose.train.loop import Recipe, fit
from climbpose.models.file import new_model
from tests.test_train import SIZE, windows


def main(out: str, checkpoint_dir: str) -> None:
    torch.set_num_threads(1)
    rank, device = setup(torch.device("cpu"))
    model = new_model("conv3d", seed=0, size=SIZE, window=5, device=device)
    recipe = Recipe(lr=1e-3, batch_size=8, max_epochs=2, windows_per_epoch=32, select_threshold=0.05, validate_first=True)
    weights, history = fit(model, windows("heatmaps", 1), windows("heatmaps", 2), recipe,
                           CheckpointDir(checkpoint_dir, f"world{rank.world}"), seed=0, size=SIZE, rank=rank)
    if rank.main:
        torch.save({"weights": weights, "history": history, "world": rank.world}, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
