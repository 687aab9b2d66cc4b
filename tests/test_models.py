"""Tests of the temporal models (docs/design.md#models): sizes, wiring, initialisation, trainability.

Kept cheap for a 2-core CPU: the exact parameter counts use the real K = 25, 56x56
models; behaviour and overfitting use small maps.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from climbpose.core.model_registry import model_names
from climbpose.models import BiConvLSTM, Conv3D, ConvLSTM, DeciWatch, Identity, build_model
from climbpose.models.deciwatch import sinusoidal_embedding

HEATMAP_MODELS = ("conv3d", "bi_convlstm_sum", "bi_convlstm_concat", "conv3d_depthwise", "flip_depthwise", "lapse_selector",
                  "identity")
EXPECTED_PARAMS = {
    "conv3d": 78_150,
    "conv3d_depthwise": 3_150,
    "flip_depthwise": 755,
    "lapse_selector": 327,
    "smoothnet": 9_029,
    "deciwatch": 1_708_388,
    "bi_convlstm_sum": 1_875_666,
    "bi_convlstm_concat": 1_872_313,
    "identity": 0,
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def render_blobs(pos: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """Gaussian blobs with peak 1: pos (..., 2) as (row, col) -> maps (..., size, size)."""
    ax = torch.arange(size, dtype=torch.float32)
    d_row = (ax - pos[..., 0, None]) ** 2
    d_col = (ax - pos[..., 1, None]) ** 2
    return torch.exp(-(d_row[..., :, None] + d_col[..., None, :]) / (2 * sigma**2))


def moving_keypoints(n: int, k: int, size: int, seed: int, t: int = 5) -> torch.Tensor:
    """n windows of k keypoints moving in straight lines: (n, t, k, 2) in cells."""
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, 1, k, 2, generator=g) * (size - 8) + 4
    velocity = torch.randn(n, 1, k, 2, generator=g) * 0.5
    return start + velocity * torch.arange(t, dtype=torch.float32).view(1, t, 1, 1)


# --- registry -------------------------------------------------------------------------


def test_model_names_and_input_kinds():
    assert model_names() == ("conv3d", "deciwatch", "bi_convlstm_sum", "bi_convlstm_concat", "conv3d_depthwise",
                           "flip_depthwise", "lapse_selector", "smoothnet", "identity")
    kinds = {name: build_model(name, size=8).input_kind for name in model_names()}
    assert kinds == {
        "conv3d": "heatmaps",
        "deciwatch": "coordinates",
        "bi_convlstm_sum": "heatmaps",
        "bi_convlstm_concat": "heatmaps",
        "conv3d_depthwise": "heatmaps",
        "flip_depthwise": "heatmaps",
        "lapse_selector": "heatmaps",
        "smoothnet": "subcells",
        "identity": "heatmaps",
    }


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        build_model("convlstm")
    message = str(err.value)
    assert "'convlstm'" in message
    for name in model_names():
        assert name in message


def test_build_model_passes_registered_options_over_their_defaults():
    assert build_model("conv3d_depthwise").trust_radius == 2
    assert build_model("conv3d_depthwise", options={"trust_radius": 0}).trust_radius == 0
    wide = build_model("smoothnet", options={"width": 32})
    assert wide.encode.out_features == 32 and n_params(wide) != EXPECTED_PARAMS["smoothnet"]
    with pytest.raises(ValueError, match=r"model conv3d has no option 'trust_radius' \(its options: none\)"):
        build_model("conv3d", options={"trust_radius": 1})
    with pytest.raises(ValueError, match="model_options.smoothnet.width must be an integer"):
        build_model("smoothnet", options={"width": 3.5})


def test_build_model_passes_constructor_arguments():
    assert build_model("conv3d", banded=True).banded is True
    assert build_model("deciwatch", dropout=0.0).encoder.layers[0].dropout.p == 0.0
    assert isinstance(build_model("identity"), Identity)


@pytest.mark.parametrize("name", EXPECTED_PARAMS)
def test_exact_parameter_counts(name):
    assert n_params(build_model(name, num_keypoints=25, size=56, window=5)) == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", ["conv3d", "deciwatch", "bi_convlstm_sum", "bi_convlstm_concat"])
def test_seeded_construction_is_deterministic(name):
    torch.manual_seed(123)
    a = build_model(name, size=12).state_dict()
    torch.manual_seed(123)
    b = build_model(name, size=12).state_dict()
    torch.manual_seed(124)
    c = build_model(name, size=12).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("name", HEATMAP_MODELS)
def test_heatmap_output_shape(name):
    torch.manual_seed(0)
    model = build_model(name)
    x = torch.rand(2, 5, 25, 56, 56)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 5, 25, 56, 56)
    assert torch.isfinite(y).all()


def test_deciwatch_output_shape():
    torch.manual_seed(0)
    y = build_model("deciwatch")(torch.rand(2, 5, 25, 2) * 55)
    assert y.shape == (2, 5, 25, 2)
    assert torch.isfinite(y).all()


def test_identity_returns_input():
    x = torch.rand(2, 5, 25, 8, 8)
    assert Identity()(x) is x
    assert n_params(Identity()) == 0


# --- initialisation ---------------------------------------------------------------------


def _xavier_bound(t: torch.Tensor) -> float:
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(t)
    return math.sqrt(6.0 / (fan_in + fan_out))


def _check_xavier(name: str, t: torch.Tensor) -> None:
    bound = _xavier_bound(t)
    assert t.abs().max() <= bound + 1e-7, name
    # Uniform(-a, a) has std a / sqrt(3); PyTorch's default inits give clearly different spreads.
    assert t.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1), name


@pytest.mark.parametrize("name", ["conv3d", "deciwatch", "bi_convlstm_sum", "bi_convlstm_concat"])
def test_xavier_weights_zero_biases(name):
    torch.manual_seed(0)
    model = build_model(name)
    checked = 0
    for pname, p in model.named_parameters():
        p = p.detach()
        if pname.endswith("bias"):  # conv/linear biases and the per-pixel gate biases
            assert torch.count_nonzero(p) == 0, pname
        elif p.dim() == 1:  # LayerNorm gains
            assert torch.all(p == 1), pname
        elif pname.endswith(("x_conv.weight", "h_conv.weight")):
            # Fused ConvLSTM convs start like four separate per-gate convs.
            for chunk in p.chunk(4, dim=0):
                _check_xavier(pname, chunk)
            checked += 1
        else:
            _check_xavier(pname, p)
            checked += 1
    assert checked > 0


# --- Conv3D -------------------------------------------------------------------------------


@pytest.mark.parametrize("frames", [5, 3, 7])
def test_conv3d_banded_equals_reference_float32(frames):
    torch.manual_seed(0)
    model = Conv3D()
    torch.nn.init.uniform_(model.conv.bias, -0.1, 0.1)  # nonzero bias, to test it too
    x = torch.rand(2, frames, 25, 20, 20)
    ref = model.forward_conv3d(x)
    fast = model.forward_banded(x)
    assert fast.shape == ref.shape == x.shape
    assert torch.allclose(fast, ref, atol=1e-5, rtol=0)
    assert (ref > 0).any() and (ref == 0).any()  # the ReLU is active and the comparison is not trivial


def test_conv3d_banded_equals_reference_float64_and_gradients():
    torch.manual_seed(0)
    model = Conv3D().double()
    torch.nn.init.uniform_(model.conv.bias, -0.1, 0.1)
    x = torch.rand(2, 5, 25, 12, 12, dtype=torch.float64)
    target = torch.rand_like(x)

    grads = []
    for path in (model.forward_conv3d, model.forward_banded):
        model.zero_grad()
        y = path(x)
        F.mse_loss(y, target).backward()
        grads.append((y.detach(), model.conv.weight.grad.clone(), model.conv.bias.grad.clone()))
    (y_ref, gw_ref, gb_ref), (y_fast, gw_fast, gb_fast) = grads
    assert torch.allclose(y_fast, y_ref, atol=1e-12, rtol=0)
    assert torch.allclose(gw_fast, gw_ref, atol=1e-12, rtol=1e-9)
    assert torch.allclose(gb_fast, gb_ref, atol=1e-12, rtol=1e-9)


def test_conv3d_banded_weight_structure():
    torch.manual_seed(0)
    model = Conv3D()
    w, b = model.banded_weight(5)
    assert w.shape == (125, 125, 5, 5) and b.shape == (125,)
    k = 25
    block = lambda t_out, t_in: w[t_out * k:(t_out + 1) * k, t_in * k:(t_in + 1) * k]  # noqa: E731
    for t_out in range(5):
        for t_in in range(5):
            if abs(t_in - t_out) > 2:
                assert torch.count_nonzero(block(t_out, t_in)) == 0
            else:
                assert torch.equal(block(t_out, t_in), model.conv.weight[:, :, t_in - t_out + 2])
    # The flag switches paths without changing the parameters or the state_dict.
    assert Conv3D(banded=True).state_dict().keys() == model.state_dict().keys()


def test_conv3d_build_with_banded_flag_matches():
    torch.manual_seed(0)
    ref = build_model("conv3d")
    fast = build_model("conv3d", banded=True)
    fast.load_state_dict(ref.state_dict())
    x = torch.rand(2, 5, 25, 16, 16)
    assert torch.allclose(fast(x), ref(x), atol=1e-5, rtol=0)


def test_conv3d_time_is_depth():
    """Frame 0's output sees frames 0..2 (kernel depth 5, 'same'), not frames 3 and 4."""
    torch.manual_seed(0)
    model = Conv3D()
    torch.nn.init.constant_(model.conv.bias, 1.0)  # keep the ReLU open so changes show
    x = torch.rand(1, 5, 25, 10, 10)
    y = model(x)
    for frame, reaches in [(2, True), (3, False), (4, False)]:
        x2 = x.clone()
        x2[:, frame] = torch.rand(25, 10, 10)
        changed = not torch.equal(model(x2)[:, 0], y[:, 0])
        assert changed == reaches, frame


