"""Typed, validated view of params.yaml: read once at the start of every stage.

Each section of params.yaml is a frozen dataclass. params.yaml is the only source of values
(no defaults here), and loading rejects unknown or missing keys and out-of-range values with a
one-line `ParamsError` naming the key, before any heavy work.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from climbpose.core.errors import InputError

from climbpose.core.keypoints import NAMES as KEYPOINT_NAMES
from climbpose.core.contract import DEVICES, ESTIMATORS
from climbpose.core.model_registry import model_names, model_spec

# Where finetuning data can come from (`data.source`) and what pretraining can read
# (`pretrain.sources`); docs/data-formats.md#your-own-data documents each layout.
DATA_SOURCES = ("synthetic", "climbalong", "videos")
PRETRAIN_SOURCES = ("synthetic", "penn_action", "brace")
# The synthesize stage's output: the only folder `data.source: synthetic` reads.
SYNTHETIC_DIR = "data/synthetic"


class ParamsError(InputError):
    """params.yaml holds an unknown key or an invalid value."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ParamsError(f"params.yaml: {message}")


def _require_one_of(what: str, value: str, choices: tuple[str, ...]) -> None:
    _require(value in choices, f"{what} '{value}' is not one of {', '.join(choices)}")


@dataclass(frozen=True)
class RenderParams:
    """What both rendered datasets (the training videos and the held-out domain) are made of."""

    videos: int
    frames: int
    width: int
    height: int
    fps: int
    workers: int


@dataclass(frozen=True)
class SynthesizeParams(RenderParams):
    """The embedded default dataset: procedurally rendered climbing videos, and `ground_videos`
    more of people moving on the floor in front of the wall (facing the camera, mostly): without
    them no training video shows anyone but a climber facing the wall, so nothing could learn when
    a pose the estimator reads as facing the camera really is (docs/results.md#the-default-model-undoing-whole-pose-flips)."""

    ground_videos: int

    def validate(self) -> None:
        _check_rendering("synthesize", self)
        _require(self.ground_videos >= 0, "synthesize.ground_videos must be >= 0")


@dataclass(frozen=True)
class OodParams(RenderParams):
    """The out-of-domain test set: videos of the held-out rendering domain (synth.domain)."""

    def validate(self) -> None:
        _check_rendering("ood", self)


def _check_rendering(section: str, p: RenderParams) -> None:
    """The checks both rendered datasets share (the training videos and the held-out domain)."""
    for key in ("videos", "frames", "fps", "workers"):
        _require(getattr(p, key) >= 1, f"{section}.{key} must be >= 1")
    _require(p.width >= 64 and p.height >= 64, f"{section}.width and {section}.height must be >= 64")


@dataclass(frozen=True)
class DataParams:
    """Where the finetuning videos, estimator heatmaps and annotations come from."""

    source: str
    dir: str
    min_first_frame_keypoints: int
    cut_at_empty_box: bool
    keypoint_map: dict[str, str]
    frame_number_base: int

    def validate(self) -> None:
        _require_one_of("data.source", self.source, DATA_SOURCES)
        _require(bool(self.dir.strip()), "data.dir must name a folder")
        # Path() drops a trailing slash and a leading "./", so those spellings count as the same folder.
        synthetic = Path(self.dir).as_posix() == SYNTHETIC_DIR
        if self.source == "synthetic":
            _require(synthetic, f"data.dir must be {SYNTHETIC_DIR} with data.source=synthetic (the synthesize stage writes there)")
        else:
            _require(not synthetic, f"data.dir must name your {self.source} folder, not {SYNTHETIC_DIR} (the synthesize stage's output)")
        _require(0 <= self.min_first_frame_keypoints <= len(KEYPOINT_NAMES),
                 f"data.min_first_frame_keypoints must be in [0, {len(KEYPOINT_NAMES)}]")
        _require(self.frame_number_base >= 0, "data.frame_number_base must be >= 0")
        for name, target in self.keypoint_map.items():
            _require(target == "" or target in KEYPOINT_NAMES,
                     f"data.keypoint_map.{name}: '{target}' is not a keypoint of the 25-keypoint layout (or '' to drop it)")
        targets = [t for t in self.keypoint_map.values() if t]
        _require(len(targets) == len(set(targets)), "data.keypoint_map maps two names onto the same keypoint")


