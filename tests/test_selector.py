"""The lapse selector (climbpose.models.selector): it only ever outputs one of the estimator's own
maps, starts by keeping every map, and takes the candidate its scores prefer."""

from __future__ import annotations

import torch

from climbpose.core.keypoints import MIRROR, NAMES
from climbpose.models import build_model, read_keypoints
from climbpose.models.selector import CANDIDATES
from climbpose.heatmaps import subcell_peaks


def window(batch: int = 2, frames: int = 5, size: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, frames, len(NAMES), size, size, generator=torch.Generator().manual_seed(seed)) * 10


def test_mirror_pairs_left_with_right():
    assert [NAMES[i] for i in MIRROR[:5]] == ["nose", "right_ear", "left_ear", "right_shoulder", "left_shoulder"]
    assert all(MIRROR[MIRROR[k]] == k for k in range(len(NAMES)))


def test_the_untrained_selector_keeps_every_map_and_reads_sub_cell_peaks():
    model = build_model("lapse_selector").eval()
    x = window()
    assert torch.equal(model(x), x)
    assert torch.equal(read_keypoints(model, model(x)), subcell_peaks(x))
    assert CANDIDATES == ("own", "t-2", "t-1", "t+1", "t+2", "mirror")


def test_every_output_map_is_one_of_its_candidates():
    torch.manual_seed(1)
    model = build_model("lapse_selector").eval()
    with torch.no_grad():  # random scores instead of the identity start
        model.score[2].weight.normal_(0, 3.0)
        model.bias.normal_(0, 3.0)
    x = window(frames=6)
    out = model(x)
    chose_other = 0
    for t in range(6):
        for k in range(len(NAMES)):
            options = [x[:, t, k]] + [x[:, s, k] for s in (t - 2, t - 1, t + 1, t + 2) if 0 <= s < 6] + [x[:, t, MIRROR[k]]]
            for b in range(2):
                matches = [torch.equal(out[b, t, k], option[b]) for option in options]
                assert any(matches), (b, t, k)
                chose_other += not matches[0]
    assert chose_other > 0  # the random scores did move some maps


def test_the_preferred_candidate_is_taken_and_a_missing_neighbour_never():
    model = build_model("lapse_selector").eval()
    x = window(frames=5)
    with torch.no_grad():
        model.bias.zero_()
        model.bias[:, CANDIDATES.index("mirror")] = 10.0
    assert torch.equal(model(x), x[:, :, list(MIRROR)])
    with torch.no_grad():
        model.bias.zero_()
        model.bias[:, CANDIDATES.index("t+2")] = 10.0
    out = model(x)
    assert torch.equal(out[:, :3], x[:, 2:])  # frame t takes frame t+2 ...
    assert torch.equal(out[:, 3:], x[:, 3:])  # ... where there is one; the last two keep their own (first of the ties)


def test_training_mixes_the_candidates_so_the_loss_has_a_gradient():
    model = build_model("lapse_selector").train()
    x = window(batch=1)
    out = model(x)
    maps, exists = model.candidates(x)
    low = maps.masked_fill(~exists[..., None, None], float("inf")).amin(dim=3)
    high = maps.masked_fill(~exists[..., None, None], float("-inf")).amax(dim=3)
    assert not torch.equal(out, x)  # a soft mix while training ...
    assert bool(((out >= low - 1e-5) & (out <= high + 1e-5)).all())  # ... of the candidates that exist
    (out - x).square().mean().backward()
    assert model.bias.grad is not None and model.bias.grad.abs().sum() > 0


def test_the_selector_takes_an_empty_batch():
    assert build_model("lapse_selector").eval()(torch.zeros(0, 5, 25, 8, 8)).shape == (0, 5, 25, 8, 8)