# --- bi-ConvLSTM ----------------------------------------------------------------------------


def test_convlstm_follows_peephole_equations():
    """Two steps of the cell, computed gate by gate from Shi et al. (2015)."""
    torch.manual_seed(0)
    C, H, W = 3, 6, 6
    cell = ConvLSTM(C, C, H, W)
    with torch.no_grad():  # make every parameter matter
        for p in cell.parameters():
            p.uniform_(-0.5, 0.5)
    x = torch.randn(2, 2, C, H, W)
    hs = cell(x)

    def conv(inp, layer, gate):
        sl = slice(gate * C, (gate + 1) * C)
        return F.conv2d(inp, layer.weight[sl], layer.bias[sl], padding=1)

    h = torch.zeros(2, C, H, W)
    c = torch.zeros(2, C, H, W)
    b, w = cell.gate_bias, cell.peephole
    for t in range(2):
        pre = [conv(x[:, t], cell.x_conv, g) + conv(h, cell.h_conv, g) + b[g] for g in range(4)]
        i = torch.sigmoid(pre[0] + w[0] * c)
        f = torch.sigmoid(pre[1] + w[1] * c)
        c = f * c + i * torch.tanh(pre[2])
        o = torch.sigmoid(pre[3] + w[2] * c)
        h = o * torch.tanh(c)
        assert torch.allclose(hs[:, t], h, atol=1e-6), t


