"""Classical temporal filters over keypoint trajectories: the untrained baselines beside the models.

The question they answer: does a learned temporal model beat a cheap smoothing filter applied to
the estimator's own output? Each filter reads the argmax trajectories of one window, (T, K, 2)
cells over T frames, and smooths every keypoint coordinate along time, independently per window
(a window is all a model sees either). Two filters, both without training:

* Savitzky-Golay (scipy.signal.savgol_filter): a least-squares polynomial fit in a sliding window;
  at the window's edges it fits the polynomial to the first/last `window_length` samples
  (mode "interp"), so a polynomial of degree <= polyorder passes through unchanged.
* One-Euro (Casiez, Roussel and Vogel, CHI 2012): an exponential low-pass filter whose cutoff
  rises with the filtered speed, so slow motion is smoothed hard and fast motion lags little.
  It is causal: frame 0 passes through, later frames lag.

Time runs in video frames: `rate` is samples per frame (1, or 0.5 for experiment 3's every-2nd-frame
windows), so cutoffs are in cycles per frame (x fps for Hz) and mean the same at both frame rates.
`FilterModel` wraps a filter as a parameter-free "model" on coordinates, so it is scored by exactly
the code that scores the learned models (`climbpose.evaluate.cells.window_cells`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.signal import savgol_filter
from torch import nn

__all__ = ["FilterModel", "FilterSpec", "choose", "filter_grid", "one_euro", "savgol"]


def savgol(trajectories: np.ndarray, window_length: int, polyorder: int) -> np.ndarray:
    """Savitzky-Golay smoothing along axis 1 of (N, T, ...) trajectories, one window per row.

    window_length is clipped to the largest odd length <= T, because the edge fit needs that many
    samples; a length of 1 (or polyorder >= the clipped length) returns the input unchanged.
    """
    x = np.asarray(trajectories, dtype=np.float64)
    frames = x.shape[1]
    length = min(int(window_length), frames if frames % 2 else frames - 1)
    if length <= polyorder or length < 2:
        return x.copy()
    return savgol_filter(x, length, int(polyorder), axis=1, mode="interp")


def _alpha(cutoff: np.ndarray | float, period: float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass filter with this cutoff, sampled every `period`:
    alpha = 1 / (1 + tau / period) with time constant tau = 1 / (2 pi cutoff) (Casiez et al., eq. 2)."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / period)


def one_euro(trajectories: np.ndarray, min_cutoff: float, beta: float, d_cutoff: float, rate: float = 1.0) -> np.ndarray:
    """The One-Euro filter along axis 1 of (N, T, ...) trajectories, restarted in every row.

    Per coordinate, with sampling period Te = 1 / rate:
      frame 0: x^ = x, dx^ = 0 (nothing to smooth against yet);
      frame i: dx = (x_i - x^_{i-1}) * rate, dx^ = low-pass(dx, d_cutoff),
               cutoff = min_cutoff + beta * |dx^|, x^_i = low-pass(x_i, cutoff).
    beta = 0 gives a plain exponential filter with alpha from min_cutoff.
    """
    if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0 or rate <= 0:
        raise ValueError(f"One-Euro needs min_cutoff, d_cutoff, rate > 0 and beta >= 0; got {min_cutoff}, {d_cutoff}, {rate}, {beta}")
    x = np.asarray(trajectories, dtype=np.float64)
    period = 1.0 / rate
    out = np.empty_like(x)
    out[:, 0] = x[:, 0]
    speed = np.zeros_like(x[:, 0])
    alpha_d = _alpha(d_cutoff, period)
    for i in range(1, x.shape[1]):
        # The speed is taken against the previous *filtered* value, as in the published pseudocode.
        speed = alpha_d * (x[:, i] - out[:, i - 1]) * rate + (1.0 - alpha_d) * speed
        alpha = _alpha(min_cutoff + beta * np.abs(speed), period)
        out[:, i] = alpha * x[:, i] + (1.0 - alpha) * out[:, i - 1]
    return out


@dataclass(frozen=True)
class FilterSpec:
    """One filter with fixed settings: `kind` is "savgol" or "one_euro"; `settings` its keyword arguments."""

    kind: str
    settings: tuple[tuple[str, float], ...]

    def apply(self, trajectories: np.ndarray, rate: float = 1.0) -> np.ndarray:
        kwargs = dict(self.settings)
        if self.kind == "savgol":
            return savgol(trajectories, int(kwargs["window_length"]), int(kwargs["polyorder"]))
        if self.kind == "one_euro":
            return one_euro(trajectories, rate=rate, **kwargs)
        raise ValueError(f"unknown filter {self.kind!r}; valid: savgol, one_euro")

    def metrics(self) -> dict[str, float]:
        """The settings as flat metric entries, e.g. {'savgol_window_length': 5.0}."""
        return {f"{self.kind}_{name}": float(value) for name, value in self.settings}

    def __str__(self) -> str:
        return f"{self.kind}(" + ", ".join(f"{k}={v:g}" for k, v in self.settings) + ")"


def filter_grid(savgol_windows: Sequence[int], savgol_polyorders: Sequence[int], one_euro_min_cutoffs: Sequence[float],
                one_euro_betas: Sequence[float], one_euro_d_cutoff: float) -> dict[str, list[FilterSpec]]:
    """Every candidate setting of each filter (chosen later on validation); savgol skips polyorder >= window."""
    return {
        "savgol": [FilterSpec("savgol", (("window_length", float(w)), ("polyorder", float(p))))
                   for w, p in itertools.product(savgol_windows, savgol_polyorders) if p < w],
        "one_euro": [FilterSpec("one_euro", (("min_cutoff", float(c)), ("beta", float(b)), ("d_cutoff", float(one_euro_d_cutoff))))
                     for c, b in itertools.product(one_euro_min_cutoffs, one_euro_betas)],
    }


class FilterModel(nn.Module):
    """A filter as a parameter-free model on coordinates (B, T, K, 2) -> (B, T, K, 2), in heatmap cells.

    input_kind "coordinates" makes `WindowSet` hand it each window's argmax trajectories of the
    estimator's heatmaps, and makes the evaluation read its output as keypoints directly.
    """

    input_kind = "coordinates"

    def __init__(self, spec: FilterSpec, rate: float = 1.0) -> None:
        super().__init__()
        self.spec, self.rate = spec, rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        smoothed = self.spec.apply(x.detach().cpu().numpy(), self.rate)
        return torch.from_numpy(smoothed).to(device=x.device, dtype=x.dtype)


def choose(candidates: Sequence[FilterSpec], score: Callable[[FilterSpec], Sequence[float]]) -> tuple[FilterSpec, list[tuple[FilterSpec, tuple[float, ...]]]]:
    """The candidate with the highest score tuple (compared in order; NaN counts as lowest; the first
    candidate wins a complete tie, so grid order decides) and every candidate's scores."""
    scored = [(spec, tuple(float(v) for v in score(spec))) for spec in candidates]
    if not scored:
        raise ValueError("no filter settings to choose from")

    def rank(i: int) -> tuple:
        return tuple(v if math.isfinite(v) else -math.inf for v in scored[i][1]) + (-i,)
    return scored[max(range(len(scored)), key=rank)][0], scored
