"""The per-keypoint models beyond the thesis' four: conv3d_depthwise and smoothnet, and how the
registry feeds them and reads their keypoints."""

from __future__ import annotations

import pytest
import torch

from climbpose.models import build_model


# --- depthwise Conv3D ----------------------------------------------------------------------


def test_depthwise_conv3d_starts_as_the_identity():
    """Without a trust region the output is the input; with the default one it is the input inside
    each peak's 5x5 square, which is all the sub-cell readout looks at: the same keypoints."""
    from climbpose.heatmaps import subcell_peaks
    from climbpose.models import read_keypoints

    x = torch.rand(2, 5, 25, 12, 12)
    assert torch.equal(build_model("conv3d_depthwise", trust_radius=0)(x), x)
    model = build_model("conv3d_depthwise")
    assert torch.equal(model(x), x * model.trust_region(x))
    assert torch.equal(read_keypoints(model, model(x)), subcell_peaks(x))


def test_depthwise_conv3d_never_mixes_keypoints():
    """Whatever its weights, changing keypoint 7's maps changes no other keypoint's output."""
    torch.manual_seed(0)
    model = build_model("conv3d_depthwise", trust_radius=0)
    with torch.no_grad():
        model.conv.weight.uniform_(-0.5, 0.5)
        model.conv.bias.uniform_(0.0, 0.1)
    x = torch.rand(1, 5, 25, 10, 10)
    moved = x.clone()
    moved[:, :, 7] = torch.rand(1, 5, 10, 10) * 100
    before, after = model(x), model(moved)
    others = [k for k in range(25) if k != 7]
    assert torch.equal(before[:, :, others], after[:, :, others])
    assert not torch.equal(before[:, :, 7], after[:, :, 7])


def test_depthwise_conv3d_is_a_temporal_filter_per_keypoint():
    """Known answer: weights 1/5 on the five time taps of the centre pixel average each keypoint's
    map over the window (zero padding at the ends: the edge frames see three frames)."""
    model = build_model("conv3d_depthwise", trust_radius=0)
    with torch.no_grad():
        model.conv.weight.zero_()
        model.conv.weight[:, 0, :, 2, 2] = 0.2
    x = torch.rand(1, 5, 25, 6, 6)
    out = model(x)
    assert torch.allclose(out[:, 2], x.mean(dim=1), atol=1e-6)
    assert torch.allclose(out[:, 0], x[:, :3].sum(dim=1) * 0.2, atol=1e-6)


# --- SmoothNet ------------------------------------------------------------------------------


def test_smoothnet_starts_as_the_identity_and_never_mixes_keypoints():
    torch.manual_seed(0)
    model = build_model("smoothnet")
    x = torch.rand(3, 5, 25, 2) * 55
    assert torch.equal(model(x), x)
    with torch.no_grad():
        model.decode.weight.uniform_(-0.5, 0.5)
    moved = x.clone()
    moved[:, :, 4, 1] += 10.0
    before, after = model(x), model(moved)
    unchanged = torch.ones(25, 2, dtype=torch.bool)
    unchanged[4, 1] = False
    assert torch.equal(before[:, :, unchanged], after[:, :, unchanged])
    assert not torch.equal(before[:, :, 4, 1], after[:, :, 4, 1])


def test_smoothnet_is_translation_equivariant():
    """It reads motion, not place: shifting a whole trajectory shifts the output by as much."""
    torch.manual_seed(1)
    model = build_model("smoothnet")
    with torch.no_grad():
        model.decode.weight.uniform_(-0.5, 0.5)
    x = torch.rand(2, 5, 25, 2) * 40
    assert torch.allclose(model(x + 7.25), model(x) + 7.25, atol=1e-4)


def test_model_inputs_by_kind():
    from climbpose.heatmaps import render_gaussians
    from climbpose.data.input_kinds import model_inputs

    maps = render_gaussians(torch.tensor([[[10.25, 20.0], [3.0, 4.0]]]), 1.0, 32, 255.0)  # (1, 2, 32, 32)
    assert model_inputs(maps, "heatmaps") is maps
    assert model_inputs(maps, "coordinates").tolist() == [[[10.0, 20.0], [3.0, 4.0]]]
    sub = model_inputs(maps, "subcells")
    assert abs(float(sub[0, 0, 0]) - 10.25) < 0.05 and sub[0, 1].tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match="input kind"):
        model_inputs(maps, "pixels")


def _random_depthwise(trust_radius: int) -> torch.nn.Module:
    model = build_model("conv3d_depthwise", trust_radius=trust_radius).double()
    with torch.no_grad():
        model.conv.weight.normal_()
        model.conv.bias.normal_()
    return model


