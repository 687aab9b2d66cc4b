"""flip_depthwise: the whole-pose swap gate in front of the depthwise refinement."""

from __future__ import annotations

import pytest
import torch

from climbpose.core.keypoints import INDEX, MIRROR
from climbpose.heatmaps import render_gaussians, subcell_peaks
from climbpose.models import build_model
from climbpose.models.flip import FRAME_FEATURES, frame_features, gate_inputs
from climbpose.train.step import masked_mse, new_optimiser

SIZE = 56


def pose_maps(points: dict[str, tuple[float, float]], frames: int = 5) -> torch.Tensor:
    """(1, frames, 25, SIZE, SIZE) maps with a unit Gaussian at each named keypoint's (x, y), every
    other keypoint at the map's centre."""
    cells = torch.full((25, 2), SIZE / 2)
    for name, xy in points.items():
        cells[INDEX[name]] = torch.tensor(xy)
    return render_gaussians(cells[None].expand(frames, 25, 2), sigma=1.0, size=SIZE, c=255.0)[None]


# A person seen from the front: their left side on the image's right. Torso diameter 20 cells.
FRONT = {"left_shoulder": (34, 14), "right_shoulder": (22, 14), "left_hip": (32, 34), "right_hip": (24, 34),
         "left_wrist": (40, 6), "right_wrist": (16, 24), "left_ear": (30, 8), "right_ear": (26, 8)}


def test_frame_features_known_answer():
    f = frame_features(pose_maps(FRONT))[0, 0]
    assert f.shape == (FRAME_FEATURES,)
    torso = (torch.tensor([2.0, 20.0]).norm() + torch.tensor([2.0, 20.0]).norm()) / 2
    # left - right across the image, in torso diameters: > 0 is "facing the camera"
    assert f[0].item() == pytest.approx(12 / torso.item(), abs=1e-3)
    assert f[1].item() == pytest.approx(8 / torso.item(), abs=1e-3)
    assert f[2].item() == pytest.approx(4 / torso.item(), abs=1e-3)
    # wrists relative to the shoulders' height (y grows downwards): left 8 cells above, right 10 below
    assert f[8].item() == pytest.approx(8 / torso.item(), abs=1e-3)
    assert f[9].item() == pytest.approx(-10 / torso.item(), abs=1e-3)
    assert f[10].item() == pytest.approx(18 / torso.item(), abs=1e-3)
    # the same unit peak everywhere: every log-height feature equal
    assert torch.allclose(f[3:8], f[3].expand(5), atol=1e-4)


def test_a_swapped_pose_reverses_the_facing_features():
    front, back = frame_features(pose_maps(FRONT)), frame_features(pose_maps(FRONT)[:, :, list(MIRROR)])
    assert torch.allclose(back[..., :3], -front[..., :3], atol=1e-4)
    assert torch.allclose(back[..., [8, 9]], front[..., [9, 8]], atol=1e-4)  # the wrists trade places
    same = [i for i in range(3, FRAME_FEATURES) if i not in (8, 9)]
    assert torch.allclose(back[..., same], front[..., same], atol=1e-4)


def test_gate_inputs_add_the_window_mean_and_the_facing_only_copy():
    x = torch.cat([pose_maps(FRONT, 3), pose_maps(FRONT, 2)[:, :, list(MIRROR)]], dim=1)
    frame, inputs = frame_features(x), gate_inputs(x)
    assert torch.allclose(inputs[..., FRAME_FEATURES:2 * FRAME_FEATURES], frame.mean(dim=1, keepdim=True).expand_as(frame))
    facing_copy = inputs[..., 2 * FRAME_FEATURES:]
    assert torch.equal(facing_copy[0, :3], frame[0, :3])  # the estimator says "facing the camera"
    assert torch.equal(facing_copy[0, 3:], torch.zeros_like(frame[0, 3:]))


def test_untrained_it_is_the_depthwise_model_s_identity():
    x = torch.rand(2, 5, 25, 12, 12)
    model = build_model("flip_depthwise").eval()
    reference = build_model("conv3d_depthwise")
    assert torch.equal(model(x), reference(x))
    assert torch.equal(subcell_peaks(model(x)), subcell_peaks(x))


def test_a_confident_gate_swaps_exactly_the_frames_it_should():
    """Gate on the first feature alone: frames the estimator reads as facing the camera are swapped
    whole, the others left as they are."""
    x = torch.cat([pose_maps(FRONT, 2), pose_maps(FRONT, 3)[:, :, list(MIRROR)]], dim=1)
    model = build_model("flip_depthwise").eval()
    with torch.no_grad():
        model.gate.weight.zero_()
        model.gate.weight[0, 0] = 10.0
        model.gate.bias.zero_()
    out = model(x)
    assert torch.equal(subcell_peaks(out[:, :2]), subcell_peaks(x[:, :2, list(MIRROR)]))
    assert torch.equal(subcell_peaks(out[:, 2:]), subcell_peaks(x[:, 2:]))


def test_training_pushes_the_gate_toward_a_swap_that_the_targets_confirm():
    x = pose_maps(FRONT)
    model = build_model("flip_depthwise").train()
    for targets, sign in ((x[:, :, list(MIRROR)], -1.0), (x, 1.0)):
        model.zero_grad()
        masked_mse(model(x), targets, torch.ones(1, 5, 25, dtype=torch.bool)).backward()
        # d loss / d bias < 0: a larger swap probability lowers the loss
        assert torch.sign(model.gate.bias.grad).item() == sign


def test_the_gate_learns_at_its_own_rate():
    model = build_model("flip_depthwise", options={"gate_lr_scale": 50.0})
    optimiser = new_optimiser(model, 1e-4)
    rates = [(group["lr"], sum(p.numel() for p in group["params"])) for group in optimiser.param_groups]
    assert rates == [(1e-4, 25 * 3**3 + 25), (pytest.approx(5e-3), 3 * FRAME_FEATURES + 1)]
    plain = new_optimiser(build_model("conv3d_depthwise"), 1e-4)
    assert [group["lr"] for group in plain.param_groups] == [1e-4]


def test_evaluation_swaps_in_place_of_the_reference_selection():
    """The evaluation path copies only windows that swap; it must equal the plain definition: each
    frame's maps as given or swapped by the sign of its logit, then the refinement."""
    torch.manual_seed(1)
    x = torch.rand(6, 5, 25, 16, 16)
    model = build_model("flip_depthwise").eval()
    with torch.no_grad():
        model.gate.weight.normal_(0, 1.0)
        model.gate.bias.zero_()
        model.gate.bias -= model.swap_logits(x).median()  # about half of the frames swap
        model.refine.conv.weight.add_(0.05 * torch.randn_like(model.refine.conv.weight))
        swap = model.swap_logits(x) > 0
        assert 0 < swap.sum() < swap.numel()
        reference = model.refine(torch.where(swap[..., None, None, None], x[:, :, list(MIRROR)], x))
        assert torch.equal(model(x), reference)
        assert torch.equal(model(x[:0]), reference[:0])
