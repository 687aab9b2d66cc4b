"""Frozen pose estimators: frames in, 25 heatmaps over a person box out (docs/design.md#the-estimator).

`make.make_estimator("blazepose", num_threads=2)` or `make.make_estimator("precomputed", directory=...)`;
see `base` for the interface and how to add an estimator.

Import the submodules themselves (`base`, `make`, `blazepose`, `precomputed`, `weights`, `extract`): this
file imports nothing, so fetching the weights does not load (or depend on) the estimators.
"""
