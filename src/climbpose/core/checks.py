"""Checks on data where it enters the pipeline: one small function per rule, shared by every loader.

Every reader of data the pipeline did not just make in memory (videos, annotation files, the
estimator's heatmaps, ClimbAlong's deliveries, the preprocessed arrays) calls these instead of
testing on its own, so each rule is written once and its message reads the same wherever it
fires. A check takes `where` (the file, plus the frame or member when that helps) and raises
`DataError`, an `InputError`: one line naming the file and the problem, which a stage prints as
`error: ...` before exiting with status 1. docs/user-guide.md#input-checks-and-interruptions lists the rules.

Conventions the checks enforce:
* keypoint coordinates may be NaN (the project's "missing" marker) but never infinite;
  visibility is never NaN and takes only its format's values ({0, 1} in the project's own arrays,
  COCO's {0, 1, 2} in annotation JSON and ClimbAlong's files, where any value > 0 is "visible");
* heatmaps, scores and the boxes of frames with a person are finite; such a box has x2 > x1 and
  y2 > y1; all-zero heatmaps are allowed (an estimator that found nothing; preprocess counts them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from climbpose.core.errors import InputError
from climbpose.core.keypoints import NAMES

# Kinds of dtype (numpy's dtype.kind letters) an array may have.
FLOAT = "f"
NUMBER = "fiu"  # coordinates and boxes: integers are fine, they are converted
FLAG = "biu"  # bool, or integers that must then be 0 or 1
INTEGER = "iu"
_KIND_NAMES = {FLOAT: "floating point", NUMBER: "a number type", FLAG: "bool (or 0/1 integers)", INTEGER: "an integer type"}

# An annotated keypoint more than this fraction of the image's width (height) outside the image
# is an error: limbs leave the frame by a little, never by half a frame. Far-off points mean
# wrong units (normalised coordinates, another resolution) or a shifted frame numbering.
FAR_OUTSIDE = 0.5

# A video may decode to a few frames fewer than its container lists (edit lists, counts estimated
# from the duration) without comment; more missing frames (dropped, zero-byte chunks, a cut-short
# copy) get a warning, and the frames that exist are used. Only a video without a single decodable
# frame is refused: no share of the listed count tells a broken copy from a whole file, because
# AVI stores a variable frame rate as empty chunks at a fine time base (one at 1 ms lists 433
# frames for 5 pictures over 0.4 s).
DECODE_SLACK_FRAMES, DECODE_SLACK_FRACTION = 2, 0.01


class DataError(InputError):
    """A data file whose content cannot be used; the message names the file and the problem."""


class VideoError(DataError):
    """A video file (or frame folder) that cannot be used; the message names it and the problem."""


def _reason(error: BaseException) -> str:
    """An exception as a short one-line reason."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:160]}" if text else type(error).__name__


