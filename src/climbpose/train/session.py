"""What both training stages share: device and processes, precision, the recipe from params,
the model file, the epoch logger, and one call that trains and writes a stage's outputs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from climbpose.config import FinetuneParams, Params, PretrainParams
from climbpose.errors import InputError
from climbpose.io import atomic_path
from climbpose.models import build_model, device_options
from climbpose.resume import fingerprint
from climbpose.train import distributed
from climbpose.train.batches import WindowSet
from climbpose.train.checkpoint import CheckpointDir
from climbpose.train.loop import Recipe, fit


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when present, else the CPU; 'cuda' without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("train.device is cuda but no CUDA device is available; use auto or cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA when asked for; the CPU always trains in fp32."""
    return torch.bfloat16 if precision == "bf16" and device.type == "cuda" else None


def new_model(name: str, seed: int, size: int, window: int, device: torch.device) -> nn.Module:
    """A freshly initialised model; the same seed gives the same weights."""
    torch.manual_seed(seed)
    return build_model(name, size=size, window=window, **device_options(name, device)).to(device)


def save_model(path: str | Path, name: str, size: int, window: int, state_dict: dict[str, torch.Tensor],
               history: list[dict[str, Any]]) -> None:
    """Write a model file (weights on the CPU, plus what is needed to rebuild the model) atomically."""
    payload = {"model": name, "size": size, "window": window, "history": history,
               "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()}}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)


def load_model(path: str | Path, device: torch.device) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by `save_model`; returns it (in eval mode) and the file's contents."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(payload["model"], size=payload["size"], window=payload["window"],
                        **device_options(payload["model"], device))
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload


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
        """SPEC 1.5's recipe with this stage's budget and the shared plateau schedule."""
        t = self.params.train
        return Recipe(lr=section.lr, batch_size=section.batch_size, max_epochs=section.max_epochs,
                      windows_per_epoch=section.windows_per_epoch, select_threshold=select_threshold,
                      validate_first=validate_first, lr_patience=t.lr_patience, stop_patience=t.stop_patience,
                      lr_factor=t.lr_factor)

    def train(self, name: str, model: nn.Module, train: WindowSet, val: WindowSet, recipe: Recipe,
              config: dict[str, Any], files: list[Path], out: str | Path) -> None:
        """Fit, resuming from `checkpoints/<name>` when it matches; log to `dvclive/<name>`; write `out`."""
        p = self.params
        logger = EpochLogger(f"dvclive/{name}") if self.rank.main else None
        checkpoint = CheckpointDir(f"checkpoints/{name}", fingerprint({**config, "recipe": vars(recipe)}, files))
        weights, history = fit(model, train, val, recipe, checkpoint, seed=p.seed, size=p.heatmaps.size,
                               on_epoch=logger or (lambda record: None), rank=self.rank,
                               autocast=autocast_dtype(p.train.precision, self.device), desc=name,
                               compile_model=p.train.compile)
        if logger is not None:
            logger.close()
            save_model(out, p.model, p.heatmaps.size, p.split.window, weights, history)
