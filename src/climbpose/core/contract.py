"""The contract between stages: the names, thresholds and metric keys every module agrees on.

One place for what several stages must read the same way: which thresholds PCK is reported at and
which one selects an epoch (docs/design.md#training-recipe, docs/design.md#pck), how a metric key is
spelled and read back, the split names, the device and estimator names that params.yaml may
hold (model names are `core.model_registry`'s), and the headline keys of metrics/*.json. It imports nothing of the project, so any module may
import it.
"""

from __future__ import annotations

import math
import re

THRESHOLDS: tuple[float, ...] = (0.05, 0.1, 0.2)  # PCK@0.05, @0.1, @0.2 in every table and metrics file
PART_THRESHOLD = 0.2  # per-body-part tables (Tables 3/4)
# The kept epoch (docs/design.md#training-recipe): best validation PCK@0.2 in pretraining, @0.05 in finetuning.
PRETRAIN_SELECT_THRESHOLD = 0.2
FINETUNE_SELECT_THRESHOLD = 0.05

EVAL_SPLITS: tuple[str, ...] = ("val", "test", "ood")  # ood: the held-out rendering domain

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
ESTIMATORS: tuple[str, ...] = ("blazepose", "precomputed")

_KEY = re.compile(r"^(?P<prefix>.+?)_(?P<whole>\d{3})(?:p(?P<fraction>\d+))?(?:_(?P<part>[a-z_]+))?$")


def threshold_key(threshold: float) -> str:
    """Key fragment of a threshold: its percentage as three digits (0.05 -> '005', 0.1 -> '010',
    0.2 -> '020', 1.0 -> '100'); a fractional percentage uses 'p' for the point (0.025 -> '002p5'),
    because DVC splits metric keys at dots (docs/design.md#metric-keys)."""
    percent = round(float(threshold) * 100, 6)
    if percent <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    whole = math.floor(percent)
    if percent == whole:
        return f"{whole:03d}"
    return f"{whole:03d}p{f'{percent - whole:.6f}'[2:].rstrip('0')}"


def part_slug(name: str) -> str:
    """Key fragment of a per-part row name: 'Index finger' -> 'index_finger'."""
    return "_".join(name.lower().split())


def metric_key(prefix: str, threshold: float, part: str | None = None) -> str:
    """A flat metric key: metric_key('model_pck', 0.2) -> 'model_pck_020'; with part 'Shoulder' ->
    'model_pck_020_shoulder'; metric_key('identity_thr', 0.05) -> 'identity_thr_005'."""
    key = f"{prefix}_{threshold_key(threshold)}"
    return key if part is None else f"{key}_{part_slug(part)}"


def parse_metric_key(key: str) -> tuple[str, float, str | None] | None:
    """`metric_key` read back: (prefix, threshold, part slug or None); None for a key without a threshold."""
    match = _KEY.match(key)
    if match is None:
        return None
    percent = float(f"{match['whole']}.{match['fraction'] or 0}")
    return match["prefix"], round(percent / 100, 8), match["part"]


def headline_keys(model_prefix: str = "model") -> list[str]:
    """What metrics/{val,test,ood}.json hold, the numbers `dvc metrics show` prints: PCK of the model,
    of the identity function (the estimator alone, read at its argmax cells) and of the estimator's
    maps read between cells (`subcells`, the strongest reading that needs no model: a model that only
    matches it has learnt nothing) at each threshold, and the keypoints the model breaks at the
    loosest one."""
    keys = [metric_key(f"{row}_pck", t) for row in (model_prefix, "identity", "subcells") for t in THRESHOLDS]
    return keys + [metric_key(f"{model_prefix}_broken", THRESHOLDS[-1])]
