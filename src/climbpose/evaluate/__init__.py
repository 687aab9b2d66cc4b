"""Evaluation of pose estimates against ground truth (docs/design.md#pck): PCK (`pck`), what a row breaks and
fixes against the identity function (`harm`), scoring windows of a split (`rows`), the classical
filter baselines (`filters`), the held-out domain (`ood`), inference cost (`cost`) and one run's
whole evaluation (`run`). Thresholds and metric keys are the contract's (`climbpose.core.contract`).

Import the submodules themselves: this file imports nothing, so using PCK does not load the rest.
"""
