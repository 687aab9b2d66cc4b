"""What both training stages share: device and processes, precision, the recipe from params,
the model file, the epoch logger, and one call that trains and writes a stage's outputs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from climbpose import __version__
from climbpose.core.config import FinetuneParams, Params, PretrainParams
from climbpose.core.imports import running_code
from climbpose.core.keypoints import NAMES as KEYPOINT_NAMES
from climbpose.core.errors import InputError
from climbpose.core.io import atomic_path
from climbpose.models import build_model, device_options
from climbpose.core.resume import fingerprint
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


# What a model file says about how it was made, beside its weights: everything `predict` and
# `report` need to use or label it without the params.yaml it was trained with.
DESCRIPTION_FIELDS = ("model", "keypoints", "size", "window", "step", "c", "sigma", "experiment", "s", "seed",
                      "stage", "params_hash", "code_version")


def describe_run(params: Params, stage: str, code_files: list[Path]) -> dict[str, Any]:
    """The description of a model trained by `stage` under `params` with the given source files."""
    return {"model": params.model, "keypoints": len(KEYPOINT_NAMES), "size": params.heatmaps.size,
            "window": params.split.window, "step": params.frame_step, "c": params.heatmaps.c,
            "sigma": params.heatmaps.sigma, "experiment": params.experiment, "s": params.s, "seed": params.seed,
            "stage": stage, "params_hash": params_hash(params),
            "code_version": f"{__version__}+{fingerprint({}, [], code_files)[:12]}"}


def params_hash(params: Params) -> str:
    """A short hash of every parameter (the same params.yaml content gives the same hash)."""
    return hashlib.sha256(json.dumps(dataclasses.asdict(params), sort_keys=True, default=str).encode()).hexdigest()[:12]


def save_model(path: str | Path, name: str, size: int, window: int, state_dict: dict[str, torch.Tensor],
               history: list[dict[str, Any]], description: dict[str, Any] | None = None) -> None:
    """Write a model file (weights on the CPU, what is needed to rebuild the model, and how it was
    made: `describe_run`) atomically."""
    payload = {**(description or {}), "model": name, "size": size, "window": window, "history": history,
               "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()}}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)


def read_model_file(path: str | Path) -> dict[str, Any]:
    """A model file's contents (weights on the CPU, description), without building the model.

    Only tensors and plain values are unpickled (`weights_only`), so a model file cannot run code.
    """
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or not {"model", "size", "window", "state_dict"} <= set(payload):
        raise ValueError("not a climbpose model file (no model name, size, window and weights)")
    return payload


def load_model(path: str | Path, device: torch.device) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by `save_model`; returns it (in eval mode) and the file's contents."""
    payload = read_model_file(path)
    model = build_model(payload["model"], size=payload["size"], window=payload["window"],
                        **device_options(payload["model"], device))
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload


def model_label(payload: dict[str, Any]) -> str:
    """One line naming a model file's model and how it was made; an older file says what it lacks."""
    missing = [key for key in DESCRIPTION_FIELDS if key not in payload]
    if "step" in missing:
        return (f"{payload.get('model', '?')} (window {payload.get('window', '?')}, {payload.get('size', '?')}x"
                f"{payload.get('size', '?')} maps); made before model files described their training: no step, c, "
                "experiment or s recorded")
    if missing:  # written by hand or by other code: say what is there and what is not, never a KeyError
        present = ", ".join(f"{key} {payload[key]}" for key in DESCRIPTION_FIELDS[1:] if key in payload)
        return f"{payload['model']} ({present}); the file records no {', '.join(missing)}"
    return (f"{payload['model']}, experiment {payload['experiment']}, s={payload['s']}: window {payload['window']} "
            f"every {payload['step']} frame(s), {payload['size']}x{payload['size']} maps of mass c={payload['c']:g}, "
            f"sigma {payload['sigma']:g}; {payload['stage']} with seed {payload['seed']}, params {payload['params_hash']}, "
            f"code {payload['code_version']}")


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
        logger = EpochLogger(f"dvclive/{name}") if self.rank.main else None
        code_files = running_code(__name__)
        checkpoint = CheckpointDir(f"checkpoints/{name}", fingerprint({**config, "recipe": vars(recipe)}, files, code_files))
        weights, history = fit(model, train, val, recipe, checkpoint, seed=p.seed, size=p.heatmaps.size,
                               on_epoch=logger or (lambda record: None), rank=self.rank,
                               autocast=autocast_dtype(p.train.precision, self.device), desc=name,
                               compile_model=p.train.compile)
        if logger is not None:
            logger.close()
            save_model(out, p.model, p.heatmaps.size, p.split.window, weights, history,
                       describe_run(p, name, code_files))
