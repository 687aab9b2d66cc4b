"""What `predict` loads before the first frame (the trained model, its device, the frozen
estimator), through the library's own loaders, with their failures turned into one-line errors."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from climbpose.core.contract import DEVICES, ESTIMATORS
from climbpose.core.errors import InputError
from climbpose.heatmaps import MASS
from climbpose.estimator.base import Estimator
from climbpose.estimator.make import make_estimator
from climbpose.estimator.weights import ensure_weights
from climbpose.predict.errors import PredictError, first_line
from climbpose.models.file import load_model, resolve_device

MODEL_FILE = Path("models/finetuned.pt")  # what `make repro` trains, inside the project folder
ESTIMATOR_DIR = Path("models/estimator")


def _package_project() -> Path | None:
    """The project folder this package was installed from (an editable install or PYTHONPATH=src)."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "dvc.yaml").is_file() else None


def project_root(cwd: str | os.PathLike | None = None) -> Path:
    """Where `predict` looks for the pipeline's model and estimator when not told.

    The nearest folder at or above `cwd` that holds a dvc.yaml and a trained model (a clone, or a
    DVC experiment's copy); else the project this package comes from, so the command works from
    any folder; else `cwd` itself (an installed package outside any project).
    """
    here = Path(cwd or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file() and (folder / MODEL_FILE).is_file():
            return folder
    return _package_project() or here


def default_model() -> Path:
    return project_root() / MODEL_FILE


def default_estimator_dir() -> Path:
    return project_root() / ESTIMATOR_DIR


def load_trained_model(path: str | os.PathLike, device: torch.device) -> tuple[nn.Module, dict[str, Any]]:
    """`models.file.load_model` with one-line errors: a missing file points to `make repro`."""
    path = Path(path)
    if not path.is_file():
        raise PredictError(f"{path}: no trained model here; run `make repro` to train one, or pass --model PATH")
    try:
        with warnings.catch_warnings():  # torch's own warnings about a foreign file; the error below says it
            warnings.simplefilter("ignore")
            return load_model(path, device)
    except Exception as e:  # a corrupt or foreign file: any error from torch.load or the state dict
        raise PredictError(f"{path}: cannot load as a climbpose model file ({first_line(e)})") from None


def window_settings(payload: dict[str, Any], path: Path, step: int | None, c: float | None) -> tuple[int, float, str | None]:
    """The frame step and heatmap mass the model was trained with, from its file.

    An option that disagrees with the file is an error (a model trained on every 2nd frame run on
    every frame is silently wrong). A file made before model files recorded them keeps working:
    the options, else step 1 and the default mass, and a message saying so.
    """
    recorded = {"step": payload.get("step"), "c": payload.get("c")}
    given = {"step": step, "c": c}
    if recorded["step"] is None:
        chosen = (step or 1, c if c is not None else MASS)
        return (*chosen, f"{path}: the file does not record its frame step and heatmap mass (made by an older "
                         f"version); using step {chosen[0]} and c {chosen[1]:g}: pass --step/--c if it was trained otherwise")
    for option, value in given.items():
        if value is not None and float(value) != float(recorded[option]):
            raise PredictError(f"--{option} {value:g}: {path} was trained with {option} {recorded[option]:g}; "
                               f"leave --{option} out (the file's value is used) or pass a model trained that way")
    return int(recorded["step"]), float(recorded["c"]), None


def choose_device(name: str) -> torch.device:
    """`models.file.resolve_device`, with its errors worded for this command's --device option."""
    if name not in DEVICES:
        raise PredictError(f"--device {name}: choose auto, cpu or cuda")
    try:
        return resolve_device(name)
    except InputError:  # the only failure left: cuda asked for, none present; worded for train.device
        raise PredictError("--device cuda: no CUDA device is available; use --device auto or cpu") from None


def open_estimator(kind: str, clip_name: str, size: int, estimator_dir: Path, precomputed: Path | None,
                   threads: int) -> Estimator:
    """The frozen estimator for one clip, ready for its first frame.

    blazepose: weights in `estimator_dir`, fetched there if missing. precomputed: the npz at
    `precomputed`, or `<precomputed>/<clip_name>.npz` when it names a folder.
    """
    if kind == "blazepose":
        try:
            ensure_weights(estimator_dir)
        except Exception as e:
            raise PredictError(f"{estimator_dir}: BlazePose weights are missing and fetching them failed "
                               f"({first_line(e)})") from None
        estimator = make_estimator("blazepose", model_dir=estimator_dir, heatmap_size=size, num_threads=threads,
                                   fetch=False)
        estimator.reset()
        return estimator
    if kind == "precomputed":
        if precomputed is None:
            raise PredictError("--estimator precomputed needs --precomputed FILE.npz (or a folder with "
                               f"{clip_name}.npz)")
        file = precomputed if precomputed.suffix == ".npz" else precomputed / f"{clip_name}.npz"
        try:
            return make_estimator("precomputed", directory=file.parent, video=file.stem, heatmap_size=size)
        except Exception as e:  # missing file, not an npz, missing keys, wrong shapes or size
            message = first_line(e)
            raise PredictError(message if str(file) in message else f"{file}: {message}") from None
    raise PredictError(f"--estimator {kind}: choose {' or '.join(ESTIMATORS)}")
