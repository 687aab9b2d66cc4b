"""BRACE (Moltisanti et al., ECCV 2022, breakdancing) as pretraining keypoint sequences.

Layout of the keypoint release (dataset.zip of github.com/dmoltisanti/brace), one JSON file per
segment (a short dance unit of one sequence):

    <brace_dir>/<year>/<video_id>/<video_id>_<start>-<end>_<movement>.json

Each file maps frame ids "<video_id>/img-<6-digit frame number>.png" to {"box": [x, y, w, h,
score], "keypoints": 17 x [x, y, score]} in 1920x1080 pixels, COCO's keypoint order. Frame
numbers come from ffmpeg's img-%06d names; only their order and gaps matter here. COCO's eyes
have no place in the 25-keypoint layout and are dropped; the other 15 map by name, and the
project's hand, heel and foot keypoints are missing (NaN). Frames a segment lacks become frames
without keypoints, which the pretraining stage cuts windows at. The manually annotated subset
(manual_keypoints.zip, per-frame npz) is not needed: the segment files cover every frame.
Other JSON files under the folder (BRACE's annotations/, say) are ignored by their names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from climbpose.core.checks import check_finite
from climbpose.data.sources import SourceError
from climbpose.data.sources.layout import COCO17, missing_keypoints, to_project_layout
from climbpose.core.io import data_files

SEGMENT_NAME = re.compile(r"^(?P<video>.+)_(?P<start>\d+)-(?P<end>\d+)_(?P<movement>[A-Za-z]+)$")
FRAME_NUMBER = re.compile(r"(\d+)\D*$")


@dataclass
class BraceSegment:
    name: str  # the file stem
    video_id: str
    movement: str
    first_frame: int  # frame number of keypoints[0]
    keypoints: np.ndarray  # (T, 25, 3) float32 pixels, x, y, visible; NaN rows for frames the file lacks
    bboxes: np.ndarray  # (T, 4) float32 x1, y1, x2, y2; NaN where the file lacks the frame


def load_segment(path: str | Path) -> BraceSegment:
    """One segment file -> consecutive frames from its first to its last labelled frame."""
    path = Path(path)
    match = SEGMENT_NAME.match(path.stem)
    if match is None:
        raise SourceError(f"{path}: not a BRACE segment file name (<video_id>_<start>-<end>_<movement>.json)")
    try:
        frames = json.loads(path.read_text())
        numbers = {}
        for frame_id in frames:
            found = FRAME_NUMBER.search(Path(frame_id).stem)
            if found is None:
                raise SourceError(f"{path}: frame id {frame_id!r} holds no frame number")
            numbers[int(found.group(1))] = frames[frame_id]
        if not numbers:
            raise SourceError(f"{path}: no frames")
        first, last = min(numbers), max(numbers)
        t = last - first + 1
        keypoints = missing_keypoints((t,))
        bboxes = np.full((t, 4), np.nan, dtype=np.float32)
        for number, entry in numbers.items():
            joints = np.asarray(entry["keypoints"], dtype=np.float32).reshape(len(COCO17), 3)
            joints[:, 2] = joints[:, 2] > 0  # BRACE's scores are all 1 ("for compatibility"): visible
            keypoints[number - first] = to_project_layout(joints, COCO17)
            if entry.get("box") is not None:
                x, y, w, h = np.asarray(entry["box"], dtype=np.float32)[:4]
                bboxes[number - first] = (x, y, x + w, y + h)
    except SourceError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # JSONDecodeError is a ValueError
        raise SourceError(f"{path}: malformed BRACE segment file ({type(error).__name__}: {error})") from None
    # Frames count from the segment's first; NaN is a frame the file lacks, inf a broken file.
    check_finite(path, "keypoint coordinates", keypoints[..., :2], allow_nan=True)
    return BraceSegment(path.stem, match["video"], match["movement"], first, keypoints, bboxes)


def segment_files(directory: str | Path) -> list[Path]:
    """The segment files under a BRACE folder (sorted); raises when there are none."""
    files = [p for p in data_files(directory, "**/*.json") if SEGMENT_NAME.match(p.stem)]
    if not files:
        raise SourceError(f"{directory}: no BRACE segment .json files (pretrain.brace_dir; "
                          "docs/data-formats.md#public-pose-datasets-for-pretraining-pretrainsources)")
    return files
