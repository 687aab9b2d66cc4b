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
    from climbpose.models import model_inputs

    maps = render_gaussians(torch.tensor([[[10.25, 20.0], [3.0, 4.0]]]), 1.0, 32, 255.0)  # (1, 2, 32, 32)
    assert model_inputs(maps, "heatmaps") is maps
    assert model_inputs(maps, "coordinates").tolist() == [[[10.0, 20.0], [3.0, 4.0]]]
    sub = model_inputs(maps, "subcells")
    assert abs(float(sub[0, 0, 0]) - 10.25) < 0.05 and sub[0, 1].tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match="input kind"):
        model_inputs(maps, "pixels")


def test_depthwise_conv3d_stacked_frames_equal_the_grouped_conv3d():
    torch.manual_seed(2)
    model = build_model("conv3d_depthwise").double()
    with torch.no_grad():
        model.conv.weight.normal_()
        model.conv.bias.normal_()
    for frames in (5, 3, 7):  # with the trust region (the default), so that is the same on both paths
        x = torch.rand(2, frames, 25, 9, 11, dtype=torch.float64)
        assert torch.allclose(model(x), model.forward_conv3d(x), rtol=1e-12, atol=1e-12)


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
