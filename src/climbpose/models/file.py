"""The model file: build a fresh model, describe how it was made, save it, read it back and
label it. Shared by training (which writes model files), evaluation, `report` and `predict`
(which read them), so it sits below all of them.

A file lacking a description field still loads: `load_model` needs only the model name, size,
window and weights (a file that records no `options` was built with the registered defaults, the
values these models had before their options were params), and `model_label` says which fields the
file does not record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from climbpose import __version__
from climbpose.core.config import Params
from climbpose.core.errors import InputError
from climbpose.core.io import atomic_path
from climbpose.core.keypoints import NAMES as KEYPOINT_NAMES
from climbpose.core.resume import fingerprint
from climbpose.models import build_model, device_options


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when present, else the CPU; 'cuda' without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("train.device is cuda but no CUDA device is available; use auto or cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def new_model(name: str, seed: int, size: int, window: int, device: torch.device,
              options: dict[str, Any] | None = None) -> nn.Module:
    """A freshly initialised model with its registered `options`; the same seed gives the same weights."""
    torch.manual_seed(seed)
    return build_model(name, size=size, window=window, options=options, **device_options(name, device)).to(device)


# What a model file says about how it was made, beside its weights: everything `predict` and
# `report` need to use or label it without the params.yaml it was trained with.
DESCRIPTION_FIELDS = ("model", "options", "keypoints", "size", "window", "step", "c", "sigma", "experiment", "s", "seed",
                      "stage", "params_hash", "code_version")


def describe_run(params: Params, stage: str, code_files: list[Path]) -> dict[str, Any]:
    """The description of a model trained by `stage` under `params` with the given source files."""
    return {"model": params.model, "options": params.options_of(params.model), "keypoints": len(KEYPOINT_NAMES), "size": params.heatmaps.size,
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
    try:
        model = build_model(payload["model"], size=payload["size"], window=payload["window"],
                            options=payload.get("options"), **device_options(payload["model"], device))
    except ValueError as error:  # a model this code does not register, or an option it does not know
        raise InputError(f"{path}: {error}") from None
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload


def model_label(payload: dict[str, Any]) -> str:
    """One line naming a model file's model and how it was made; an older file says what it lacks."""
    # A file without `options` was built with the registered defaults (see the module docstring).
    missing = [key for key in DESCRIPTION_FIELDS if key not in payload and key != "options"]
    if "step" in missing:
        return (f"{payload.get('model', '?')} (window {payload.get('window', '?')}, {payload.get('size', '?')}x"
                f"{payload.get('size', '?')} maps); made before model files described their training: no step, c, "
                "experiment or s recorded")
    if missing:  # written by hand or by other code: say what is there and what is not, never a KeyError
        present = ", ".join(f"{key} {payload[key]}" for key in DESCRIPTION_FIELDS[2:] if key in payload)
        return f"{payload['model']} ({present}); the file records no {', '.join(missing)}"
    options = ", ".join(f"{key} {value}" for key, value in payload.get("options", {}).items())
    options = f" ({options})" if options else ""
    return (f"{payload['model']}{options}, experiment {payload['experiment']}, s={payload['s']}: window {payload['window']} "
            f"every {payload['step']} frame(s), {payload['size']}x{payload['size']} maps of mass c={payload['c']:g}, "
            f"sigma {payload['sigma']:g}; {payload['stage']} with seed {payload['seed']}, params {payload['params_hash']}, "
            f"code {payload['code_version']}")