def read_npz(path: str | os.PathLike, required: Sequence[str], optional: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """The named arrays of an .npz file, read whole; optional ones only when present.

    The one way loaders open npz files: a missing file, a file that is not an npz archive (a
    .npy, a pickle, random or truncated bytes), a missing member or a member that cannot be
    decoded all become a DataError naming the file. Pickled (object) arrays are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:  # any failure to parse the user's bytes (zip, npy header, pickle) is a bad file
        raise DataError(f"{path}: not a readable .npz file ({_reason(error)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: a single .npy array, not an .npz archive of named arrays")
    with archive:
        missing = [key for key in required if key not in archive.files]
        if missing:
            raise DataError(f"{path}: no '{missing[0]}' array (it holds: {', '.join(sorted(archive.files)) or 'nothing'})")
        arrays = {}
        for key in [*required, *(k for k in optional if k in archive.files)]:
            try:
                arrays[key] = np.asarray(archive[key])
            except Exception as error:  # a damaged member: bad CRC, cut short, a broken header
                raise DataError(f"{path}: array '{key}' cannot be read ({_reason(error)})") from None
    return arrays


def _shape_text(spec: Sequence[int | str], dims: dict[str, int]) -> str:
    parts = [f"{d}={dims[d]}" if isinstance(d, str) and d in dims else str(d) for d in spec]
    return "(" + ", ".join(parts) + ")"


def check_array(where: object, name: str, array: np.ndarray, spec: Sequence[int | str], kinds: str,
                dims: dict[str, int] | None = None) -> dict[str, int]:
    """Check an array's shape and dtype kind; return the sizes of the named dimensions.

    `spec` lists each dimension as a fixed size or a name ("T", "S"); a name must have the same
    size wherever it recurs and the size given in `dims`, if any (so arrays of one file agree
    on T). `kinds` is one of FLOAT, NUMBER, FLAG, INTEGER.
    """
    known = dict(dims or {})
    shape = np.shape(array)
    ok = len(shape) == len(spec)
    if ok:
        for size, want in zip(shape, spec):
            if isinstance(want, str):
                ok = ok and known.setdefault(want, size) == size
            else:
                ok = ok and size == want
    if not ok:
        raise DataError(f"{where}: {name} has shape {tuple(shape)}, expected {_shape_text(spec, dims or {})}")
    dtype = np.asarray(array).dtype
    if dtype.kind not in kinds:
        raise DataError(f"{where}: {name} has dtype {dtype}, expected {_KIND_NAMES.get(kinds, kinds)}")
    if kinds == FLAG and dtype.kind != "b" and not np.isin(array, (0, 1)).all():
        raise DataError(f"{where}: {name} holds values other than 0 and 1")
    return known


def _first(mask: np.ndarray) -> str:
    """Where the first True of a mask is, in words: frame (first axis) and the rest of the index."""
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return f"frame {index[0]}" + (f", index {index[1:]}" if len(index) > 1 else "")


def check_finite(where: object, name: str, array: np.ndarray, allow_nan: bool = False) -> None:
    """No infinite values, and no NaN unless `allow_nan` (NaN coordinates mean 'missing')."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc":
        return  # integers and bools are always finite
    inf = np.isinf(array)
    nan = np.zeros_like(inf) if allow_nan else np.isnan(array)
    bad = inf | nan
    if bad.any():
        counts = [f"{int(n.sum())} {word}" for n, word in ((nan, "NaN"), (inf, "infinite")) if n.any()]
        raise DataError(f"{where}: {' and '.join(counts)} value(s) in {name}, the first at {_first(bad)}")


def _keypoint_name(j: int, count: int, names: Sequence[str] | None) -> str:
    """Keypoint j's name: from `names` (the file's layout), else the project's when there are 25."""
    names = names if names is not None else (NAMES if count == len(NAMES) else None)
    return names[j] if names is not None and j < len(names) else f"keypoint {j}"


def check_visibility(where: object, visibility: np.ndarray, allowed: Sequence[float],
                     names: Sequence[str] | None = None) -> None:
    """Visibility of (..., J) keypoints: never NaN and one of `allowed`."""
    visibility = np.asarray(visibility)
    bad = ~np.isin(visibility, allowed)  # NaN is in no set
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        value = visibility[index]
        raise DataError(f"{where}: frame {index[0]}, {_keypoint_name(index[-1], visibility.shape[-1], names)}: visibility "
                        f"{'NaN' if np.isnan(value) else f'{value:g}'} is not one of {', '.join(f'{a:g}' for a in allowed)}")


def check_inside_image(where: object, xy: np.ndarray, width: int, height: int,
                       names: Sequence[str] | None = None) -> None:
    """Finite (T, J, 2) coordinates lie at most FAR_OUTSIDE of the image size beyond its border."""
    xy = np.asarray(xy, dtype=np.float64)
    low = -FAR_OUTSIDE * np.array([width, height])
    high = (1 + FAR_OUTSIDE) * np.array([width, height])
    with np.errstate(invalid="ignore"):  # NaN (missing) compares False: never an error
        bad = ((xy < low) | (xy > high)).any(axis=-1)
    if bad.any():
        t, j = (int(i) for i in np.argwhere(bad)[0])
        x, y = xy[t, j]
        raise DataError(f"{where}: frame {t}, {_keypoint_name(j, xy.shape[1], names)} at ({x:g}, {y:g}) is far outside the "
                        f"{width}x{height} image (wrong units or frame numbering?); {int(bad.sum())} such keypoint(s)")


def check_keypoints(where: object, keypoints: np.ndarray, visibility: Sequence[float] = (0, 1),
                    image_size: tuple[int, int] | None = None, names: Sequence[str] | None = None) -> None:
    """(T, J, 3) x, y, visibility: coordinates NaN or finite, visibility in `visibility`, and,
    given the image's (width, height), annotated points not far outside it. `names` (the file's
    keypoint layout; default the project's 25) only words the messages."""
    check_finite(where, "keypoint coordinates", keypoints[..., :2], allow_nan=True)
    check_visibility(where, keypoints[..., 2], visibility, names)
    if image_size is not None:
        check_inside_image(where, keypoints[..., :2], *image_size, names=names)


def nonempty_boxes(bboxes: np.ndarray) -> np.ndarray:
    """(T,) bool: boxes x1, y1, x2, y2 with finite corners, x2 > x1 and y2 > y1."""
    bboxes = np.asarray(bboxes)
    finite = np.isfinite(bboxes).all(axis=-1)
    with np.errstate(invalid="ignore"):
        return finite & (bboxes[:, 2] > bboxes[:, 0]) & (bboxes[:, 3] > bboxes[:, 1])


def check_boxes(where: object, bboxes: np.ndarray, detected: np.ndarray) -> None:
    """Every frame marked as having a person has a finite box with x2 > x1 and y2 > y1."""
    bad = np.asarray(detected, dtype=bool) & ~nonempty_boxes(bboxes)
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        box = ", ".join(f"{v:g}" for v in np.asarray(bboxes[t], dtype=np.float64))
        raise DataError(f"{where}: frame {t} is marked detected but its box ({box}) is empty or not finite "
                        f"(x2 <= x1 or y2 <= y1); {int(bad.sum())} such frame(s)")


def narrow_floats(array: np.ndarray) -> np.ndarray:
    """Floats wider than 32 bits as float32 (what the pipeline computes in), anything else as is.

    Call it before checking finiteness: a float64 value beyond float32's range is finite in the
    file but infinite once converted, and would turn into NaN in preprocessing.
    """
    if array.dtype.kind != "f" or array.dtype.itemsize <= 4:
        return array
    with np.errstate(over="ignore"):  # the overflow is the point: the finiteness check reports it
        return array.astype(np.float32)


def check_heatmaps(where: object, heatmaps: np.ndarray, size: int | None = None, name: str = "heatmaps") -> dict[str, int]:
    """(T, 25, S, S) floating-point maps without NaN or inf; S = `size` (heatmaps.size) when given."""
    found = check_array(where, name, heatmaps, ("T", len(NAMES), "S", "S"), FLOAT)
    if size is not None and found["S"] != size:
        raise DataError(f"{where}: {found['S']}x{found['S']} {name}, {size} expected (heatmaps.size; "
                        f"shape {tuple(heatmaps.shape)})")
    check_finite(where, name, heatmaps)
    return found


def check_frame_count(where: object, frames: int, other: object, other_frames: int) -> None:
    """Two files that describe the same video frame by frame must have as many frames."""
    if frames != other_frames:
        raise DataError(f"{where}: {frames} frames, but {other} has {other_frames}; they must describe the same frames")


def check_has_person(where: object, usable: np.ndarray) -> None:
    """A video needs at least one frame with a person (else it gives no window and no target)."""
    usable = np.asarray(usable, dtype=bool)
    if not usable.any():
        raise DataError(f"{where}: no person found in any of its {len(usable)} frames; remove it from the data "
                        "or check the video")


def check_video_frame(where: object, index: int, frame: np.ndarray | None, first_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    """A decoded frame is 8-bit with 3 channels and the size of the video's first frame; returns its shape."""
    if frame is None or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        described = "nothing" if frame is None else f"{frame.dtype} with shape {frame.shape}"
        raise VideoError(f"{where}: frame {index} decodes to {described}: unsupported pixel format "
                         "(convert to 8-bit RGB, e.g. ffmpeg -pix_fmt yuv420p)")
    if first_shape is not None and frame.shape != first_shape:
        raise VideoError(f"{where}: frame {index} is {frame.shape[1]}x{frame.shape[0]} but the first frame is "
                         f"{first_shape[1]}x{first_shape[0]}; all frames must share one size")
    return frame.shape


def check_decoded(where: object, decoded: int, listed: int) -> str | None:
    """A video decodes to at least one frame; `listed` is the frame count its container stores
    (0: it stores none, nothing to compare).

    Returns the one-line warning to give when more frames than the slack are missing, else None.
    """
    if decoded == 0:
        lists = f"truncated or damaged (the container lists {listed} frames), " if listed > 0 else "a damaged file, "
        raise VideoError(f"{where}: no frame could be decoded: {lists}or a codec or pixel format OpenCV's FFmpeg "
                         "cannot read")
    if listed > 0 and decoded < listed - DECODE_SLACK_FRAMES - DECODE_SLACK_FRACTION * listed:
        return f"{where}: the container lists {listed} frames, {decoded} decoded ({listed - decoded} dropped or empty)"
    return None
