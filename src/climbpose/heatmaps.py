"""Pure heatmap functions of docs/design.md#heatmaps and docs/design.md#pretraining: normalise, map
keypoints into a box grid, render Gaussian targets, read argmax cells, and jitter cells for
pretraining noise.

Everything is torch so that one implementation renders targets on the CPU during preprocessing
and on the GPU during pretraining; nothing here keeps state or touches the file system.

Conventions used throughout:

* a map stack has shape (..., K, H, W); `size` is an int (square grid) or a pair (H, W);
* a cell is (x, y) = (column, row) of the grid, stored in the last dimension of size 2; cell column
  j of the grid over box (x1, y1, x2, y2) corresponds to image x = x1 + j * (x2 - x1) / W (rows
  likewise with y and H), so a keypoint at the box's left/top edge lands in cell 0.
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "FLUSH_BELOW",
    "MASS",
    "add_keypoint_noise",
    "argmax_cells",
    "flush_tiny",
    "ground_truth_maps",
    "image_to_cells",
    "normalise",
    "render_gaussians",
    "subcell_peaks",
    "to_box_cells",
]

MASS = 255.0  # c: every non-empty map sums to this (docs/design.md#model-inputs)

# Intel CPUs handle subnormal floats (|x| < 1.18e-38 in float32) in microcode, about 100x slower
# than normal ones, and a Gaussian's far tail is full of them: a pretraining epoch took 186 s
# instead of 34 s on a Xeon until they were gone. Maps fed to a model or a loss therefore hold no
# value below this magnitude except exact zeros. It leaves eight orders of magnitude above the
# subnormal range for the scaling a model's weights apply, and it is far below anything that
# matters next to a mass of c = 255.
FLUSH_BELOW = 1e-30
# A rendered map is the product of two profiles, so each profile is cut at the square root of the
# floor (relative to its peak): exp(-d^2 / 2 sigma^2) < 1e-15 beyond d = 8.3 sigma.
_PROFILE_FLOOR = math.sqrt(FLUSH_BELOW)
# Capping the exponent just past the cut keeps exp itself from producing subnormals.
_PROFILE_EXPONENT_CAP = 1.0 - math.log(_PROFILE_FLOOR)

Size = Union[int, tuple[int, int]]
TensorLike = Union[Tensor, np.ndarray]
SigmaLike = Union[float, Tensor]


def _hw(size: Size) -> tuple[int, int]:
    """(H, W) from an int or a pair, rejecting empty grids early with a readable message."""
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    h, w = int(h), int(w)
    if h < 1 or w < 1:
        raise ValueError(f"heatmap size must be positive, got {size!r}")
    return h, w


def _float_dtype(t: Tensor) -> torch.dtype:
    # Keep float64 if the caller chose it; integers and half precision compute in float32, whose
    # rounding is good to well below a cell for any realistic image size.
    return t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float32


def flush_tiny(t: Tensor, floor: float = FLUSH_BELOW) -> Tensor:
    """A non-negative tensor (maps, weights) with every value <= `floor` set to exactly 0.

    See FLUSH_BELOW for why. One fused pass (torch's threshold), so it is cheap on large stacks;
    NaN stays NaN, but negative values would become 0 as well: only for non-negative input.
    """
    return torch.nn.functional.threshold(t, floor, 0.0)


def normalise(maps: TensorLike, c: float) -> Tensor:
    """Clip negative values to 0, then scale each map (last two dims) to sum to `c`.

    A map whose clipped sum is 0 stays all zero (no NaN). Values below FLUSH_BELOW after scaling
    become 0, so the result holds no subnormal float. Returns a new tensor with the shape of
    `maps`: float64 stays float64, anything else (integers, half precision) becomes float32.
    """
    maps = torch.as_tensor(maps)
    maps = maps.to(_float_dtype(maps))  # sums of half-precision maps could overflow or lose mass
    clipped = maps.clamp_min(0)
    total = clipped.sum(dim=(-2, -1), keepdim=True)
    # Divide before multiplying: each ratio is <= 1, so even a denormal total cannot overflow to
    # inf; an empty map divides by 1 and stays 0.
    safe = torch.where(total > 0, total, torch.ones_like(total))
    # Preprocessing stores the result as float16 and training reads it back as float32: every
    # float16 value, its subnormals (>= 6e-8) included, widens to a normal float32, and anything
    # below 3e-8 rounds to 0, so the stored copy is subnormal-free with or without this flush
    # (measured: a map with a 1e4 peak and cells of 1e-39 and 1e-35 gives 1 float32 subnormal
    # here unflushed and 0 after the float16 round trip). The flush protects callers of the
    # float32 result. Scaling in place (`clipped` is a fresh tensor) pays for it: on a
    # (300, 25, 56, 56) stack this function went from 0.27-0.31 s to 0.21 s with the flush.
    return flush_tiny(clipped.div_(safe).mul_(c))


def to_box_cells(keypoints_xy: TensorLike, bboxes: TensorLike, size: Size) -> tuple[Tensor, Tensor]:
    """Map image-pixel keypoints (..., K, 2) into the grid over boxes (..., 4) = (x1, y1, x2, y2).

    x' = (x - x1) * W / (x2 - x1) and y' = (y - y1) * H / (y2 - y1), rounded to the nearest
    integer (torch.round: exact halves go to the even neighbour, as numpy's round does), then
    clamped to [0, W-1] x [0, H-1], so a keypoint outside the box moves to the closest border
    cell (docs/design.md#ground-truth).

    Returns `cells` (..., K, 2) int64 as (x=col, y=row), and `inside` (..., K) bool: True where
    the rounded cell lay on the grid before clamping. Non-finite input (a NaN keypoint, or a box
    of zero width or height) gives cell (0, 0) with inside False; presence of a keypoint is the
    caller's business, this function only guarantees a valid integer cell.
    """
    h, w = _hw(size)
    scaled = torch.round(image_to_cells(keypoints_xy, bboxes, size))
    grid = torch.tensor([w, h], dtype=scaled.dtype, device=scaled.device)
    finite = torch.isfinite(scaled).all(dim=-1)
    scaled = torch.where(finite[..., None], scaled, torch.zeros_like(scaled))
    upper = grid - 1
    inside = finite & ((scaled >= 0) & (scaled <= upper)).all(dim=-1)
    cells = torch.minimum(scaled.clamp_min(0), upper).to(torch.int64)
    return cells, inside


def image_to_cells(keypoints_xy: TensorLike, bboxes: TensorLike, size: Size) -> Tensor:
    """Image pixels (..., K, 2) -> fractional grid cells over boxes (..., 4), neither rounded nor
    clamped: x' = (x - x1) * W / (x2 - x1), y' likewise. `to_box_cells` is this, rounded and clamped
    onto the grid; `cells_to_image` is its inverse. NaN stays NaN; float64 input stays float64.
    """
    xy, origin, extent, grid = _box_grid(keypoints_xy, bboxes, size)
    return (xy - origin) * grid / extent


def cells_to_image(cells: TensorLike, bboxes: TensorLike, size: Size) -> Tensor:
    """Inverse of `to_box_cells` without the rounding: grid cells (..., K, 2) -> image pixels.

    Cell column j maps to x = x1 + j * (x2 - x1) / W (same for rows), the grid convention that
    the estimator's resampling and the ground-truth mapping share. Accepts fractional cells.
    """
    xy, origin, extent, grid = _box_grid(cells, bboxes, size)
    return origin + xy * extent / grid


def _box_grid(points: TensorLike, bboxes: TensorLike, size: Size) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Points (..., K, 2) and boxes (..., 4) in one float dtype, with each box's origin (x1, y1) and
    extent (width, height) as (..., 1, 2) and the grid's (W, H): the pieces of both mappings."""
    xy = torch.as_tensor(points)
    boxes = torch.as_tensor(bboxes, device=xy.device)
    dtype = torch.promote_types(_float_dtype(xy), _float_dtype(boxes))
    xy, boxes = xy.to(dtype), boxes.to(dtype)
    h, w = _hw(size)
    origin = boxes[..., None, 0:2]  # x1, y1, broadcast over K
    return xy, origin, boxes[..., None, 2:4] - origin, torch.tensor([w, h], dtype=dtype, device=xy.device)


def _profile(centre: Tensor, inv_two_var: Tensor, n: int) -> Tensor:
    """Sampled 1-D Gaussian over n cells for centres (..., K), normalised to sum 1 -> (..., K, n).

    Weights below _PROFILE_FLOOR of the peak are cut to exactly 0 before normalising, so that no
    rendered map holds a subnormal float (see FLUSH_BELOW); the mass they carried (under 1e-15 of
    the total) goes back to the kept cells through the normalisation.
    """
    grid = torch.arange(n, dtype=centre.dtype, device=centre.device)
    exponent = (grid - centre[..., None]).square() * inv_two_var[..., None]
    # Measured from the nearest cell, so the peak weight is exactly 1 and the sum is >= 1: no 0/0,
    # and a non-integer centre with sigma 0 becomes an impulse at its nearest cell (split between
    # the two at an exact half) instead of an all-zero map.
    exponent = exponent - exponent.amin(dim=-1, keepdim=True)
    weights = flush_tiny(torch.exp(-exponent.clamp_max(_PROFILE_EXPONENT_CAP)), _PROFILE_FLOOR)
    return weights / weights.sum(dim=-1, keepdim=True)


def render_gaussians(
    cells: TensorLike,
    sigma: SigmaLike,
    size: Size,
    c: float,
    present: TensorLike | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Render one Gaussian per keypoint: cells (..., K, 2) as (x, y) -> maps (..., K, H, W).

    Each map is a unit impulse at its cell blurred with a Gaussian of standard deviation `sigma`
    (cells), scaled to total mass `c`: peak c / (2 pi sigma^2), about 40.58 for sigma 1 and c 255.
    It is computed directly as the sampled, separable Gaussian on the grid, which is what blurring
    the impulse with a sampled kernel and zero borders gives once the result is renormalised to
    `c` (a cell on the border keeps mass `c`; the map is just more peaked). The kernel is cut
    where a profile falls below 1e-15 of its peak (beyond 8.3 sigma), so every value is either 0
    or at least c * FLUSH_BELOW / (H * W): never a subnormal float (slow on Intel CPUs) for any
    sigma as long as c >= 1.2e-8 * H * W, i.e. c >= 4e-5 at 56x56.
    Only the row and column profiles (..., K, H) and (..., K, W) are built; their outer product is
    the single full-size allocation.

    sigma: a float or a tensor broadcastable to (..., K) (e.g. a per-keypoint sigma for experiment
    1, docs/design.md#input-noise-and-the-three-experiments); sigma 0 gives an exact impulse of mass
    c. Cells off the grid are clamped to its border first (the rule of `to_box_cells`); non-integer
    cells give a Gaussian centred between cells. present: bool broadcastable to (..., K); False
    gives an all-zero map. The result is on the device of `cells`, with `dtype`.
    """
    cells = torch.as_tensor(cells)
    device = cells.device
    h, w = _hw(size)
    x = cells[..., 0].to(dtype).clamp(0, w - 1)
    y = cells[..., 1].to(dtype).clamp(0, h - 1)
    sig = torch.as_tensor(sigma, dtype=dtype, device=device)
    # Floor 2 sigma^2 at the smallest normal float so sigma 0 becomes an impulse instead of 0/0.
    inv_two_var = 1.0 / (2.0 * sig.square()).clamp_min(torch.finfo(dtype).tiny)
    # sigma may carry batch dimensions that cells lack (one set of cells, several sigmas).
    x, y, inv_two_var = torch.broadcast_tensors(x, y, inv_two_var)
    gx = _profile(x, inv_two_var, w)
    gy = _profile(y, inv_two_var, h)
    # Fold mass and presence into the (smaller) row profile before the outer product.
    scale = torch.full(x.shape, float(c), dtype=dtype, device=device)
    if present is not None:
        scale = scale * torch.as_tensor(present, device=device).to(dtype)
    gy = gy * scale[..., None]
    return gy[..., :, None] * gx[..., None, :]


def ground_truth_maps(
    keypoints_xy: TensorLike,
    bboxes: TensorLike,
    present: TensorLike | None = None,
    *,
    size: Size,
    sigma: SigmaLike,
    c: float,
) -> tuple[Tensor, Tensor]:
    """The ground truth (docs/design.md#ground-truth) in one call: image keypoints and boxes -> (maps, cells).

    The composition of `to_box_cells` and `render_gaussians`; missing keypoints (present False)
    give all-zero maps. Returns maps (..., K, H, W) float32 and cells (..., K, 2) int64 (x, y).
    """
    cells, _ = to_box_cells(keypoints_xy, bboxes, size)
    if present is not None:
        present = torch.as_tensor(present, device=cells.device)
    return render_gaussians(cells, sigma, size, c, present=present), cells


def argmax_cells(maps: TensorLike) -> Tensor:
    """The argmax cell of each map (..., K, H, W) -> (..., K, 2) int64 as (x=col, y=row).

    Ties go to the first maximum in row-major order (smallest row, then smallest column), the
    documented behaviour of torch.argmax; an all-zero (or constant) map therefore gives (0, 0), so
    callers must mask missing keypoints themselves. A NaN counts as the maximum. Note the order: the
    thesis names the cell (row, col) (docs/design.md#heatmaps); this project stores (x, y)
    everywhere (cells, ground truth, PCK), and PCK distances do not depend on the order as long as
    both sides use the same one.
    """
    maps = torch.as_tensor(maps)
    return flat_index_cells(maps.flatten(-2).argmax(dim=-1), maps.shape[-1])


def flat_index_cells(index: Tensor, width: int) -> Tensor:
    """Flat cell indices (...) of maps `width` cells wide -> cells (..., 2) as (x=col, y=row)."""
    return torch.stack((index % width, torch.div(index, width, rounding_mode="floor")), dim=-1)


def add_keypoint_noise(
    cells: TensorLike,
    std: SigmaLike,
    generator: torch.Generator | None = None,
    *,
    size: Size,
) -> Tensor:
    """The pretraining noise (docs/design.md#input-noise-and-the-three-experiments): move each cell
    (..., K, 2) by a Gaussian offset, round, clamp.

    Both coordinates get independent N(0, std^2) offsets (std in cells, s x 2.95 in the thesis
    runs; a float or a tensor broadcastable to (..., K)); the offset is rounded to whole cells
    and the result clamped into [0, W-1] x [0, H-1]. The random numbers come from `generator`
    (it must live on the device of `cells`), so a seeded generator reproduces the same noise.
    Returns int64 cells on the device of `cells`.
    """
    cells = torch.as_tensor(cells)
    h, w = _hw(size)
    noise = torch.randn(cells.shape, generator=generator, dtype=torch.float32, device=cells.device)
    std_t = torch.as_tensor(std, dtype=torch.float32, device=cells.device)
    # Round the offset, not the sum, so integer cells stay exactly integer and the rounding does
    # not depend on the parity of the cell.
    offset = torch.round(noise * std_t[..., None]).to(torch.int64)
    base = torch.round(cells) if cells.is_floating_point() else cells
    moved = base.to(torch.int64) + offset
    upper = torch.tensor([w - 1, h - 1], dtype=torch.int64, device=cells.device)
    return torch.minimum(moved.clamp_min(0), upper)


def subcell_peaks(maps: TensorLike, radius: int = 2, peak: Tensor | None = None) -> Tensor:
    """Each map's peak with sub-cell precision: (..., K, H, W) -> (..., K, 2) float32 as (x, y).

    The argmax cell moved to the centre of mass of the map inside the (2r+1) x (2r+1) square
    around it. A cell-quantised argmax is up to half a cell off even when the map is exact; the
    local centre of mass recovers the position between cells from the peak's shape, while the
    window keeps a second blob elsewhere in the map from pulling it. Near the border the square
    shrinks symmetrically (a peak in cell 1 uses cells 0-2), so a blob centred on a border cell is
    not pulled inward. An all-zero map gives (0, 0), like `argmax_cells`. `peak`: the maps'
    `argmax_cells`, when the caller has them already (the argmax is a pass over every cell).
    """
    maps = torch.as_tensor(maps)
    maps = maps.to(_float_dtype(maps))
    h, w = maps.shape[-2:]
    if peak is None:
        peak = argmax_cells(maps)
    offsets = torch.arange(-radius, radius + 1, device=maps.device)
    cols = peak[..., 0, None] + offsets  # (..., K, n)
    rows = peak[..., 1, None] + offsets
    reach_x = torch.minimum(peak[..., 0], w - 1 - peak[..., 0]).clamp_max(radius)[..., None]
    reach_y = torch.minimum(peak[..., 1], h - 1 - peak[..., 1]).clamp_max(radius)[..., None]
    col_ok = offsets.abs() <= reach_x
    row_ok = offsets.abs() <= reach_y
    # Gather the square around the peak, rows first, then columns (clamped onto the grid: the
    # masks above zero whatever a clamp repeated).
    flat_rows = torch.gather(maps, -2, rows.clamp(0, h - 1)[..., None].expand(*rows.shape, w))
    patch = torch.gather(flat_rows, -1, cols.clamp(0, w - 1)[..., None, :].expand(*rows.shape, len(offsets)))
    patch = patch.clamp_min(0) * (row_ok[..., :, None] & col_ok[..., None, :])
    mass = patch.sum(dim=(-2, -1))
    safe = torch.where(mass > 0, mass, torch.ones_like(mass))
    dx = (patch.sum(dim=-2) * offsets).sum(dim=-1) / safe
    dy = (patch.sum(dim=-1) * offsets).sum(dim=-1) / safe
    return (peak.to(maps.dtype) + torch.stack((dx, dy), dim=-1)).float()
