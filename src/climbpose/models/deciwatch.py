"""DeciWatch on keypoint coordinates (Zeng et al., ECCV 2022; docs/design.md#deciwatch).

Unlike the other models this one reads coordinates, not heatmaps: a window of
(B, T, K, 2) keypoint positions in heatmap cells (per frame the heatmap argmaxes;
the two numbers per keypoint may be (row, col) or (x, y): the model does not care,
as long as training and evaluation agree), flattened to 2K = 50 numbers per frame.
It watches only every ``sample_interval``-th frame (frames 0 and 4 of a 5-window),
denoises those samples, and recovers all T frames from them:

1. DenoiseNet. Each sampled frame is a token: Linear 2K->128 plus a sinusoidal
   position embedding, a 5-layer transformer encoder (4 heads, feed-forward 256,
   dropout 0.1) whose attention mask is -inf on the diagonal, so no token attends
   to itself and a frame is cleaned using the *other* samples only; then a final
   LayerNorm, Linear 128->2K, added to the sampled input (a residual correction).
2. RecoverNet. The denoised samples are linearly interpolated back to T frames;
   Conv1d 2K->128 over time (kernel 5, padding 2) plus position embedding; a
   5-layer transformer decoder whose cross-attention reads the encoder's output
   sequence (the memory); final LayerNorm; Linear 128->2K added to the
   interpolation (again a residual correction).

The layers are PyTorch's standard post-norm nn.TransformerEncoderLayer /
nn.TransformerDecoderLayer (batch_first, ReLU feed-forward), and each stack ends in
a LayerNorm: 1,708,388 parameters at K = 25.

Choices the thesis leaves open
------------------------------
* Coordinate normalisation (on by default, no parameters): the layers *read*
  coordinates mapped to about [-1, 1], u = (p - (size - 1) / 2) / (size / 2), so
  raw cells (0..55) do not swamp the [-1, 1] position embedding; the residual
  sums and the two learned corrections stay in heatmap cells. A correction head
  fed by a LayerNorm starts with outputs of about +-1, which is about a cell here
  (the scale of real corrections) but would be about 30 cells if the corrections
  were in normalised units. On synthetic noisy trajectories (noise std 3 cells,
  1,500 Adam steps, batch 16) this variant trained best: validation MSE 6.74
  cells^2, against 6.81 with no normalisation and 7.13 with corrections in
  normalised units (which also start at MSE ~1,900 instead of ~9).
  "Output = interpolation + correction" holds literally: zero correction heads
  give exactly the linear interpolation of the (denoised) samples.
* Position embeddings use each frame's time index in the window: the encoder's
  tokens sit at times 0 and 4, the decoder's at 0..4, so cross-attention compares
  positions on one time axis.
* The decoder's self-attention is unmasked (every frame sees every frame).
* Initialisation: every parameter with more than one dimension Xavier-uniform
  (including the fused q/k/v projection of each attention, as one matrix, as
  PyTorch itself does); all biases zero; LayerNorm gains one.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_embedding(num_positions: int, dim: int) -> torch.Tensor:
    """Transformer position embedding: (num_positions, dim), sin on even, cos on odd features."""
    pos = torch.arange(num_positions, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    pe = torch.zeros(num_positions, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.float()


class DeciWatch(nn.Module):
    input_kind = "coordinates"

    def __init__(
        self,
        num_keypoints: int = 25,
        size: int = 56,
        window: int = 5,
        sample_interval: int = 4,
        d_model: int = 128,
        num_heads: int = 4,
        feedforward: int = 256,
        num_layers: int = 5,
        dropout: float = 0.1,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        if sample_interval < 1 or (window - 1) % sample_interval != 0 or window <= sample_interval:
            # The last frame must be a sample (nothing to extrapolate), and at least two
            # samples are needed: a lone token that may not attend to itself sees nothing.
            raise ValueError(
                f"window - 1 must be a positive multiple of sample_interval; got window={window}, "
                f"sample_interval={sample_interval}"
            )
        self.window = window
        self.dim = 2 * num_keypoints
        # Fixed affine map cells -> about [-1, 1] for the layers' inputs; identity when normalize=False.
        self.center = (size - 1) / 2 if normalize else 0.0
        self.scale = size / 2 if normalize else 1.0

        # DenoiseNet
        self.denoise_embed = nn.Linear(self.dim, d_model)
        enc_layer = nn.TransformerEncoderLayer(d_model, num_heads, feedforward, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(
            enc_layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.denoise_head = nn.Linear(d_model, self.dim)

        # RecoverNet
        self.recover_embed = nn.Conv1d(self.dim, d_model, kernel_size=5, padding=2)
        dec_layer = nn.TransformerDecoderLayer(d_model, num_heads, feedforward, dropout, batch_first=True)
        self.decoder = nn.TransformerDecoder(dec_layer, num_layers, norm=nn.LayerNorm(d_model))
        self.recover_head = nn.Linear(d_model, self.dim)

        # Constants (buffers, not parameters; not saved in the state_dict).
        sample_idx = torch.arange(0, window, sample_interval)
        n = len(sample_idx)
        self.register_buffer("sample_idx", sample_idx, persistent=False)
        self.register_buffer("pos_embed", sinusoidal_embedding(window, d_model), persistent=False)
        # Additive mask: -inf on the diagonal, so token j never attends to itself.
        self.register_buffer(
            "self_mask", torch.zeros(n, n).masked_fill(torch.eye(n, dtype=torch.bool), float("-inf")), persistent=False
        )
        self._init_weights()

    def _init_weights(self) -> None:
        for name, p in self.named_parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
            elif name.endswith("bias"):
                nn.init.zeros_(p)
            # 1-D weights are LayerNorm gains: they stay at one.

    def _normalise(self, p: torch.Tensor) -> torch.Tensor:
        """Cells -> about [-1, 1], for what the layers read (see module docstring)."""
        return (p - self.center) / self.scale

    def denoise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, 2K) in cells -> (denoised samples (B, N, 2K) in cells, encoder memory (B, N, d_model))."""
        samples = x[:, self.sample_idx]
        tokens = self.denoise_embed(self._normalise(samples)) + self.pos_embed[self.sample_idx]
        # is_causal=False says what the mask is; otherwise the encoder compares it with a causal
        # mask on every call, a device-to-host sync (and a graph break under torch.compile).
        memory = self.encoder(tokens, mask=self.self_mask, is_causal=False)
        return samples + self.denoise_head(memory), memory

    def recover(self, denoised: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """Denoised samples (B, N, 2K) + encoder memory -> all T frames (B, T, 2K), in cells."""
        # align_corners=True puts sample j exactly on frame j * sample_interval.
        interp = F.interpolate(denoised.transpose(1, 2), size=self.window, mode="linear", align_corners=True)
        tokens = self.recover_embed(self._normalise(interp)).transpose(1, 2) + self.pos_embed
        out = self.decoder(tokens, memory)
        return interp.transpose(1, 2) + self.recover_head(out)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """(B, T, K, 2) coordinates in heatmap cells -> refined (B, T, K, 2), same units."""
        B, T, K, _ = coords.shape
        if T != self.window:
            raise ValueError(f"DeciWatch was built for windows of {self.window} frames, got {T}")
        y = self.recover(*self.denoise(coords.reshape(B, T, 2 * K)))
        return y.reshape(B, T, K, 2)
