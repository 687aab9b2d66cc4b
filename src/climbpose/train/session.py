"""What both training stages share: device and processes, precision, the recipe from params,
the epoch logger, and one call that trains and writes a stage's outputs (the model file itself:
`climbpose.models.file`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from climbpose.core.config import FinetuneParams, Params, PretrainParams
from climbpose.core.imports import running_code
from climbpose.core.io import atomic_path
from climbpose.core.resume import fingerprint
from climbpose.data.window_sets import WindowSet
from climbpose.models.file import describe_run, resolve_device, save_model
from climbpose.train import distributed
from climbpose.train.checkpoint import CheckpointDir
from climbpose.train.loop import Recipe, fit


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA when asked for; the CPU always trains in fp32."""
    return torch.bfloat16 if precision == "bf16" and device.type == "cuda" else None


class EpochLogger:
    """Per-epoch records to dvclive (rank 0 only), without touching dvc.yaml or experiment refs."""

    def __init__(self, directory: str | Path) -> None:
        from dvclive import Live  # imported here: only the training stages need it

        self.live = Live(dir=str(directory), dvcyaml=False, save_dvc_exp=False, report=None)

    def __call__(self, record: dict[str, Any]) -> None:
        for key, value in record.items():
            if key != "epoch" and isinstance(value, (int, float)) and math.isfinite(value):
                self.live.log_metric(key, value)
        self.live.next_step()

    def close(self) -> None:
        self.live.end()


# The series `dvc plots show` draws (dvc.yaml's top-level `plots:`). A stage that does not train
# writes each of them with its header and no rows, which DVC leaves out of the page: drawing the
# starting weights' one validation as a curve would show a training that did not happen.
PLOTTED_SERIES = ("train_loss", "val_loss", "val_pck_005", "val_pck_010", "val_pck_020")


def write_untrained_series(directory: str | Path) -> None:
    """dvclive's layout (plots/metrics/<name>.tsv, columns step and the name) without rows."""
    folder = Path(directory) / "plots" / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for name in PLOTTED_SERIES:
        with atomic_path(folder / f"{name}.tsv", suffix=".tsv") as tmp:
            Path(tmp).write_text(f"step\t{name}\n")


class TrainingRun:
    """One training stage's process: its rank and device, and the outputs it writes.

    `start` relaunches the stage under torchrun when `train.nproc` > 1 (the parent then only
    waits for its children); every rank trains, rank 0 alone logs and writes files.
    """

    def __init__(self, params: Params, rank: distributed.Rank, device: torch.device) -> None:
        self.params, self.rank, self.device = params, rank, device

    @classmethod
    def start(cls, params: Params) -> "TrainingRun":
        if params.train.nproc > 1 and not distributed.launched():
            raise SystemExit(distributed.relaunch(params.train.nproc))
        rank, device = distributed.setup(resolve_device(params.train.device))
        return cls(params, rank, device)

    def recipe(self, section: PretrainParams | FinetuneParams, select_threshold: float,
               validate_first: bool = False) -> Recipe:
        """The training recipe (docs/design.md#training-recipe) with this stage's budget and the
        shared plateau schedule."""
        t = self.params.train
        return Recipe(lr=section.lr, batch_size=section.batch_size, max_epochs=section.max_epochs,
                      windows_per_epoch=section.windows_per_epoch, select_threshold=select_threshold,
                      validate_first=validate_first, lr_patience=t.lr_patience, stop_patience=t.stop_patience,
                      lr_factor=t.lr_factor)

    def train(self, name: str, model: nn.Module, train: WindowSet, val: WindowSet, recipe: Recipe,
              config: dict[str, Any], files: list[Path], out: str | Path) -> None:
        """Fit, resuming from `checkpoints/<name>` when it matches; log to `dvclive/<name>`; write `out`."""
        p = self.params
        trains = recipe.max_epochs > 0
        logger = EpochLogger(f"dvclive/{name}") if self.rank.main and trains else None
        code_files = running_code(__name__)
        checkpoint = CheckpointDir(f"checkpoints/{name}", fingerprint({**config, "recipe": vars(recipe)}, files, code_files))
        weights, history = fit(model, train, val, recipe, checkpoint, seed=p.seed, size=p.heatmaps.size,
                               on_epoch=logger or (lambda record: None), rank=self.rank,
                               autocast=autocast_dtype(p.train.precision, self.device), desc=name,
                               compile_model=p.train.compile)
        if self.rank.main:
            if logger is not None:
                logger.close()
            else:
                write_untrained_series(f"dvclive/{name}")
            save_model(out, p.model, p.heatmaps.size, p.split.window, weights, history,
                       describe_run(p, name, code_files))