@dataclass(frozen=True)
class EstimatorParams:
    """The frozen single-frame estimator and where its weights come from."""

    name: str
    mediapipe_version: str
    box_margin: float
    precomputed_dir: str

    def validate(self) -> None:
        _require_one_of("estimator.name", self.name, ESTIMATORS)
        _require(0.0 <= self.box_margin <= 1.0, "estimator.box_margin must be in [0, 1]")
        _require(self.name != "precomputed" or bool(self.precomputed_dir), "estimator.precomputed_dir is required with estimator.name=precomputed")


@dataclass(frozen=True)
class ExtractParams:
    """How the extract stage spreads the estimator over the machine."""

    workers: int
    threads: int

    def validate(self) -> None:
        _require(self.workers >= 1, "extract.workers must be >= 1")
        _require(self.threads >= 1, "extract.threads must be >= 1")


@dataclass(frozen=True)
class HeatmapParams:
    """The heatmap representation shared by estimator output, targets and models (docs/design.md#heatmaps)."""

    size: int
    c: float
    sigma: float

    def validate(self) -> None:
        _require(self.size >= 8, "heatmaps.size must be >= 8")
        _require(self.c > 0, "heatmaps.c must be > 0")
        _require(self.sigma > 0, "heatmaps.sigma must be > 0")


@dataclass(frozen=True)
class SplitParams:
    """Windows and the train/validation/test split (docs/design.md#windows-and-the-split)."""

    window: int
    train: float
    val: float
    test: float
    by: str
    block: int

    def validate(self) -> None:
        _require(self.window >= 2, "split.window must be >= 2")
        for name in ("train", "val", "test"):
            _require(0.0 < getattr(self, name) < 1.0, f"split.{name} must be in (0, 1)")
        _require(abs(self.train + self.val + self.test - 1.0) < 1e-6, "split.train + split.val + split.test must sum to 1")
        _require_one_of("split.by", self.by, ("frames", "videos"))
        _require(self.block >= 1, "split.block must be >= 1")


@dataclass(frozen=True)
class EvaluateParams:
    """PCK settings (docs/design.md#pck), the classical filter baselines' search grids, inference timing."""

    normaliser: str
    feed_targets: bool
    savgol_windows: tuple[int, ...]
    savgol_polyorders: tuple[int, ...]
    one_euro_min_cutoffs: tuple[float, ...]
    one_euro_betas: tuple[float, ...]
    one_euro_d_cutoff: float
    cost_batch_size: int

    def validate(self) -> None:
        _require_one_of("evaluate.normaliser", self.normaliser, ("torso", "bbox"))
        _require(len(self.savgol_windows) > 0 and all(w >= 3 and w % 2 == 1 for w in self.savgol_windows),
                 "evaluate.savgol_windows must be odd lengths >= 3")
        _require(len(self.savgol_polyorders) > 0 and all(p >= 0 for p in self.savgol_polyorders), "evaluate.savgol_polyorders must be >= 0")
        _require(any(p < w for p in self.savgol_polyorders for w in self.savgol_windows),
                 "evaluate.savgol_polyorders: at least one must be smaller than a window length")
        _require(len(self.one_euro_min_cutoffs) > 0 and all(c > 0 for c in self.one_euro_min_cutoffs), "evaluate.one_euro_min_cutoffs must be > 0")
        _require(len(self.one_euro_betas) > 0 and all(b >= 0 for b in self.one_euro_betas), "evaluate.one_euro_betas must be >= 0")
        _require(self.one_euro_d_cutoff > 0, "evaluate.one_euro_d_cutoff must be > 0")
        _require(self.cost_batch_size >= 0, "evaluate.cost_batch_size must be >= 0 (0: no timing)")