def _maps_with_peaks_at_the_borders(frames: int, h: int, w: int) -> torch.Tensor:
    x = torch.rand(2, frames, 25, h, w, dtype=torch.float64)
    x[0, 0, 0] = 0.0  # an empty map: its argmax is cell (0, 0)
    x[0, 1, 1, 0, 0] = 5.0
    x[1, -1, 3, -1, -1] = 5.0
    x[1, 0, 4, h // 2, -1] = 5.0
    return x


@pytest.mark.parametrize("trust_radius", [1, 2, 3])
def test_depthwise_conv3d_kept_cells_only_equal_both_full_convolutions(trust_radius):
    """forward (only the trust region's cells) = stacked-frames Conv2d = grouped Conv3d, for any
    window length, peaks on the border and an empty map."""
    torch.manual_seed(2)
    model = _random_depthwise(trust_radius)
    for frames, h, w in ((5, 9, 11), (3, 12, 12), (7, 6, 5), (5, 56, 56)):
        x = _maps_with_peaks_at_the_borders(frames, h, w)
        reference = model.forward_conv3d(x)
        assert torch.allclose(model(x), reference, rtol=0, atol=1e-12)
        assert torch.allclose(model.forward_stacked(x), reference, rtol=0, atol=1e-12)


def test_depthwise_conv3d_kept_cells_only_give_the_full_convolutions_weight_gradients():
    torch.manual_seed(3)
    model = _random_depthwise(2)
    x = _maps_with_peaks_at_the_borders(5, 20, 20)
    target = torch.rand_like(x)
    grads = []
    for path in (model.forward, model.forward_conv3d):
        model.zero_grad()
        ((path(x) - target) ** 2).mean().backward()
        grads.append((model.conv.weight.grad.clone(), model.conv.bias.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0], rtol=0, atol=1e-14)
    assert torch.allclose(grads[0][1], grads[1][1], rtol=0, atol=1e-14)


def test_depthwise_trust_region_equals_a_max_pool_of_the_peaks():
    """Independent reference: a (2r+1) max-pool of each map's one-hot argmax."""
    import torch.nn.functional as F

    x = _maps_with_peaks_at_the_borders(5, 13, 10).float()
    for r in (1, 2, 4):
        model = build_model("conv3d_depthwise", trust_radius=r)
        flat = x.flatten(-2)
        one_hot = torch.zeros_like(flat).scatter_(-1, flat.argmax(-1, keepdim=True), 1.0).view_as(x)
        pooled = F.max_pool2d(one_hot.flatten(0, 2)[:, None], 2 * r + 1, stride=1, padding=r).view_as(x)
        assert torch.equal(model.trust_region(x), pooled)
    corner = model.trust_region(x)[0, 1, 1]  # peak at (0, 0), r = 4: a 5 x 5 corner square
    assert corner.sum() == 25 and corner[:5, :5].all()


def test_depthwise_conv3d_keeps_each_keypoint_near_the_estimator_peak():
    """Known answer: a kernel that shifts every map 2 cells right moves a peak by at most the trust
    radius; a second, larger blob outside the square (another body part) is never picked up."""
    model = build_model("conv3d_depthwise", trust_radius=1)
    with torch.no_grad():
        model.conv.weight.zero_()
        model.conv.weight[:, 0, 2, 2, 0] = 1.0  # output (r, c) = input (r, c - 2): a shift right by 2
    x = torch.zeros(1, 5, 25, 12, 12)
    x[..., 5, 5] = 10.0  # the estimator's peak
    x[..., 5, 3] = 4.0  # shifted by the kernel onto (5, 5), inside the square
    x[..., 2, 8] = 8.0  # another blob: its shifted copy (2, 10) lies outside the square
    out = model(x)
    region = model.trust_region(x)
    assert region[0, 0, 0].sum() == 9 and region[0, 0, 0, 4:7, 4:7].all()
    assert torch.count_nonzero(out * (1 - region)) == 0
    assert out[0, 0, 0, 5, 5] == 4.0 and out[0, 0, 0, 5, 6] == 0.0 and out[0, 0, 0, 2, 10] == 0.0


def test_depthwise_conv3d_reads_sub_cell_peaks():
    from climbpose.heatmaps import render_gaussians
    from climbpose.models import read_keypoints

    model = build_model("conv3d_depthwise")
    maps = render_gaussians(torch.tensor([[10.4, 20.0]]).expand(25, 2), 1.0, 32, 255.0)[None, None].expand(1, 5, 25, 32, 32)
    cells = read_keypoints(model, model(maps))
    assert cells.shape == (1, 5, 25, 2)
    assert abs(float(cells[0, 0, 0, 0]) - 10.4) < 0.05 and float(cells[0, 0, 0, 1]) == 20.0
    assert read_keypoints(build_model("conv3d"), maps).tolist() == read_keypoints(build_model("identity"), maps).tolist()
    assert float(read_keypoints(build_model("identity"), maps)[0, 0, 0, 0]) == 10.0


def test_depthwise_conv3d_takes_an_empty_batch():
    """`predict` may run a batch of no windows (a piece shorter than a window, before it is padded)."""
    assert build_model("conv3d_depthwise")(torch.zeros(0, 5, 25, 8, 8)).shape == (0, 5, 25, 8, 8)
