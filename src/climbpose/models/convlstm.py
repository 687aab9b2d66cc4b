"""Bidirectional peephole ConvLSTM heatmap refiners (docs/design.md#bidirectional-convlstms).

Building blocks, top to bottom:

* ``ConvLSTM``: the peephole ConvLSTM of Shi et al. (2015) over a (B, T, C, H, W)
  sequence, h0 = c0 = 0. For gate g in (i, f, g, o) it has a 3x3 conv of the input
  and a 3x3 conv of the hidden state, each with its own bias, plus a per-pixel gate
  bias b_g (C x H x W); the i, f, o gates also see the cell state through per-pixel
  Hadamard "peephole" weights w_c (C x H x W):

      i_t = sigmoid(W_xi * x_t + W_hi * h_{t-1} + w_ci . c_{t-1} + b_i)
      f_t = sigmoid(W_xf * x_t + W_hf * h_{t-1} + w_cf . c_{t-1} + b_f)
      g_t = tanh   (W_xg * x_t + W_hg * h_{t-1}                  + b_g)
      c_t = f_t . c_{t-1} + i_t . g_t
      o_t = sigmoid(W_xo * x_t + W_ho * h_{t-1} + w_co . c_t     + b_o)
      h_t = o_t . tanh(c_t)

  At K = 25, 56x56: 8 convs x 5,650 + 4 x 25x56x56 + 3 x 25x56x56 = 594,000 params.
  The four input convs are fused into one conv with 4x the output channels, and
  likewise the four hidden convs: same parameter count (2 x 22,600 = 8 x 5,650),
  same function, fewer and larger kernel launches. The per-pixel parameters tie the
  model to one heatmap size.

* ``BiConvLSTM``: two branches, one reading the window forward in time and one
  reading it backward (time flipped in, flipped back out so frame t lines up with
  frame t). Each branch is a ConvLSTM followed by 3x3 convs C->128->128->128 with
  ReLU, applied to every frame independently (time folded into the batch).
  - mode="sum" (1,875,666 params): each branch continues with 1x1 convs 128->128->K,
    ReLU after every conv (so also after the last one: outputs are >= 0, like
    heatmaps); the two branches' per-frame outputs are summed.
  - mode="concat" (1,872,313 params): per frame the two 128-channel features are
    concatenated (256 channels) and go through 1x1 conv 256->128 and 1x1 conv
    128->K with NO activation between or after them. This follows the thesis; it
    makes the fusion head one affine map (the two 1x1 convs compose to a single
    256->K projection, trained in factored form) and lets the output be negative,
    which the MSE loss against non-negative targets penalises.

Input and output of ``BiConvLSTM``: (B, T, K, H, W).

Initialisation (docs/design.md#initialisation: all weights with more than one dimension start
Xavier-uniform): conv weights Xavier-uniform, each fused conv one gate at a time
so that it starts exactly like four separate 25->25 convs would; the per-pixel
peephole weights, having more than one dimension, also Xavier-uniform (computed on
the (3, C, H, W) tensor, bound ~0.008 at 56x56, i.e. the peepholes start almost
closed); every bias, including the per-pixel gate biases, starts at zero.
"""

from __future__ import annotations

import torch
from torch import nn

GATES = 4  # i, f, g, o (in this order along the fused convs' output channels)