@dataclass(frozen=True)
class PretrainParams:
    """Pretraining on clean keypoint sequences with synthetic input noise
    (docs/design.md#pretraining, docs/design.md#training-recipe)."""

    sources: tuple[str, ...]
    penn_action_dir: str
    brace_dir: str
    sequences: int
    frames: int
    val_fraction: float
    max_epochs: int
    windows_per_epoch: int
    batch_size: int
    lr: float
    skip_models: tuple[str, ...]

    def validate(self) -> None:
        _require(len(self.sources) > 0, "pretrain.sources must list at least one source")
        for name in self.skip_models:
            _require_one_of("pretrain.skip_models:", name, model_names())
        for source in self.sources:
            _require_one_of("pretrain.sources:", source, PRETRAIN_SOURCES)
        _require(len(set(self.sources)) == len(self.sources), "pretrain.sources lists a source twice")
        _require(bool(self.penn_action_dir.strip()) and bool(self.brace_dir.strip()),
                 "pretrain.penn_action_dir and pretrain.brace_dir must name folders (dvc.yaml depends on them)")
        _require(self.sequences >= 2, "pretrain.sequences must be >= 2")
        _require(self.frames >= 2, "pretrain.frames must be >= 2")
        _require(0.0 < self.val_fraction < 1.0, "pretrain.val_fraction must be in (0, 1)")
        _check_budget("pretrain", self.max_epochs, self.windows_per_epoch, self.batch_size, self.lr)


@dataclass(frozen=True)
class FinetuneParams:
    """Finetuning on the estimator's real heatmaps (docs/design.md#training-recipe)."""

    max_epochs: int
    windows_per_epoch: int
    batch_size: int
    lr: float

    def validate(self) -> None:
        _check_budget("finetune", self.max_epochs, self.windows_per_epoch, self.batch_size, self.lr)


def _check_budget(section: str, max_epochs: int, windows_per_epoch: int, batch_size: int, lr: float) -> None:
    # Pretraining may be skipped (0 epochs: finetuning starts from the model's initial weights).
    least = 0 if section == "pretrain" else 1
    _require(max_epochs >= least, f"{section}.max_epochs must be >= {least}")
    _require(windows_per_epoch >= 0, f"{section}.windows_per_epoch must be >= 0 (0: all)")
    _require(batch_size >= 1, f"{section}.batch_size must be >= 1")
    _require(lr > 0, f"{section}.lr must be > 0")


@dataclass(frozen=True)
class TrainParams:
    """Settings shared by both training stages: device, precision, compilation, the plateau schedule."""

    device: str
    precision: str
    compile: bool
    lr_patience: int
    stop_patience: int
    lr_factor: float
    nproc: int

    def validate(self) -> None:
        _require_one_of("train.device", self.device, DEVICES)
        _require_one_of("train.precision", self.precision, ("fp32", "bf16"))
        _require(self.lr_patience >= 1 and self.stop_patience >= 1, "train.lr_patience and train.stop_patience must be >= 1")
        _require(0.0 < self.lr_factor < 1.0, "train.lr_factor must be in (0, 1)")
        _require(self.nproc >= 1, "train.nproc must be >= 1")


