"""The model registry: every temporal model's name, label, class and options, in one table.

Everything that needs to know which models exist reads it: params.yaml's `model`,
`pretrain.skip_models` and `model_options` are checked against it (`core.config`),
`climbpose.models.build_model` builds from it, the tables and `climbpose report` take their rows'
labels and order from it, and the tests iterate over it. Adding a model is one file under
`climbpose/models/` and one `register` call at the end of this module
(docs/extending.md#adding-a-temporal-model).

It names each model's class by its module path and imports nothing of torch or the models, so
reading params.yaml stays fast and free of the heavy imports; a model's module is imported only
when one is built.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

# Which of the window's dimensions a model's constructor takes, by keyword.
SHAPE_ARGUMENTS = ("num_keypoints", "size", "window")
OPTION_TYPES = (bool, int, float)


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    `factory` is "package.module:Class" (any importable module, not only this package's).
    `shape` says which of SHAPE_ARGUMENTS its constructor takes. `fixed` are constructor
    arguments that define this entry (the two bi-ConvLSTMs are one class in two modes). `options`
    are the constructor arguments that change the model's function and that params.yaml's
    `model_options.<name>` may set, with their defaults; a trained model file records the values it
    was built with. `cuda_options` are arguments for CUDA only that leave the function unchanged.
    """

    name: str
    label: str
    factory: str
    shape: tuple[str, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, bool | int | float] = field(default_factory=dict)
    cuda_options: Mapping[str, Any] = field(default_factory=dict)
    thesis: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(f"model name {self.name!r}: lower case letters, digits and '_' only")
        if not re.fullmatch(r"[\w.]+:\w+", self.factory):
            raise ValueError(f"model {self.name}: factory must be 'package.module:Class', got {self.factory!r}")
        unknown = sorted(set(self.shape) - set(SHAPE_ARGUMENTS))
        if unknown:
            raise ValueError(f"model {self.name}: unknown shape argument {unknown[0]!r}; valid: {', '.join(SHAPE_ARGUMENTS)}")
        for option, default in self.options.items():
            if type(default) not in OPTION_TYPES:
                raise ValueError(f"model {self.name}: option {option} needs a bool, int or float default, got {default!r}")
        clash = sorted(set(self.options) & (set(self.fixed) | set(SHAPE_ARGUMENTS)))
        if clash:
            raise ValueError(f"model {self.name}: option {clash[0]!r} is also a fixed or shape argument")

    def model_class(self) -> type:
        module, _, name = self.factory.partition(":")
        return getattr(importlib.import_module(module), name)

    def resolved_options(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults with `given` laid over them, each checked against its default's type."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            valid = ", ".join(self.options) or "none"
            raise ValueError(f"model {self.name} has no option {unknown[0]!r} (its options: {valid})")
        resolved = dict(self.options)
        for option, value in given.items():
            resolved[option] = _checked_option(self.name, option, value, type(self.options[option]))
        return resolved


def _checked_option(model: str, option: str, value: Any, kind: type) -> Any:
    where = f"model_options.{model}.{option}"
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} must be a number, not {value!r}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{where} must be an integer, not {value!r}")
        return int(value)
    return float(value)


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry; a name can be registered once."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered already")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a model (for tests that register a model of their own)."""
    _REGISTRY.pop(name, None)


def model_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(model_names())}") from None


def model_names() -> tuple[str, ...]:
    """Every registered model, the thesis' four first, in registration order."""
    return tuple(_REGISTRY)


def thesis_models() -> tuple[str, ...]:
    """The thesis' four models in its order: the rows its tables always have."""
    return tuple(name for name, spec in _REGISTRY.items() if spec.thesis)


def label_of(name: str) -> str:
    """A model's name in tables; an unregistered name (a run of since-removed code) as it is."""
    spec = _REGISTRY.get(name)
    return spec.label if spec is not None else name


# The thesis' four (docs/design.md#models), exactly as specified: nothing about them is a param.
register(ModelSpec("conv3d", "Conv3D", "climbpose.models.conv3d:Conv3D", ("num_keypoints",),
                   cuda_options={"banded": True}, thesis=True))
register(ModelSpec("deciwatch", "DeciWatch", "climbpose.models.deciwatch:DeciWatch",
                   ("num_keypoints", "size", "window"), thesis=True))
register(ModelSpec("bi_convlstm_sum", "bi-ConvLSTM sum", "climbpose.models.convlstm:BiConvLSTM",
                   ("num_keypoints", "size"), fixed={"mode": "sum"}, thesis=True))
register(ModelSpec("bi_convlstm_concat", "bi-ConvLSTM concat", "climbpose.models.convlstm:BiConvLSTM",
                   ("num_keypoints", "size"), fixed={"mode": "concat"}, thesis=True))
# This project's models (docs/design.md#the-projects-models), each starting as the identity.
register(ModelSpec("conv3d_depthwise", "Depthwise Conv3D", "climbpose.models.depthwise:DepthwiseConv3D",
                   ("num_keypoints",), options={"kernel_size": 5, "trust_radius": 2}))
register(ModelSpec("flip_depthwise", "Flip gate + depthwise Conv3D", "climbpose.models.flip:FlipDepthwise",
                   ("num_keypoints",), options={"kernel_size": 3, "trust_radius": 2, "gate_lr_scale": 100.0}))
register(ModelSpec("lapse_selector", "Lapse selector", "climbpose.models.selector:LapseSelector",
                   ("num_keypoints",), options={"hidden": 16}))
register(ModelSpec("smoothnet", "SmoothNet", "climbpose.models.smoothnet:SmoothNet", ("window",),
                   options={"width": 64, "blocks": 2}))
# The baseline every table compares with: the estimator's maps unchanged.
register(ModelSpec("identity", "Identity", "climbpose.models.identity:Identity"))
