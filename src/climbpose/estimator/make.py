"""`make_estimator(name, **options)`: a registered estimator by name.

The built-in estimators register themselves (`base.register`) when their modules are imported,
which this module does, so the registry in `base` never has to import its own members.
"""

from __future__ import annotations

from typing import Any

from climbpose.estimator import blazepose, precomputed  # noqa: F401  the built-in ones register on import
from climbpose.estimator.base import ESTIMATOR_CLASSES, Estimator


def make_estimator(name: str, **kwargs: Any) -> Estimator:
    """Build a registered estimator by name; an unknown name raises ValueError listing the valid ones."""
    try:
        cls = ESTIMATOR_CLASSES[name]
    except KeyError:
        raise ValueError(
            f"unknown estimator {name!r}; valid names: {', '.join(sorted(ESTIMATOR_CLASSES))}"
        ) from None
    return cls(**kwargs)
