"""Pure heatmap functions of SPEC 1.2 and 1.4: normalise, map keypoints into a box grid, render
Gaussian targets, read argmax cells, and jitter cells for pretraining noise.

Everything is torch so that one implementation renders targets on the CPU during preprocessing
and on the GPU during pretraining; nothing here keeps state or touches the file system.

Conventions used throughout:

* a map stack has shape (..., K, H, W); `size` is an int (square grid) or a pair (H, W);
* a cell is (x, y) = (column, row) of the grid, stored in the last dimension of size 2; cell column
  j of the grid over box (x1, y1, x2, y2) corresponds to image x = x1 + j * (x2 - x1) / W (rows
  likewise with y and H), so a keypoint at the box's left/top edge lands in cell 0.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "HEATMAP_SIZE",
    "MASS",
    "add_keypoint_noise",
    "argmax_cells",
    "ground_truth_maps",
    "normalise",
    "render_gaussians",
    "to_box_cells",
]

HEATMAP_SIZE = 56  # the thesis estimator's native output (SPEC 1.2)
MASS = 255.0  # c: every non-empty map sums to this (SPEC 1.2)

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


def normalise(maps: TensorLike, c: float = MASS) -> Tensor:
    """Clip negative values to 0, then scale each map (last two dims) to sum to `c`.

    A map whose clipped sum is 0 stays all zero (no NaN). Returns a new tensor with the shape of
    `maps`: float64 stays float64, anything else (integers, half precision) becomes float32.
    """
    maps = torch.as_tensor(maps)
    maps = maps.to(_float_dtype(maps))  # sums of half-precision maps could overflow or lose mass
    clipped = maps.clamp_min(0)
    total = clipped.sum(dim=(-2, -1), keepdim=True)
    # Divide before multiplying: each ratio is <= 1, so even a denormal total cannot overflow to
    # inf; an empty map divides by 1 and stays 0.
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return clipped / safe * c


def to_box_cells(keypoints_xy: TensorLike, bboxes: TensorLike, size: Size = HEATMAP_SIZE) -> tuple[Tensor, Tensor]:
    """Map image-pixel keypoints (..., K, 2) into the grid over boxes (..., 4) = (x1, y1, x2, y2).

    x' = (x - x1) * W / (x2 - x1) and y' = (y - y1) * H / (y2 - y1), rounded to the nearest
    integer (torch.round: exact halves go to the even neighbour, as numpy's round does), then
    clamped to [0, W-1] x [0, H-1], so a keypoint outside the box moves to the closest border
    cell (SPEC 1.2).

    Returns `cells` (..., K, 2) int64 as (x=col, y=row), and `inside` (..., K) bool: True where
    the rounded cell lay on the grid before clamping. Non-finite input (a NaN keypoint, or a box
    of zero width or height) gives cell (0, 0) with inside False; presence of a keypoint is the
    caller's business, this function only guarantees a valid integer cell.
    """
    xy = torch.as_tensor(keypoints_xy)
    boxes = torch.as_tensor(bboxes, device=xy.device)
    dtype = torch.promote_types(_float_dtype(xy), _float_dtype(boxes))
    xy, boxes = xy.to(dtype), boxes.to(dtype)
    h, w = _hw(size)
    origin = boxes[..., None, 0:2]  # (..., 1, 2): x1, y1, broadcast over K
    extent = boxes[..., None, 2:4] - origin  # box width and height
    grid = torch.tensor([w, h], dtype=dtype, device=xy.device)
    scaled = torch.round((xy - origin) * grid / extent)
    finite = torch.isfinite(scaled).all(dim=-1)
    scaled = torch.where(finite[..., None], scaled, torch.zeros_like(scaled))
    upper = grid - 1
    inside = finite & ((scaled >= 0) & (scaled <= upper)).all(dim=-1)
    cells = torch.minimum(scaled.clamp_min(0), upper).to(torch.int64)
    return cells, inside


def cells_to_image(cells: TensorLike, bboxes: TensorLike, size: Size = HEATMAP_SIZE) -> Tensor:
    """Inverse of `to_box_cells` without the rounding: grid cells (..., K, 2) -> image pixels.

    Cell column j maps to x = x1 + j * (x2 - x1) / W (same for rows), the grid convention that
    the estimator's resampling and the ground-truth mapping share. Accepts fractional cells.
    """
    xy = torch.as_tensor(cells)
    boxes = torch.as_tensor(bboxes, device=xy.device)
    dtype = torch.promote_types(_float_dtype(xy), _float_dtype(boxes))
    xy, boxes = xy.to(dtype), boxes.to(dtype)
    h, w = _hw(size)
    origin = boxes[..., None, 0:2]
    extent = boxes[..., None, 2:4] - origin
    return origin + xy * extent / torch.tensor([w, h], dtype=dtype, device=xy.device)


def _profile(centre: Tensor, inv_two_var: Tensor, n: int) -> Tensor:
    """Sampled 1-D Gaussian over n cells for centres (..., K), normalised to sum 1 -> (..., K, n)."""
    grid = torch.arange(n, dtype=centre.dtype, device=centre.device)
    weights = torch.exp(-(grid - centre[..., None]).square() * inv_two_var[..., None])
    # The centre is clamped onto the grid, so an integer centre always contributes exp(0) = 1 and
    # the sum is >= 1; the floor only guards non-integer centres with sigma 0 against 0/0.
    return weights / weights.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(centre.dtype).tiny)


def render_gaussians(
    cells: TensorLike,
    sigma: SigmaLike = 1.0,
    size: Size = HEATMAP_SIZE,
    c: float = MASS,
    present: TensorLike | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Render one Gaussian per keypoint: cells (..., K, 2) as (x, y) -> maps (..., K, H, W).

    Each map is a unit impulse at its cell blurred with a Gaussian of standard deviation `sigma`
    (cells), scaled to total mass `c`: peak c / (2 pi sigma^2), about 40.58 for sigma 1 and c 255.
    It is computed directly as the sampled, separable Gaussian on the grid, which is exactly what
    blurring the impulse with an untruncated sampled kernel and zero borders gives once the result
    is renormalised to `c` (a cell on the border keeps mass `c`; the map is just more peaked).
    Only the row and column profiles (..., K, H) and (..., K, W) are built; their outer product is
    the single full-size allocation.

    sigma: a float or a tensor broadcastable to (..., K) (e.g. a per-keypoint sigma for
    SPEC 1.4's experiment 1); sigma 0 gives an exact impulse of mass c. Cells off the grid are
    clamped to its border first (the rule of `to_box_cells`); non-integer cells give a Gaussian
    centred between cells. present: bool broadcastable to (..., K); False gives an all-zero map.
    The result is on the device of `cells`, with `dtype`.
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
    size: Size = HEATMAP_SIZE,
    sigma: SigmaLike = 1.0,
    c: float = MASS,
) -> tuple[Tensor, Tensor]:
    """SPEC 1.2's ground truth in one call: image keypoints and boxes -> (maps, cells).

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
    documented behaviour of torch.argmax; an all-zero (or constant) map therefore gives (0, 0),
    so callers must mask missing keypoints themselves. A NaN counts as the maximum.
    Note the order: SPEC 1.2 names the cell (row, col); this project stores (x, y) everywhere
    (cells, ground truth, PCK), and PCK distances do not depend on the order as long as both
    sides use the same one.
    """
    maps = torch.as_tensor(maps)
    w = maps.shape[-1]
    flat = maps.flatten(-2).argmax(dim=-1)
    return torch.stack((flat % w, torch.div(flat, w, rounding_mode="floor")), dim=-1)


def add_keypoint_noise(
    cells: TensorLike,
    std: SigmaLike,
    generator: torch.Generator | None = None,
    size: Size = HEATMAP_SIZE,
) -> Tensor:
    """SPEC 1.4's pretraining noise: move each cell (..., K, 2) by a Gaussian offset, round, clamp.

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