def test_convlstm_is_causal():
    torch.manual_seed(0)
    cell = ConvLSTM(4, 4, 8, 8)
    x = torch.rand(1, 5, 4, 8, 8)
    x2 = x.clone()
    x2[:, 3] = torch.rand(4, 8, 8)
    a, b = cell(x), cell(x2)
    assert torch.equal(a[:, :3], b[:, :3])
    assert not torch.allclose(a[:, 3:], b[:, 3:])


def _branch_features(model: BiConvLSTM, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the whole model and catch, per frame, what each branch hands to the head(s)."""
    caught = {}

    def catch(key):
        return lambda module, inputs, output: caught.__setitem__(key, inputs[0].unflatten(0, x.shape[:2]))

    if model.mode == "sum":
        hooks = [model.fwd_head.register_forward_hook(catch("f")), model.bwd_head.register_forward_hook(catch("b"))]
    else:
        hooks = [model.fuse.register_forward_hook(catch("fb"))]
    model(x)
    for h in hooks:
        h.remove()
    if model.mode == "concat":
        caught["f"], caught["b"] = caught["fb"].chunk(2, dim=2)
    return caught["f"], caught["b"]


@pytest.mark.parametrize("mode", ["sum", "concat"])
def test_bi_convlstm_reads_both_directions(mode):
    torch.manual_seed(0)
    model = BiConvLSTM(num_keypoints=25, size=12, mode=mode)
    x = torch.rand(1, 5, 25, 12, 12)

    def perturbed(frame):
        x2 = x.clone()
        x2[:, frame] = torch.rand(25, 12, 12)
        return x2

    with torch.no_grad():
        y, y_first, y_last = model(x), model(perturbed(0)), model(perturbed(4))
        # Output frame 0 hears frame 4 (backward branch), frame 4 hears frame 0 (forward branch).
        assert (y_last[:, 0] - y[:, 0]).abs().max() > 1e-5
        assert (y_first[:, 4] - y[:, 4]).abs().max() > 1e-5
        # Branch by branch, inside the model's own forward: the forward branch's frame t
        # has seen frames 0..t only, the backward branch's frame t frames t..4 only, so
        # the backward branch really reads time reversed and is put back in frame order.
        f, b = _branch_features(model, x)
        f0, b0 = _branch_features(model, perturbed(0))
        f4, b4 = _branch_features(model, perturbed(4))
        assert torch.equal(f[:, :4], f4[:, :4]) and not torch.equal(f[:, 4], f4[:, 4])
        assert torch.equal(b[:, 1:], b0[:, 1:]) and not torch.equal(b[:, 0], b0[:, 0])
        assert not torch.equal(b[:, 0], b4[:, 0]) and not torch.equal(f[:, 4], f0[:, 4])


def test_bi_convlstm_sum_and_concat_differ():
    torch.manual_seed(0)
    x = torch.rand(2, 5, 25, 12, 12)
    with torch.no_grad():
        torch.manual_seed(1)
        y_sum = BiConvLSTM(size=12, mode="sum")(x)
        torch.manual_seed(1)
        y_cat = BiConvLSTM(size=12, mode="concat")(x)
    assert not torch.allclose(y_sum, y_cat)
    # sum: ReLU after the last conv; concat: the fusion convs are linear (thesis choice).
    assert (y_sum >= 0).all()
    assert (y_cat < 0).any()
    with pytest.raises(ValueError):
        BiConvLSTM(size=12, mode="max")


# --- DeciWatch ------------------------------------------------------------------------------


def test_sinusoidal_embedding():
    pe = sinusoidal_embedding(5, 8)
    assert pe.shape == (5, 8)
    assert torch.allclose(pe[0], torch.tensor([0.0, 1.0] * 4))
    assert torch.allclose(pe[3, 0], torch.tensor(math.sin(3.0)))
    assert torch.allclose(pe[3, 3], torch.tensor(math.cos(3.0 / 10000 ** (2 / 8))))


def test_deciwatch_mask_forbids_self_attention():
    model = DeciWatch(dropout=0.0)
    assert model.sample_idx.tolist() == [0, 4]
    mask = model.self_mask
    assert torch.isneginf(mask.diagonal()).all()
    assert (mask[~torch.eye(len(mask), dtype=torch.bool)] == 0).all()


def test_deciwatch_token_does_not_attend_to_itself():
    """Layer 0's attention output for token 0 must not depend on token 0's own input."""
    torch.manual_seed(0)
    model = DeciWatch(dropout=0.0).train()  # train mode: the python path, which calls self_attn
    seen = []
    model.encoder.layers[0].self_attn.register_forward_hook(lambda m, i, out: seen.append(out[0].detach()))
    x = torch.rand(1, 5, 25, 2) * 55
    x2 = x.clone()
    x2[:, 0] += torch.randn(25, 2) * 5  # move sampled frame 0 (token 0) only
    model(x)
    model(x2)
    attn, attn2 = seen
    assert torch.allclose(attn[:, 0], attn2[:, 0], atol=1e-6)  # token 0 heard only token 1
    assert not torch.allclose(attn[:, 1], attn2[:, 1], atol=1e-3)  # token 1 heard token 0


def test_deciwatch_zero_heads_give_interpolation():
    torch.manual_seed(0)
    model = DeciWatch(dropout=0.0).eval()
    x = torch.rand(3, 5, 25, 2) * 55
    with torch.no_grad():
        # Only the recovery correction zeroed: output is the interpolation of the denoised samples.
        torch.nn.init.zeros_(model.recover_head.weight)
        torch.nn.init.zeros_(model.recover_head.bias)
        y = model(x)
        assert not torch.allclose(y[:, 0], x[:, 0], atol=1e-2)  # the denoiser did correct frame 0
        for t in range(5):
            assert torch.allclose(y[:, t], (1 - t / 4) * y[:, 0] + t / 4 * y[:, 4], atol=1e-4)
        # Both corrections zeroed: plain linear interpolation of input frames 0 and 4.
        torch.nn.init.zeros_(model.denoise_head.weight)
        torch.nn.init.zeros_(model.denoise_head.bias)
        y = model(x)
    for t in range(5):
        assert torch.allclose(y[:, t], (1 - t / 4) * x[:, 0] + t / 4 * x[:, 4], atol=1e-4)


def test_deciwatch_rejects_bad_windows():
    with pytest.raises(ValueError):
        DeciWatch()(torch.rand(1, 9, 25, 2))
    with pytest.raises(ValueError):
        DeciWatch(window=5, sample_interval=3)
    with pytest.raises(ValueError):
        DeciWatch(window=5, sample_interval=5)  # a single sample could attend to nothing
    assert DeciWatch(window=9, sample_interval=4).sample_idx.tolist() == [0, 4, 8]


# --- trainability ---------------------------------------------------------------------------

# (model, map size, Adam steps): enough for >= 10x with margin, cheap on 2 cores.
OVERFIT_HEATMAPS = [("conv3d", 24, 150), ("bi_convlstm_sum", 12, 40), ("bi_convlstm_concat", 12, 40)]


@pytest.mark.parametrize("name,size,steps", OVERFIT_HEATMAPS)
def test_heatmap_models_overfit_four_windows(name, size, steps):
    pos = moving_keypoints(4, 25, size, seed=0)
    x = render_blobs(pos, size, sigma=1.5)  # blurred input ...
    y = render_blobs(pos, size, sigma=1.0)  # ... sharp target
    torch.manual_seed(0)
    model = build_model(name, size=size)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        final = F.mse_loss(model(x), y).item()
    assert final <= losses[0] / 10, (losses[0], final)


def test_deciwatch_overfits_four_windows():
    clean = moving_keypoints(4, 25, 56, seed=0)
    g = torch.Generator().manual_seed(1)
    noisy = clean + 2.0 * torch.randn(clean.shape, generator=g)
    torch.manual_seed(0)
    model = build_model("deciwatch", dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = None
    for _ in range(40):
        loss = F.mse_loss(model(noisy), clean)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = F.mse_loss(model(noisy), clean).item()
    assert final <= first / 10, (first, final)
    assert final <= F.mse_loss(noisy, clean).item() / 10  # far better than passing the input through