@dataclass(frozen=True)
class Params:
    """The whole of params.yaml. `model`, `experiment` and `s` select one of the thesis' runs."""

    model: str
    # Each model's own options that change its function, by model name; unset ones take their
    # registered defaults (`core.model_registry`), and a model file records the values it was built with.
    model_options: dict[str, dict[str, object]]
    experiment: int
    s: int
    seed: int
    data: DataParams
    synthesize: SynthesizeParams
    ood: OodParams
    estimator: EstimatorParams
    extract: ExtractParams
    heatmaps: HeatmapParams
    split: SplitParams
    pretrain: PretrainParams
    finetune: FinetuneParams
    train: TrainParams
    evaluate: EvaluateParams

    def validate(self) -> None:
        _require_one_of("model", self.model, model_names())
        for name, options in self.model_options.items():
            _require_one_of("model_options:", name, model_names())
            try:
                model_spec(name).resolved_options(options)
            except ValueError as error:
                _require(False, str(error))
        _require(self.experiment in (1, 2, 3), f"experiment must be 1, 2 or 3, not {self.experiment}")
        _require(self.s in (1, 2), f"s must be 1 or 2, not {self.s}")
        for section in fields(self):
            value = getattr(self, section.name)
            if dataclasses.is_dataclass(value):
                value.validate()
        _require(self.heatmaps.size >= self.split.window, "heatmaps.size must be >= split.window")
        # Lengths that would only fail after hours of extraction, checked now: every window
        # spans (window - 1) * frame_step + 1 frames.
        span = (self.split.window - 1) * self.frame_step + 1
        if self.split.by == "frames":
            _require(self.split.block >= span, f"split.block ({self.split.block}) must be >= the window span ({span} frames "
                                               f"for split.window={self.split.window}, experiment {self.experiment})")
        if "synthetic" in self.pretrain.sources:
            _require(self.pretrain.frames >= span, f"pretrain.frames ({self.pretrain.frames}) must be >= the window span ({span} frames)")
        if self.data.source == "synthetic":
            _require(self.synthesize.frames >= span, f"synthesize.frames ({self.synthesize.frames}) must be >= the window span ({span} frames)")
        _require(self.ood.frames >= span, f"ood.frames ({self.ood.frames}) must be >= the window span ({span} frames)")

    def options_of(self, model: str) -> dict[str, Any]:
        """The options `model` is built with: params.yaml's `model_options.<model>` over its defaults."""
        return model_spec(model).resolved_options(self.model_options.get(model))

    @property
    def frame_step(self) -> int:
        """Frames between consecutive window frames: 2 for experiment 3 (half frame rate)."""
        return 2 if self.experiment == 3 else 1


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Convert a YAML value to the annotated type, or fail naming the key."""
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        _require(isinstance(value, dict), f"'{key}' must be a mapping")
        return _build(annotation, value, prefix=f"{key}.")
    if origin is dict:
        _require(isinstance(value, dict), f"'{key}' must be a mapping")
        key_type, value_type = typing.get_args(annotation)
        return {_coerce(k, key_type, key): _coerce(v, value_type, f"{key}.{k}") for k, v in value.items()}
    if origin is tuple:
        _require(isinstance(value, (list, tuple)), f"'{key}' must be a list")
        (item_type, _) = typing.get_args(annotation)
        return tuple(_coerce(v, item_type, key) for v in value)
    if annotation is object:  # checked by the section's validate(), which knows what it may hold
        return value
    if annotation is bool:
        _require(isinstance(value, bool), f"'{key}' must be true or false, not {value!r}")
        return value
    if annotation is int:
        _require(isinstance(value, int) and not isinstance(value, bool), f"'{key}' must be an integer, not {value!r}")
        return value
    if annotation is float:
        _require(isinstance(value, (int, float)) and not isinstance(value, bool), f"'{key}' must be a number, not {value!r}")
        # YAML spells .nan and .inf; neither is a usable setting, and NaN passes every '>' test.
        _require(math.isfinite(value), f"'{key}' must be a finite number, not {value!r}")
        return float(value)
    if annotation is str:
        _require(isinstance(value, (str, int, float)) and not isinstance(value, bool), f"'{key}' must be a string, not {value!r}")
        return str(value)
    raise TypeError(f"unsupported annotation {annotation} for {key}")  # a bug in this module, not in the params


def _build(cls: type, data: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ParamsError(f"params.yaml: unknown key '{prefix}{unknown[0]}'")
    missing = sorted(known - set(data))
    if missing:
        raise ParamsError(f"params.yaml: missing key '{prefix}{missing[0]}'")
    kwargs = {name: _coerce(value, hints[name], f"{prefix}{name}") for name, value in data.items()}
    return cls(**kwargs)


def params_from_dict(data: dict) -> Params:
    """Build and validate Params from a parsed params.yaml mapping."""
    _require(isinstance(data, dict), "the file must hold a mapping")
    params = _build(Params, data)
    params.validate()
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read, type-check and validate params.yaml; raises ParamsError with a one-line message."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML ({error.__class__.__name__})") from None
    return params_from_dict(data)
