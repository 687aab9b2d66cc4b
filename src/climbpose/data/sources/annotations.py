"""Keypoint annotations of video frames in JSON: the project's own format and COCO's.

Both live in `<dir>/annotations/*.json` of a `videos` folder; a file is COCO when it has
`images`, `annotations` and `categories`, and the project's format when it has `frames`.

The project's format, one file per video, named after the video (`<video>.json`):

    {"keypoint_names": ["nose", "left_ear", ...],          optional; default: the 25 of docs/design.md#keypoints
     "frames": [{"index": 0, "keypoints": [[x, y, v], ...]},    one [x, y, v] per name
                {"index": 5, "keypoints": [...]}]}

`index` counts the video's frames from 0; frames not listed are not annotated.

COCO keypoint files as labelling tools export them (CVAT, Label Studio, Roboflow, ...): the
keypoint names come from the annotation's category, each annotation's `keypoints` is the flat
list x1, y1, v1, x2, ... in image pixels. An image belongs to the video named by the folder part
of its `file_name` ("clip01/frame_000012.jpg" -> clip01), or, without one, to the video the JSON
file is named after. Which frame it is: see `keypoint_array`. When an image has several
annotated people the one with the most labelled keypoints is taken (one climber per video).

Visibility v, in both formats, is COCO's: 0 not labelled (x, y are ignored: COCO writes 0, 0
there), 1 labelled but not visible, 2 labelled and visible. Not labelled, or a null coordinate,
becomes missing (NaN); labelled keypoints keep their position and are scored, and `visible` is 1
for v = 2. Names are mapped onto the 25 keypoints by `layout.to_project_layout`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from climbpose.core.checks import check_keypoints
from climbpose.data.sources import SourceError
from climbpose.data.sources.layout import layout_indices, to_project_layout
from climbpose.core.io import data_files
from climbpose.core.keypoints import NAMES


@dataclass
class FrameLabels:
    """One video's labelled frames, raw (x, y, v) per keypoint name, keyed by frame index
    (the project's format) or by image file name (COCO)."""

    names: tuple[str, ...]
    by_index: dict[int, np.ndarray] = field(default_factory=dict)
    by_file: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""  # the file(s) it came from, for error messages


def _triplets(values, n: int, where: str, default_names: bool = False) -> np.ndarray:
    """A list of [x, y, v] (or COCO's flat list) -> (n, 3) float32 with None -> NaN."""
    flat = [np.nan if v is None else v for v in np.asarray(values, dtype=object).ravel()]
    if len(flat) != 3 * n:
        hint = (f"; the file lists no keypoint_names, so the project's {n} are assumed: add the names "
                "(and data.keypoint_map for names of another layout)") if default_names else ""
        raise SourceError(f"{where}: {len(flat)} numbers for {n} keypoints (x, y, v each){hint}")
    if any(isinstance(v, (str, bytes, bool)) for v in flat):
        raise SourceError(f"{where}: keypoint values must be numbers or null")
    return np.asarray(flat, dtype=np.float32).reshape(n, 3)


def _names(value, where: Path) -> tuple[str, ...]:
    """A keypoint name list: distinct strings."""
    if not isinstance(value, list) or not value or not all(isinstance(n, str) for n in value):
        raise SourceError(f"{where}: keypoint names must be a non-empty list of strings")
    if len(set(value)) != len(value):
        raise SourceError(f"{where}: a keypoint name is listed twice")
    return tuple(value)


def _read_project(data: dict, path: Path) -> dict[str, FrameLabels]:
    given = data.get("keypoint_names") or None  # absent (or empty): the project's 25
    names = NAMES if given is None else _names(given, path)
    labels = FrameLabels(names, source=str(path))
    if not isinstance(data["frames"], list):
        raise SourceError(f"{path}: 'frames' must be a list")
    for entry in data["frames"]:
        index = entry["index"]
        if not isinstance(index, int) or isinstance(index, bool):
            raise SourceError(f"{path}: frame index {index!r} is not an integer")
        if index in labels.by_index:
            raise SourceError(f"{path}: frame {index} is listed twice")
        labels.by_index[index] = _triplets(entry["keypoints"], len(names), f"{path}, frame {index}", given is None)
    return {path.stem: labels}


def _read_coco(data: dict, path: Path) -> dict[str, FrameLabels]:
    names_of = {c["id"]: _names(c["keypoints"], path) if c.get("keypoints") else () for c in data["categories"]}
    images = {img["id"]: img["file_name"] for img in data["images"]}
    best: dict[int, tuple[int, np.ndarray, tuple[str, ...]]] = {}
    for ann in data["annotations"]:
        names = names_of.get(ann.get("category_id"), ())
        if not names or "keypoints" not in ann:
            continue  # a box-only annotation or a category without keypoints
        raw = _triplets(ann["keypoints"], len(names), f"{path}, annotation {ann.get('id')}")
        labelled = int((raw[:, 2] > 0).sum())
        image = ann["image_id"]
        if image not in best or labelled > best[image][0]:
            best[image] = (labelled, raw, names)
    videos: dict[str, FrameLabels] = {}
    for image, (_, raw, names) in best.items():
        file_name = Path(images[image])
        video = file_name.parent.name or path.stem
        labels = videos.setdefault(video, FrameLabels(names, source=str(path)))
        if labels.names != names:
            raise SourceError(f"{path}: video {video} is labelled with two different keypoint lists")
        labels.by_file[file_name.name] = raw
    return videos


def read_annotation_file(path: str | Path) -> dict[str, FrameLabels]:
    """The labelled frames of one JSON file, by video name."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict) and {"images", "annotations", "categories"} <= set(data):
            return _read_coco(data, path)
        if isinstance(data, dict) and "frames" in data:
            return _read_project(data, path)
    except SourceError:
        raise
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({type(error).__name__}: {error.strerror or error})") from None
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; a number beyond float32 overflows;
    # wrong types give Key/Type/Attribute/IndexErrors; absurd nesting a RecursionError.
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError) as error:
        message = " ".join(str(error).split())[:160]
        raise SourceError(f"{path}: malformed annotation file ({type(error).__name__}: {message})") from None
    raise SourceError(f"{path}: neither COCO keypoints (images, annotations, categories) nor the project's format (frames)")


def read_annotation_dir(directory: str | Path) -> dict[str, FrameLabels]:
    """All `*.json` files of a folder, merged by video (a frame labelled in two files is an error)."""
    merged: dict[str, FrameLabels] = {}
    for path in data_files(directory, "*.json"):
        for video, labels in read_annotation_file(path).items():
            if video not in merged:
                merged[video] = labels
                continue
            into = merged[video]
            twice = (set(into.by_index) & set(labels.by_index)) | (set(into.by_file) & set(labels.by_file))
            if into.names != labels.names or twice:
                raise SourceError(f"video {video} is labelled in both {into.source} and {path} "
                                 f"({'different keypoint lists' if into.names != labels.names else f'frames {sorted(twice)[:3]}'})")
            into.by_index.update(labels.by_index)
            into.by_file.update(labels.by_file)
            into.source += f", {path}"
    return merged


_TRAILING_NUMBER = re.compile(r"(\d+)\D*$")


def frame_number(file_name: str) -> int:
    """The last number in an image file name's stem: frame_000012.jpg -> 12, img-12_a.png -> 12."""
    match = _TRAILING_NUMBER.search(Path(file_name).stem)
    if match is None:
        raise SourceError(f"image file name {file_name!r} holds no frame number")
    return int(match.group(1))


def keypoint_array(labels: FrameLabels, n_frames: int, frame_files: list[str] | None = None,
                   frame_number_base: int = 0, keypoint_map: Mapping[str, str] | None = None) -> np.ndarray:
    """A video's labels as (n_frames, 25, 3) float32 x, y, visible; NaN x, y where not labelled.

    COCO images are placed by file name when the video is a folder of frames (`frame_files`, in
    frame order), else by the number in the file name: frame index = number - frame_number_base
    (CVAT numbers from 0; ffmpeg's img-%06d from 1). Errors name the annotation file.
    """
    try:
        return _keypoint_array(labels, n_frames, frame_files, frame_number_base, keypoint_map)
    except SourceError as error:
        message = str(error)
        raise SourceError(message if message.startswith(labels.source) else f"{labels.source}: {message}") from None


def _keypoint_array(labels: FrameLabels, n_frames: int, frame_files: list[str] | None,
                    frame_number_base: int, keypoint_map: Mapping[str, str] | None) -> np.ndarray:
    raw = np.full((n_frames, len(labels.names), 3), np.nan, dtype=np.float32)
    raw[..., 2] = 0.0
    position = {name: i for i, name in enumerate(frame_files or [])}
    placed = list(labels.by_index.items())
    for file_name, values in labels.by_file.items():
        if frame_files is not None:
            if file_name not in position:
                raise SourceError(f"{labels.source}: image {file_name} is not a frame of the video's folder")
            placed.append((position[file_name], values))
        else:
            placed.append((frame_number(file_name) - frame_number_base, values))
    for index, values in placed:
        if not 0 <= index < n_frames:
            raise SourceError(f"{labels.source}: frame {index} is outside the video's {n_frames} frames "
                             "(check data.frame_number_base)")
        raw[index] = values
    # Checked here, where frames have their video's numbering: COCO's visibility, never NaN;
    # coordinates NaN (null) or finite.
    check_keypoints(labels.source, raw, visibility=(0, 1, 2), names=labels.names)
    v = raw[..., 2]
    labelled = np.isfinite(raw[..., :2]).all(axis=-1) & (v > 0)
    keypoints = raw.copy()
    keypoints[..., 2] = (v >= 2).astype(np.float32)
    keypoints[~labelled, :2] = np.nan
    keypoints[~labelled, 2] = 0.0
    src, _, dropped = layout_indices(labels.names, keypoint_map)
    if len(src) == 0:
        raise SourceError(f"none of its keypoint names ({', '.join(dropped[:4])}{', ...' if len(dropped) > 4 else ''}) "
                          "is one of the project's 25; map them with data.keypoint_map")
    return to_project_layout(keypoints, labels.names, keypoint_map)