class ConvLSTM(nn.Module):
    """Peephole ConvLSTM over a whole sequence: (B, T, C_in, H, W) -> hidden states (B, T, C, H, W)."""

    def __init__(self, in_channels: int, hidden_channels: int, height: int, width: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        pad = kernel_size // 2
        # Fused: output channels [0:C] feed gate i, [C:2C] gate f, [2C:3C] gate g, [3C:4C] gate o.
        self.x_conv = nn.Conv2d(in_channels, GATES * hidden_channels, kernel_size, padding=pad)
        self.h_conv = nn.Conv2d(hidden_channels, GATES * hidden_channels, kernel_size, padding=pad)
        self.gate_bias = nn.Parameter(torch.zeros(GATES, hidden_channels, height, width))
        self.peephole = nn.Parameter(torch.zeros(3, hidden_channels, height, width))  # w_ci, w_cf, w_co
        self._init_weights()

    def _init_weights(self) -> None:
        C = self.hidden_channels
        for conv in (self.x_conv, self.h_conv):
            for g in range(GATES):  # Xavier per gate: fans of one C-channel conv, not of the fused 4C
                nn.init.xavier_uniform_(conv.weight.data[g * C:(g + 1) * C])
            nn.init.zeros_(conv.bias)
        nn.init.xavier_uniform_(self.peephole)
        nn.init.zeros_(self.gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _, H, W = x.shape
        C = self.hidden_channels
        # The input part of every gate does not depend on the recurrence: compute it for
        # all frames in one conv call (time folded into the batch), add the per-pixel bias.
        x_gates = self.x_conv(x.reshape(B * T, *x.shape[2:])).view(B, T, GATES, C, H, W) + self.gate_bias
        w_ci, w_cf, w_co = self.peephole
        h = x.new_zeros(B, C, H, W)
        c = x.new_zeros(B, C, H, W)
        hs = []
        for t in range(T):
            gates = x_gates[:, t] + self.h_conv(h).view(B, GATES, C, H, W)
            gi, gf, gg, go = gates.unbind(1)
            i = torch.sigmoid(gi + w_ci * c)
            f = torch.sigmoid(gf + w_cf * c)
            c = f * c + i * torch.tanh(gg)
            o = torch.sigmoid(go + w_co * c)  # the output gate peeks at the new cell state
            h = o * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, dim=1)


def _xavier_conv(c_in: int, c_out: int, kernel_size: int) -> nn.Conv2d:
    """A 'same'-padded Conv2d with Xavier-uniform weight and zero bias."""
    conv = nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def _conv_relu_stack(channels: list[int], kernel_size: int) -> nn.Sequential:
    """Convs channels[0] -> channels[1] -> ... with ReLU after each (applied per frame)."""
    layers: list[nn.Module] = []
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        layers += [_xavier_conv(c_in, c_out, kernel_size), nn.ReLU(inplace=True)]  # in place: one less pass over memory
    return nn.Sequential(*layers)


class _Branch(nn.Module):
    """One reading direction: ConvLSTM, then per-frame 3x3 convs hidden->128->128->128 (ReLU)."""

    def __init__(self, num_keypoints: int, hidden: int, features: int, height: int, width: int) -> None:
        super().__init__()
        self.lstm = ConvLSTM(num_keypoints, hidden, height, width)
        self.convs = _conv_relu_stack([hidden, features, features, features], 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lstm(x)  # (B, T, hidden, H, W)
        B, T = h.shape[:2]
        y = self.convs(h.flatten(0, 1))  # per frame: fold time into the batch
        return y.unflatten(0, (B, T))  # (B, T, features, H, W)


class BiConvLSTM(nn.Module):
    input_kind = "heatmaps"

    def __init__(
        self,
        num_keypoints: int = 25,
        size: int = 56,
        mode: str = "sum",
        hidden_channels: int | None = None,
        features: int = 128,
    ) -> None:
        super().__init__()
        if mode not in ("sum", "concat"):
            raise ValueError(f"unknown mode {mode!r}; valid: 'sum', 'concat'")
        self.mode = mode
        K = num_keypoints
        hidden = hidden_channels or K  # the thesis: 25 hidden channels at K = 25
        self.fwd = _Branch(K, hidden, features, size, size)
        self.bwd = _Branch(K, hidden, features, size, size)
        if mode == "sum":
            # Each branch owns a 1x1 head 128->128->K, ReLU after both convs.
            self.fwd_head = _conv_relu_stack([features, features, K], 1)
            self.bwd_head = _conv_relu_stack([features, features, K], 1)
        else:
            # Shared fusion head on the concatenated features; linear, as in the thesis.
            self.fuse = nn.Sequential(_xavier_conv(2 * features, features, 1), _xavier_conv(features, K, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T = x.shape[:2]
        f = self.fwd(x)  # frame t has seen frames 0..t
        b = self.bwd(x.flip(1)).flip(1)  # frame t has seen frames t..T-1
        if self.mode == "sum":
            y = self.fwd_head(f.flatten(0, 1)) + self.bwd_head(b.flatten(0, 1))
        else:
            y = self.fuse(torch.cat([f, b], dim=2).flatten(0, 1))
        return y.unflatten(0, (B, T))
