"""Training and validation windows, gathered by index from tensors that stay on the device.

A `WindowSet` holds every frame of a dataset on the training device once, plus (N, T) frame
indices of its windows. A batch is an index gather: no per-step host-to-device copy and no
Python per sample. Two sources fill it:

* finetuning: the estimator's preprocessed heatmaps and the ground truth (docs/design.md#ground-truth);
* pretraining: clean keypoint cells from which noisy inputs are rendered on the device,
  fresh for every epoch from a generator seeded by (seed, epoch), so a resumed run draws
  exactly the noise an uninterrupted one would have drawn (docs/design.md#input-noise-and-the-three-experiments).

Models that read coordinates (DeciWatch, SmoothNet) get the peak cells of their inputs instead of
heatmaps; for pretraining that is the noisy cell itself, so nothing is rendered for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from climbpose.heatmaps import add_keypoint_noise, render_gaussians
from climbpose.data.input_kinds import model_inputs, reads_coordinates

# docs/design.md#input-noise-and-the-three-experiments: experiment 1 and 3 blur each noisy keypoint
# with one of these sigmas.
NOISE_SIGMAS = (1.0, 1.5, 2.0, 2.5, 3.0)
NOISE_STD_PER_S = 2.95


@dataclass
class Batch:
    """One batch of windows. `inputs`/`targets` are heatmaps (B, T, K, H, W) or cells (B, T, K, 2)."""

    inputs: torch.Tensor
    targets: torch.Tensor
    target_cells: torch.Tensor  # (B, T, K, 2) for PCK
    present: torch.Tensor  # (B, T, K) bool: keypoints that count in the loss and the metric


@dataclass
class NoiseSpec:
    """Pretraining input noise of one experiment: shift std in cells and the blur sigmas to draw from."""

    std: float
    sigmas: tuple[float, ...]

    @classmethod
    def for_run(cls, experiment: int, s: int) -> "NoiseSpec":
        return cls(std=s * NOISE_STD_PER_S, sigmas=(1.0,) if experiment == 2 else NOISE_SIGMAS)


class WindowSet:
    """Windows over device-resident frames; yields `Batch`es for one kind of model input."""

    def __init__(
        self,
        windows: torch.Tensor,
        target_cells: torch.Tensor,
        present: torch.Tensor,
        size: int,
        c: float,
        sigma: float,
        input_kind: str,
        inputs: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        noise: NoiseSpec | None = None,
        source_frames: np.ndarray | None = None,
    ) -> None:
        if (inputs is None) == (noise is None):
            raise ValueError("a WindowSet takes either estimator inputs or a noise spec")
        self.windows = windows  # (N, T) flat frame indices
        self.target_cells = target_cells  # (F, K, 2)
        self.present = present  # (F, K)
        self.inputs = inputs  # (F, K, H, W) estimator heatmaps, already normalised
        self.targets = targets  # (F, K, H, W) or None: rendered from target_cells
        self.size, self.c, self.sigma = size, c, sigma
        self.input_kind = input_kind
        self.noise = noise
        self.source_frames = source_frames  # frame i here is frame source_frames[i] of the source dataset
        self.coordinates = reads_coordinates(input_kind)
        if inputs is not None and input_kind == "landmarks":
            self.input_cells = inputs.float()  # (F, K, 2) cells already: the estimator's regressed landmarks
        elif inputs is not None and self.coordinates:
            # Coordinate models read each frame's peaks: compute them once instead of every step.
            self.input_cells = torch.cat([model_inputs(chunk.float(), input_kind) for chunk in inputs.split(4096)])

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def device(self) -> torch.device:
        return self.windows.device

    def batch(self, rows: torch.Tensor, generator: torch.Generator | None = None) -> Batch:
        """Gather the windows `rows`; pretraining noise is drawn from `generator`."""
        frames = self.windows[rows]  # (B, T)
        cells = self.target_cells[frames]
        present = self.present[frames]
        if self.noise is not None:
            noisy = add_keypoint_noise(cells, self.noise.std, generator=generator, size=self.size)
            if self.coordinates:  # the peak of a Gaussian rendered at the noisy cell is that cell
                return Batch(noisy.float(), cells.float(), cells, present)
            choice = torch.randint(len(self.noise.sigmas), noisy.shape[:-1], generator=generator, device=noisy.device)
            sigmas = torch.tensor(self.noise.sigmas, device=noisy.device)[choice]
            # A keypoint the dataset lacks (Penn Action's hands, say) gets an empty input map, as
            # an estimator that found nothing would give, not a blob at a made-up cell.
            inputs = render_gaussians(noisy, sigmas, self.size, self.c, present=present)
            return Batch(inputs, self._target_maps(frames, cells, present), cells, present)
        if self.coordinates:
            return Batch(self.input_cells[frames], cells.float(), cells, present)
        return Batch(self.inputs[frames].float(), self._target_maps(frames, cells, present), cells, present)

    def _target_maps(self, frames: torch.Tensor, cells: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        if self.targets is not None:
            return self.targets[frames].float()
        return render_gaussians(cells, self.sigma, self.size, self.c, present=present)

    def epoch(self, batch_size: int, generator: torch.Generator, limit: int = 0) -> Iterator[Batch]:
        """Shuffled batches of one epoch (at most `limit` windows when limit > 0); the last may be short."""
        order = torch.randperm(len(self), generator=generator, device=generator.device)
        if limit > 0:
            order = order[:limit]
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start:start + batch_size], generator)

    def in_order(self, batch_size: int, generator: torch.Generator | None = None) -> Iterator[Batch]:
        """All windows in order (validation, testing)."""
        rows = torch.arange(len(self), device=self.device)
        for start in range(0, len(self), batch_size):
            yield self.batch(rows[start:start + batch_size], generator)
