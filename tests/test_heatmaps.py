"""Known-answer tests of climbpose.heatmaps (docs/design.md#heatmaps, docs/design.md#pretraining)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from climbpose.heatmaps import (
    FLUSH_BELOW,
    add_keypoint_noise,
    argmax_cells,
    ground_truth_maps,
    normalise,
    render_gaussians,
    to_box_cells,
)

PEAK_SIGMA1 = 255.0 / (2.0 * math.pi)  # 40.5845...: the continuous limit, exact to ~1e-8 on a grid


# ---------------------------------------------------------------- normalise


def test_normalise_clips_negatives_and_scales_to_c():
    maps = torch.tensor([[[1.0, -2.0], [3.0, 0.0]]])
    out = normalise(maps, 255.0)
    assert torch.allclose(out, torch.tensor([[[63.75, 0.0], [191.25, 0.0]]]))


def test_normalise_zero_and_all_negative_maps_stay_zero():
    maps = torch.stack([torch.zeros(4, 4), -torch.ones(4, 4), torch.ones(4, 4)])
    out = normalise(maps, 10.0)
    assert torch.isfinite(out).all()
    assert (out[0] == 0).all() and (out[1] == 0).all()
    assert torch.allclose(out[2], torch.full((4, 4), 10.0 / 16))


def test_normalise_each_map_separately_in_a_batch():
    maps = torch.rand(2, 3, 4, 5, 6) - 0.3
    out = normalise(maps, 255.0)
    assert out.shape == maps.shape and (out >= 0).all()
    assert torch.allclose(out.sum(dim=(-2, -1)), torch.full((2, 3, 4), 255.0))


def test_normalise_tiny_total_does_not_overflow():
    maps = torch.zeros(1, 3, 3)
    maps[0, 1, 1] = 1e-44  # a float32 denormal: c / total would be inf
    out = normalise(maps, 255.0)
    assert out[0, 1, 1] == 255.0 and out.sum() == 255.0


# ---------------------------------------------------------------- to_box_cells


def test_to_box_cells_known_answers_and_clamping():
    box = torch.tensor([10.0, 20.0, 66.0, 132.0])  # 56 wide, 112 high: 1 px/cell in x, 2 in y
    xy = torch.tensor([
        [10.0, 20.0],    # top-left corner -> (0, 0)
        [30.4, 60.0],    # 20.4 -> 20; 40 / 2 = 20
        [30.6, 61.2],    # 20.6 -> 21; 41.2 / 2 = 20.6 -> 21
        [65.0, 130.0],   # 55, 55: last cell
        [66.0, 132.0],   # the far edge maps to 56 -> clamped to 55
        [-40.0, 500.0],  # far outside: closest border
        [12.5, 25.0],    # exact half 2.5 -> 2 (half to even), y 2.5 -> 2
        [13.5, 27.0],    # 3.5 -> 4, y 3.5 -> 4
    ])
    cells, inside = to_box_cells(xy, box, 56)
    assert cells.dtype == torch.int64
    assert cells.tolist() == [[0, 0], [20, 20], [21, 21], [55, 55], [55, 55], [0, 55], [2, 2], [4, 4]]
    assert inside.tolist() == [True, True, True, True, False, False, True, True]


def test_to_box_cells_grid_convention_and_non_square_size():
    # Column j is image x = x1 + j * (x2 - x1) / W: here W = 8 cells over 80 px, H = 4 over 40.
    box = torch.tensor([100.0, 0.0, 180.0, 40.0])
    j = torch.arange(8, dtype=torch.float32)
    xy = torch.stack([100.0 + j * 10.0, j.clamp(max=3) * 10.0], dim=-1)
    cells, inside = to_box_cells(xy, box, (4, 8))
    assert cells[:, 0].tolist() == list(range(8))
    assert cells[:, 1].tolist() == [0, 1, 2, 3, 3, 3, 3, 3]
    assert inside.all()


def test_to_box_cells_batches_and_non_finite():
    boxes = torch.tensor([[0.0, 0.0, 56.0, 56.0], [0.0, 0.0, 112.0, 112.0]])  # (2, 4)
    xy = torch.tensor([[[7.0, 9.0], [float("nan"), 3.0]], [[14.0, 18.0], [1.0, 1.0]]])  # (2, 2, 2)
    cells, inside = to_box_cells(xy, boxes, 56)
    assert cells.tolist() == [[[7, 9], [0, 0]], [[7, 9], [0, 0]]]  # 1.0 / 2 = 0.5 -> 0
    assert inside.tolist() == [[True, False], [True, True]]
    # A degenerate box gives a valid cell, flagged as not inside, never garbage integers.
    cells, inside = to_box_cells(torch.tensor([[5.0, 5.0]]), torch.tensor([5.0, 5.0, 5.0, 9.0]), 56)
    assert cells.tolist() == [[0, 0]] and inside.tolist() == [False]


def test_to_box_cells_accepts_numpy_float64():
    cells, _ = to_box_cells(np.array([[28.0, 28.0]]), np.array([0.0, 0.0, 56.0, 56.0]), 56)
    assert cells.tolist() == [[28, 28]]


# ---------------------------------------------------------------- render_gaussians


def test_render_peak_mass_and_symmetry_sigma1():
    maps = render_gaussians(torch.tensor([[20, 30]]), 1.0, 56, 255.0, dtype=torch.float64)[0]
    assert maps.shape == (56, 56)
    assert maps[30, 20].item() == pytest.approx(PEAK_SIGMA1, rel=1e-7)  # row y=30, col x=20
    assert maps[30, 20] == maps.max()
    assert maps.sum().item() == pytest.approx(255.0, rel=1e-12)
    patch = maps[25:36, 15:26]  # 5 cells each side of the centre
    assert torch.allclose(patch, patch.flip(0)) and torch.allclose(patch, patch.flip(1))
    assert torch.allclose(patch, patch.T)  # isotropic
    # Neighbours of the peak are exp(-1/2) and exp(-1) of it.
    assert (maps[30, 21] / maps[30, 20]).item() == pytest.approx(math.exp(-0.5), rel=1e-12)
    assert (maps[31, 21] / maps[30, 20]).item() == pytest.approx(math.exp(-1.0), rel=1e-12)


def test_render_float32_mass_and_argmax():
    cells = torch.tensor([[3, 50], [0, 0], [55, 55], [27, 9]])
    maps = render_gaussians(cells, 1.0, 56, 255.0)
    assert maps.dtype == torch.float32
    assert torch.allclose(maps.sum(dim=(-2, -1)), torch.full((4,), 255.0), rtol=1e-5)
    assert torch.equal(argmax_cells(maps), cells)


def test_render_corner_keeps_mass_and_is_more_peaked():
    maps = render_gaussians(torch.tensor([[0, 0]]), 1.0, 56, 255.0, dtype=torch.float64)[0]
    assert maps.sum().item() == pytest.approx(255.0, rel=1e-12)
    one_side = sum(math.exp(-j * j / 2) for j in range(56))
    assert maps[0, 0].item() == pytest.approx(255.0 / one_side**2, rel=1e-12)


def test_render_equals_blurred_impulse():
    # The definition in docs/design.md#ground-truth: impulse, Gaussian blur (zero borders), renormalise to c.
    for cell, sigma in (((20, 11), 1.0), ((2, 40), 2.5), ((55, 0), 1.5)):
        impulse = np.zeros((56, 56))
        impulse[cell[1], cell[0]] = 1.0
        blurred = ndimage.gaussian_filter(impulse, sigma, mode="constant", truncate=40.0)
        expected = 255.0 * blurred / blurred.sum()
        got = render_gaussians(torch.tensor([cell]), sigma, 56, 255.0, dtype=torch.float64)[0].numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_render_per_keypoint_sigma_present_mask_and_non_square():
    cells = torch.tensor([[[5, 5], [10, 3], [7, 7]], [[1, 2], [3, 4], [5, 6]]])  # (2, 3, 2)
    sigma = torch.tensor([1.0, 2.0, 3.0])  # per keypoint, broadcast over the batch
    present = torch.tensor([[True, False, True], [True, True, True]])
    maps = render_gaussians(cells, sigma, (12, 16), 255.0, present=present, dtype=torch.float64)
    assert maps.shape == (2, 3, 12, 16)
    assert (maps[0, 1] == 0).all()
    mass = maps.sum(dim=(-2, -1))
    assert torch.allclose(mass, torch.tensor([[255.0, 0.0, 255.0], [255.0, 255.0, 255.0]], dtype=torch.float64))
    # Wider sigma, lower peak: interior peaks are close to c / (2 pi sigma^2).
    single = render_gaussians(torch.tensor([[8, 6]]), torch.tensor([2.0]), (12, 16), 255.0, dtype=torch.float64)
    assert single.max().item() == pytest.approx(255.0 / (2 * math.pi * 4.0), rel=2e-2)


def test_render_sigma_with_more_batch_dims_than_cells():
    cells = torch.tensor([[10, 10], [20, 5]])  # (K=2, 2)
    sigma = torch.tensor([[1.0, 1.0], [2.0, 3.0], [1.5, 2.5]])  # (B=3, K=2): one row per sigma set
    maps = render_gaussians(cells, sigma, 32, 255.0, dtype=torch.float64)
    assert maps.shape == (3, 2, 32, 32)
    for b in range(3):
        for j in range(2):
            one = render_gaussians(cells[j : j + 1], sigma[b, j].item(), 32, 255.0, dtype=torch.float64)[0]
            assert torch.allclose(maps[b, j], one)


def test_render_sigma_zero_is_an_impulse_and_outside_cells_clamp():
    maps = render_gaussians(torch.tensor([[4, 2], [-3, 99]]), 0.0, 8, 255.0)
    assert maps[0, 2, 4] == 255.0 and maps[0].sum() == 255.0
    assert maps[1, 7, 0] == 255.0  # (-3, 99) clamps to column 0, row 7


def test_render_batch_shape_of_training():
    gen = torch.Generator().manual_seed(0)
    cells = torch.randint(0, 56, (16, 5, 25, 2), generator=gen)
    sigma = torch.tensor([1.0, 1.5, 2.0, 2.5, 3.0])[torch.randint(0, 5, (16, 5, 25), generator=gen)]
    maps = render_gaussians(cells, sigma, 56, 255.0)
    assert maps.shape == (16, 5, 25, 56, 56)
    assert torch.equal(argmax_cells(maps), cells)
    assert torch.allclose(maps.sum(dim=(-2, -1)), torch.full((16, 5, 25), 255.0), rtol=1e-5)


def test_ground_truth_maps_composes_box_mapping_and_rendering():
    xy = torch.tensor([[28.0, 14.0], [500.0, 500.0]])
    maps, cells = ground_truth_maps(xy, torch.tensor([0.0, 0.0, 56.0, 56.0]), torch.tensor([True, False]),
                                    size=56, sigma=1.0, c=255.0)
    assert cells.tolist() == [[28, 14], [55, 55]]
    assert argmax_cells(maps)[0].tolist() == [28, 14] and (maps[1] == 0).all()


# ---------------------------------------------------------------- argmax_cells


def test_argmax_ties_and_zero_map():
    maps = torch.zeros(3, 4, 5)
    maps[1, 2, 3] = maps[1, 3, 0] = 7.0  # tie: row 2 comes first in row-major order
    maps[2, 0, 4] = maps[2, 1, 1] = 1.0  # tie: row 0 first
    out = argmax_cells(maps)
    assert out.tolist() == [[0, 0], [3, 2], [4, 0]]  # all-zero map -> (0, 0)


# ---------------------------------------------------------------- add_keypoint_noise


def test_noise_std_matches_request_before_clamping():
    std = 2 * 2.95
    cells = torch.full((200_000, 2), 500, dtype=torch.int64)
    out = add_keypoint_noise(cells, std, torch.Generator().manual_seed(1), size=1001)
    offsets = (out - cells).double()
    # Rounding a N(0, std^2) offset adds about 1/12 cell^2 of variance.
    assert offsets.std().item() == pytest.approx(math.sqrt(std**2 + 1 / 12), rel=0.01)
    assert abs(offsets.mean().item()) < 0.05
    assert offsets.abs().max() < 500  # nothing reached the border, so nothing was clamped


def test_noise_is_clamped_inside_and_integer():
    cells = torch.tensor([[0, 0], [55, 55], [0, 55]]).repeat(1000, 1)
    out = add_keypoint_noise(cells, 10.0, torch.Generator().manual_seed(2), size=56)
    assert out.dtype == torch.int64
    assert out.min() >= 0 and out.max() <= 55
    assert (out == 0).any() and (out == 55).any()  # the clamp is actually exercised


def test_noise_reproducible_with_seed_and_per_keypoint_std():
    cells = torch.randint(0, 56, (4, 5, 25, 2), generator=torch.Generator().manual_seed(3))
    a = add_keypoint_noise(cells, 2.95, torch.Generator().manual_seed(7), size=56)
    b = add_keypoint_noise(cells, 2.95, torch.Generator().manual_seed(7), size=56)
    c = add_keypoint_noise(cells, 2.95, torch.Generator().manual_seed(8), size=56)
    assert torch.equal(a, b) and not torch.equal(a, c)
    std = torch.zeros(25)
    std[0] = 5.0  # only the nose moves
    d = add_keypoint_noise(cells, std, torch.Generator().manual_seed(7), size=56)
    assert torch.equal(d[..., 1:, :], cells[..., 1:, :]) and not torch.equal(d[..., 0, :], cells[..., 0, :])


def test_cells_to_image_inverts_to_box_cells():
    from climbpose.heatmaps import cells_to_image

    boxes = torch.tensor([[100.0, 200.0, 212.0, 312.0]])  # 112 px over 56 cells: 2 px per cell
    cells = torch.tensor([[[0, 0], [55, 55], [10, 3]]])
    image = cells_to_image(cells, boxes, 56)
    assert torch.allclose(image, torch.tensor([[[100.0, 200.0], [210.0, 310.0], [120.0, 206.0]]], dtype=image.dtype))
    back, inside = to_box_cells(image, boxes, 56)
    assert torch.equal(back, cells) and bool(inside.all())


# ---------------------------------------------------------------- no subnormal floats
# Intel CPUs take a slow path (about 100x) for every subnormal operand, so nothing fed to a
# model or a loss may hold one: rendered maps, pretraining batches, preprocessed inputs.

TINY32 = torch.finfo(torch.float32).tiny  # smallest normal float32, about 1.18e-38


def subnormal_count(t) -> int:
    """How many values of `t`, viewed as float32, are subnormal (0 < |x| < tiny)."""
    t = torch.as_tensor(t).float().abs()
    return int(((t > 0) & (t < TINY32)).sum())


@pytest.mark.parametrize("sigma", [0.0, 1.0, 1.5, 3.0])
def test_render_has_no_subnormals_and_keeps_mass(sigma):
    cells = torch.tensor([[0, 0], [55, 55], [0, 55], [27, 0], [55, 30], [28, 28], [27, 27]])  # corners, edges, centre
    maps = render_gaussians(cells, sigma, 56, 255.0)
    assert maps.dtype == torch.float32
    assert subnormal_count(maps) == 0
    assert torch.allclose(maps.sum(dim=(-2, -1)).double(), torch.full((len(cells),), 255.0, dtype=torch.float64), rtol=1e-4)
    assert torch.equal(argmax_cells(maps), cells)


def test_render_truncates_profiles_where_weights_fall_below_the_floor():
    # Each profile keeps weights exp(-d^2 / 2 sigma^2) >= sqrt(FLUSH_BELOW) = 1e-15 of its peak:
    # for sigma 1, d = 8 (exp(-32) = 1.3e-14) stays and d = 9 (exp(-40.5) = 2.6e-18) goes, even
    # in float64, where nothing would underflow.
    maps = render_gaussians(torch.tensor([[28, 28], [3, 3]]), 1.0, 56, 255.0, present=torch.tensor([True, False]),
                            dtype=torch.float64)
    assert maps[0, 28, 28].item() == pytest.approx(PEAK_SIGMA1, rel=1e-7)
    assert maps[0].sum().item() == pytest.approx(255.0, rel=1e-12)
    assert maps[0, 28, 36] > 0 and maps[0, 28, 37] == 0 and maps[0, 36, 36] > 0
    assert (maps[1] == 0).all()
    assert FLUSH_BELOW == 1e-30


def test_pretraining_batch_has_no_subnormals():
    from climbpose.synth import sample_keypoint_sequence
    from climbpose.data.window_sets import NoiseSpec
    from climbpose.data.training_windows import pretraining_windows

    sequences = [sample_keypoint_sequence(seed, 12) for seed in range(3)]
    windows = pretraining_windows(sequences, 5, 1, 56, 255.0, 1.0, NoiseSpec.for_run(1, 1), "heatmaps", torch.device("cpu"))
    batch = next(windows.epoch(16, torch.Generator().manual_seed(0)))
    assert batch.inputs.shape == (16, 5, 25, 56, 56) and batch.inputs.dtype == torch.float32
    assert subnormal_count(batch.inputs) == 0
    assert subnormal_count(batch.targets) == 0


def test_preprocessed_inputs_have_no_subnormals():
    from climbpose.data.preprocess import preprocess_video

    heatmaps = np.zeros((2, 25, 56, 56), dtype=np.float32)
    heatmaps[:, :, 10, 10] = 1e-39  # already subnormal in float32
    heatmaps[:, :, 11, 11] = 1e-35  # normal, but tiny next to the peak after scaling
    heatmaps[:, :, 20, 30] = 1e4  # the peak: 1e-39 scales to 2.6e-41, 1e-35 to 2.6e-37
    bboxes = np.tile(np.array([0.0, 0.0, 56.0, 56.0], dtype=np.float32), (2, 1))
    keypoints = np.full((2, 25, 3), 28.0, dtype=np.float32)
    out = preprocess_video(heatmaps, bboxes, np.ones(2, dtype=bool), keypoints, 255.0, 1.0)
    for key in ("inputs", "targets"):
        assert subnormal_count(out[key].astype(np.float32)) == 0, key
    assert subnormal_count(normalise(torch.from_numpy(heatmaps), 255.0)) == 0  # the float32 inputs before storage


def test_normalise_flushes_tiny_values_after_scaling():
    maps = torch.zeros(1, 4, 4)
    maps[0, 0, 0], maps[0, 1, 1], maps[0, 2, 2] = 1.0, 1e-36, 1e-20
    out = normalise(maps, 255.0)
    assert out[0, 1, 1] == 0.0  # 255e-36 is below the flush floor
    assert out[0, 2, 2].item() == pytest.approx(255e-20, rel=1e-6)  # far above it: kept
    assert subnormal_count(out) == 0


def test_subcell_peaks_known_answers():
    """A Gaussian centred between cells is read there; one on a cell, in a corner, or on the border
    stays exactly there (the window shrinks symmetrically); a second blob outside the 5x5 window
    does not pull; an empty map reads (0, 0)."""
    from climbpose.heatmaps import subcell_peaks

    maps = render_gaussians(torch.tensor([[10.3, 20.7], [0.0, 0.0], [55.0, 3.0], [1.0, 54.0]]), 1.0, 56, 255.0)
    cells = subcell_peaks(maps)
    assert torch.allclose(cells[0], torch.tensor([10.3, 20.7]), atol=0.05)
    assert cells[1:].tolist() == [[0.0, 0.0], [55.0, 3.0], [1.0, 54.0]]
    two = maps[0] + 0.5 * render_gaussians(torch.tensor([[30.0, 20.0]]), 1.0, 56, 255.0)[0]
    assert torch.allclose(subcell_peaks(two[None]), cells[:1], atol=1e-4)
    assert subcell_peaks(torch.zeros(2, 8, 8)).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_subcell_peaks_centres_of_mass_by_hand():
    """Hand-computed centres of mass: the radius, the reach at each border, a mass below one, a
    batch of maps, and float16 maps summed as float32."""
    from climbpose.heatmaps import subcell_peaks

    m = torch.zeros(8, 56, 56)  # [map, row y, column x]
    m[0, 10, 10:14] = torch.tensor([1.0, 0.5, 0.5, 0.25])  # column 13 lies outside radius 2: x = 10 + 1.5 / 2
    m[1, 10, 53:56] = torch.tensor([0.25, 1.0, 0.75])       # a cell from the right border, reach 1: x = 54 + 0.5 / 2
    m[2, 0, 10:12] = torch.tensor([1.0, 0.5])               # top row, reach 0 in y: x = 10 + 0.5 / 1.5
    m[3, 10:12, 55] = torch.tensor([1.0, 0.5])              # right column, reach 0 in x: y = 10 + 0.5 / 1.5
    m[4, 10, 10:12] = torch.tensor([0.4, 0.2])              # total mass 0.6: x = 10 + 0.2 / 0.6
    m[5, 0, 55] = 1.0                                       # the corner cell alone
    m[6, 53:56, 10] = torch.tensor([0.25, 1.0, 0.75])       # a cell from the bottom border: y = 54 + 0.5 / 2
    m[7, 10:12, 0] = torch.tensor([1.0, 0.5])               # left column: y = 10 + 0.5 / 1.5
    expected = torch.tensor([[10.75, 10.0], [54.25, 10.0], [10 + 1 / 3, 0.0], [55.0, 10 + 1 / 3], [10 + 1 / 3, 10.0],
                             [55.0, 0.0], [10.0, 54.25], [0.0, 10 + 1 / 3]])
    assert torch.allclose(subcell_peaks(m), expected, atol=1e-6)
    assert torch.allclose(subcell_peaks(m.reshape(2, 4, 56, 56)), expected.reshape(2, 4, 2), atol=1e-6)
    smooth = render_gaussians(torch.tensor([[20.37, 30.81], [3.6, 52.2]]), 1.0, 56, 255.0).half()
    assert torch.allclose(subcell_peaks(smooth), subcell_peaks(smooth.float()), atol=1e-6, rtol=0)
    # A peak the caller already has is used as given: the centre of mass around that cell.
    from climbpose.heatmaps import argmax_cells

    assert torch.equal(subcell_peaks(m, peak=argmax_cells(m)), subcell_peaks(m))
    elsewhere = torch.tensor([[12, 10]] * 8)  # row 10, column 12 of every map
    # cells 10-13 hold 1, 0.5, 0.5, 0.25 at offsets -2..1 from column 12: x = 12 + (-2 - 0.5 + 0.25) / 2.25
    assert torch.allclose(subcell_peaks(m[:1], peak=elsewhere[:1]), torch.tensor([[11.0, 10.0]]), atol=1e-6)


def test_image_to_cells_is_to_box_cells_unrounded_and_cells_to_image_inverts_it():
    from climbpose.heatmaps import cells_to_image, image_to_cells

    boxes = torch.tensor([[10.0, 20.0, 66.0, 132.0]])  # 56 x 112 pixels over a 56-cell grid: 1 x 2 pixels per cell
    xy = torch.tensor([[[10.0, 20.0], [38.6, 77.0], [0.0, 200.0]]])
    cells = image_to_cells(xy, boxes, 56)
    assert cells.tolist() == [[[0.0, 0.0], [pytest.approx(28.6), 28.5], [-10.0, 90.0]]]  # off the box: not clamped
    rounded, inside = to_box_cells(xy, boxes, 56)
    assert rounded.tolist() == [[[0, 0], [29, 28], [0, 55]]] and inside.tolist() == [[True, True, False]]
    assert torch.allclose(cells_to_image(cells, boxes, 56), xy)
    assert torch.isnan(image_to_cells(torch.full((1, 1, 2), float("nan")), boxes, 56)).all()


def test_preprocessing_maps_the_estimators_landmarks_into_the_heatmap_grid():
    from climbpose.data.preprocess import preprocess_video

    heatmaps = np.ones((3, 25, 56, 56), dtype=np.float32)
    bboxes = np.tile(np.array([100.0, 50.0, 212.0, 162.0], dtype=np.float32), (3, 1))  # 2 pixels per cell
    bboxes[2] = 0.0  # no person in frame 2
    keypoints = np.full((3, 25, 3), 120.0, dtype=np.float32)
    landmarks = np.tile(np.array([[101.0, 51.0]], np.float32), (3, 25, 1))
    landmarks[0, 4] = [300.0, 10.0]  # off the box: its distance is kept
    scores = np.full((3, 25), 0.75, np.float32)
    out = preprocess_video(heatmaps, bboxes, np.array([True, True, False]), keypoints, 255.0, 1.0, landmarks, scores)
    assert out["landmark_cells"].dtype == np.float32 and out["landmark_cells"].shape == (3, 25, 2)
    assert out["landmark_cells"][1, 0].tolist() == [0.5, 0.5] and out["landmark_cells"][0, 4].tolist() == [100.0, -20.0]
    assert np.isnan(out["landmark_cells"][2]).all() and (out["landmark_scores"][2] == 0).all()
    assert (out["landmark_scores"][:2] == 0.75).all()
    bare = preprocess_video(heatmaps, bboxes, np.array([True, True, False]), keypoints, 255.0, 1.0)
    assert np.isnan(bare["landmark_cells"]).all() and (bare["landmark_scores"] == 0).all()
    assert all(np.array_equal(bare[key], out[key]) for key in ("inputs", "targets", "target_cells", "present"))


def test_noise_rounds_float_cells_to_the_nearest_and_keeps_integer_cells():
    still = torch.Generator().manual_seed(0)
    assert add_keypoint_noise(torch.tensor([[10.6, 3.4]]), 0.0, still, size=56).tolist() == [[11, 3]]
    assert add_keypoint_noise(torch.tensor([[10, 3]]), 0.0, still, size=56).tolist() == [[10, 3]]


def test_cells_off_the_grid_render_on_its_border_and_empty_grids_are_refused():
    off = render_gaussians(torch.tensor([[60.0, -4.0], [-3.0, 70.0]]), 1.0, 56, 255.0)
    on = render_gaussians(torch.tensor([[55.0, 0.0], [0.0, 55.0]]), 1.0, 56, 255.0)
    assert torch.equal(off, on)
    for size in ((1, 3), (3, 1)):  # one row or one column is a grid
        maps = render_gaussians(torch.tensor([[0.0, 0.0]]), 1.0, size, 255.0)
        assert maps.shape == (1, *size) and maps.sum().item() == pytest.approx(255.0)
    for size in (0, (0, 4), (4, 0)):
        with pytest.raises(ValueError, match=r"^heatmap size must be positive, got "):
            render_gaussians(torch.tensor([[0.0, 0.0]]), 1.0, size, 255.0)


def test_normalise_sums_half_maps_in_float32_and_keeps_float64():
    half = (render_gaussians(torch.tensor([[20.3, 30.6]]), 1.0, 56, 1.0) * 1000).half()  # a sum of 1000: past float16's precision
    out = normalise(half, 255.0)
    assert out.dtype == torch.float32 and out.sum().item() == pytest.approx(255.0, rel=1e-5)
    assert normalise(torch.rand(2, 4, 4, dtype=torch.float64), 1.0).dtype == torch.float64
    assert normalise(torch.ones(1, 2, 2, dtype=torch.int64), 4.0).tolist() == [[[1.0, 1.0], [1.0, 1.0]]]


def test_noise_is_the_generator_s_normal_draws_times_std_rounded_and_added():
    cells = torch.tensor([[[20, 30], [5, 50]]])
    out = add_keypoint_noise(cells, torch.tensor([[3.0, 0.5]]), torch.Generator().manual_seed(11), size=56)
    draws = torch.randn(cells.shape, generator=torch.Generator().manual_seed(11))
    expected = (cells + torch.round(draws * torch.tensor([3.0, 0.5])[None, :, None]).long()).clamp(0, 55)
    assert torch.equal(out, expected) and not torch.equal(out, cells)
