"""The windowed refiner: one clip's detected frames through a temporal model, window by window.

How frames become model windows (the choices, all documented in
docs/user-guide.md#predict-on-a-new-video):

* Sequences: with `step` s, the frames t = r, r+s, r+2s, ... of each residue r form one sequence
  (s = 1: the whole clip; s = 2, experiment 3 of
  docs/design.md#input-noise-and-the-three-experiments: the even and the odd frames), and a
  sequence is cut at every frame where no person was found (or the box is empty). Windows are k
  consecutive frames of one piece, every start (stride 1), so they never contain a frame without
  a person; with s = 2 this is exactly the training rule (`data.windows.valid_windows`), where the
  skipped frame between two window frames need not have a person.
* A piece shorter than the window (a clip shorter than a window, or a short detection) gets one
  window padded by repeating its edge frames, floor((k-n)/2) copies of its first frame before it
  and the rest copies of its last frame after it, so its real frames sit in the middle of the
  window; only the real frames' outputs are used.
* Frames covered by several windows (up to k) combine them: the mean of the refined heatmaps of all
  covering windows, then the model's keypoint readout (`climbpose.models.read_keypoints`: the
  argmax, or the sub-cell peak), or the mean of the refined coordinates (DeciWatch, SmoothNet). The first and last frames of a piece are covered by fewer windows (one at the very
  edge); they still get an output from every window that holds them.
* Memory stays bounded for any length: a sequence is processed in chunks of `chunk` frames, keeping
  the last k-1 frames (and their partial sums) for the windows that straddle two chunks.

Every window goes through the model's own forward (`model(windows)`), `batch_size` windows per
call, under `torch.inference_mode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from climbpose.data.input_kinds import reads_coordinates
from climbpose.models import read_keypoints

# (frame indices (n,), refined cells (n, K, 2) float64 as x = col, y = row) of frames now final.
Refined = tuple[np.ndarray, np.ndarray]


@dataclass
class _Sequence:
    """Frames of one residue class since its last gap, not yet final."""

    frames: list[int] = field(default_factory=list)
    inputs: list[torch.Tensor] = field(default_factory=list)  # batches of the frames' model inputs, in order
    acc: torch.Tensor | None = None  # partial output sums of the first len(acc) frames (carried over)
    cnt: torch.Tensor | None = None  # how many windows each of those frames was in so far
    processed: bool = False  # some windows of this piece have already run


class WindowRefiner:
    """Streams one clip's detected frames through a temporal model in sliding windows.

    `push(frames, inputs)` adds consecutive frames' model inputs (normalised heatmaps (n, K, S, S)
    or cells (n, K, 2)), all with a person; `gap(t)` says frame t has none; `finish()` ends the
    clip. Each returns the frames whose outputs became final, as a list of `Refined`. See the
    module docstring for sequences, padding and how windows are combined. Work is batched (frames
    are pushed in groups, windows run per chunk): on a busy CPU every small torch op costs a thread
    synchronisation.
    """

    def __init__(self, model: nn.Module, window: int, step: int = 1, batch_size: int = 16,
                 chunk: int = 48) -> None:
        if window < 1 or step < 1 or batch_size < 1 or chunk < 1:
            raise ValueError(f"window, step, batch_size and chunk must be >= 1, got {window}, {step}, "
                             f"{batch_size}, {chunk}")
        self.model, self.window, self.step = model, int(window), int(step)
        self.batch_size, self.chunk = int(batch_size), int(chunk)
        self.input_kind = getattr(model, "input_kind", "heatmaps")
        self.coordinates = reads_coordinates(self.input_kind)
        self.device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.windows_run = 0
        self._sequences: dict[int, _Sequence] = {}

    def push(self, frames: list[int], inputs: torch.Tensor) -> list[Refined]:
        inputs = self._layout(inputs.to(self.device))
        by_residue: dict[int, list[int]] = {}
        for row, t in enumerate(frames):
            by_residue.setdefault(int(t) % self.step, []).append(row)
        done = []
        for residue, rows in by_residue.items():
            seq = self._sequences.setdefault(residue, _Sequence())
            seq.frames.extend(int(frames[row]) for row in rows)
            seq.inputs.append(inputs if len(rows) == len(frames) else inputs[rows])
            if len(seq.frames) >= self.chunk + self.window - 1:
                done.append(self._run(seq, final=False))
        return done

    def gap(self, t: int) -> list[Refined]:
        seq = self._sequences.pop(t % self.step, None)
        return [self._run(seq, final=True)] if seq is not None else []

    def finish(self) -> list[Refined]:
        done = [self._run(seq, final=True) for seq in self._sequences.values()]
        self._sequences.clear()
        return done

    def _layout(self, inputs: torch.Tensor) -> torch.Tensor:
        """Heatmaps go channels-last on the CPU: there oneDNN's convolutions take about a third less
        time (Conv3D's 5x5x5 over 25 channels: 10 instead of 15 ms of CPU per window), and windows
        gathered from channels-last frames, and the model's outputs, stay channels-last, so each
        frame is converted once, not once per window. A model that reads only a few cells around each
        peak (`conv3d_depthwise`, `channels_last = False`) wants the maps contiguous instead."""
        if inputs.dim() == 4 and self.device.type == "cpu" and getattr(self.model, "channels_last", True):
            return inputs.contiguous(memory_format=torch.channels_last)
        return inputs

    def _windows(self, n: int, seq: _Sequence, final: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Window frame positions (W, k) in the buffer and which window positions give outputs (k,)."""
        k = self.window
        if n >= k:
            starts = torch.arange(n - k + 1)[:, None]
            return starts + torch.arange(k)[None, :], torch.ones(k, dtype=torch.bool)
        if final and not seq.processed:  # a piece shorter than a window: pad with its edge frames
            left = (k - n) // 2
            positions = [0] * left + list(range(n)) + [n - 1] * (k - n - left)
            real = torch.zeros(k, dtype=torch.bool)
            real[left:left + n] = True
            return torch.tensor([positions]), real
        # Too few frames for a window yet (or only the carried-over tail of a piece that already ran).
        return torch.zeros((0, k), dtype=torch.long), torch.ones(k, dtype=torch.bool)

    def _run(self, seq: _Sequence, final: bool) -> Refined:
        """Run every window the buffered frames allow; finalise all frames (final) or all but the
        last k-1, whose later windows need frames not pushed yet."""
        n = len(seq.frames)
        inputs = torch.cat(seq.inputs) if len(seq.inputs) > 1 else seq.inputs[0]
        acc = torch.zeros_like(inputs, dtype=torch.float32)  # every model's output has its input's shape
        cnt = torch.zeros(n, device=self.device)
        if seq.acc is not None:
            acc[:len(seq.acc)], cnt[:len(seq.cnt)] = seq.acc, seq.cnt
        idx, real = self._windows(n, seq, final)
        idx, real = idx.to(self.device), real.to(self.device)
        padded = not bool(real.all())
        with torch.inference_mode():
            for rows in idx.split(self.batch_size):
                out = self.model(inputs[rows])
                if padded:
                    out, rows = out[:, real], rows[:, real]
                used = rows.reshape(-1)
                acc.index_add_(0, used, out.reshape(-1, *out.shape[2:]).float())
                cnt.index_add_(0, used, torch.ones_like(used, dtype=cnt.dtype))
            self.windows_run += len(idx)
            done = n if final else n - (self.window - 1)
            if bool((cnt[:done] == 0).any()):
                raise AssertionError("a frame was covered by no window")  # a bug, not a user error
            mean = acc[:done] / cnt[:done].view(-1, *([1] * (acc.dim() - 1)))
            cells = read_keypoints(self.model, mean)
        result = (np.asarray(seq.frames[:done], dtype=np.int64), cells.cpu().numpy().astype(np.float64))
        # Carry the frames whose windows have not all run yet, with their partial sums.
        seq.frames, seq.inputs = seq.frames[done:], [inputs[done:]]
        seq.acc, seq.cnt = acc[done:], cnt[done:]
        seq.processed = True
        return result
