"""The finetuning data of `data.source`, as the extract and preprocess stages need it.

* synthetic: `data/synthetic/videos/*.mp4` through the estimator, keypoints from
  `data/synthetic/keypoints/<video>.npz` (the synthesize stage's output);
* videos: the user's videos through the estimator, keypoints from their JSON or COCO
  annotations (`videos`, `annotations`);
* climbalong: the delivered heatmaps and boxes stand in for the estimator (`climbalong`).

Every source yields the same thing per video, in name order: raw estimator maps, boxes, a
detected flag and (T, 25, 3) keypoints with NaN where not annotated, or a `Skipped` record
saying why a video is left out. The source's folder is only ever read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from climbpose.core.config import DataParams
from climbpose.core.checks import NUMBER, check_array, check_frame_count, check_inside_image, check_keypoints, narrow_floats, read_npz
from climbpose.data.estimates import read_estimates
from climbpose.data.sources import SourceError, climbalong
from climbpose.data.sources.videos import VideoAnnotations, list_videos
from climbpose.core.io import data_files
from climbpose.core.keypoints import K
from climbpose.video import probe, read_frames


@dataclass
class SourceVideo:
    """One video ready for `climbpose.data.preprocess.preprocess_video`."""

    name: str
    heatmaps: np.ndarray  # (T, 25, S, S) raw estimator maps (any sign; preprocessing clips at 0)
    bboxes: np.ndarray  # (T, 4) x1, y1, x2, y2
    detected: np.ndarray  # (T,) bool
    keypoints: np.ndarray  # (T, 25, 3) x, y, visible; NaN x, y where not annotated
    where: str = ""  # the file to name in errors about this video (its video file, or ClimbAlong's inputs)
    # The estimator's own regressed landmarks (T, 25, 2) image pixels and per-keypoint scores (T, 25),
    # when its output has them (BlazePose does; ClimbAlong's delivery and some precomputed files do not).
    landmarks: np.ndarray | None = None
    scores: np.ndarray | None = None


@dataclass
class Skipped:
    name: str
    reason: str


def estimator_videos(data: DataParams) -> list[Path]:
    """The videos (files or frame folders) the extract stage runs the estimator on; none for
    climbalong, whose heatmaps come with the data."""
    if data.source == "synthetic":
        folder = Path(data.dir) / "videos"
        videos = data_files(folder, "*.mp4")
        if not videos:
            raise SourceError(f"{folder}: no .mp4 videos to extract")
        return videos
    if data.source == "videos":
        return list(list_videos(data.dir).values())
    return []


def delivered_boxes(data: DataParams) -> dict[str, np.ndarray]:
    """climbalong: each video's delivered boxes (T, 4), read without loading the heatmaps."""
    return {name: climbalong.read_boxes(Path(data.dir) / climbalong.INPUTS / f"{name}.npz")
            for name in climbalong.video_names(data.dir)}


def frame_image(data: DataParams, name: str, index: int) -> np.ndarray | None:
    """Frame `index` of video `name` as RGB uint8 (H, W, 3), for overlays; None when the source
    holds no images (climbalong delivers heatmaps and keypoints only). Ground truth for an
    overlay is best taken from data/preprocessed (target_cells, bboxes), the same for every source."""
    if data.source == "climbalong":
        return None
    path = Path(data.dir) / "videos" / f"{name}.mp4" if data.source == "synthetic" else list_videos(data.dir)[name]
    return next(itertools.islice(read_frames(path), index, None), None)


def read_keypoint_file(path: str | Path) -> np.ndarray:
    """A synthetic ground-truth file (`<dir>/keypoints/<video>.npz`): (T, 25, 3) float32 x, y,
    visible, checked (coordinates NaN or finite, visible 0 or 1)."""
    keypoints = read_npz(path, ("keypoints",))["keypoints"]
    check_array(path, "keypoints", keypoints, ("T", K, 3), NUMBER)
    keypoints = narrow_floats(keypoints).astype(np.float32)
    check_keypoints(path, keypoints, visibility=(0, 1))
    return keypoints


def _video_files(data: DataParams) -> dict[str, Path]:
    """Video name -> the video file or frame folder `extract` read."""
    if data.source == "synthetic":
        return {p.stem: p for p in data_files(Path(data.dir) / "videos", "*.mp4")}
    return list_videos(data.dir)


def finetuning_videos(data: DataParams, extracted: str | Path, heatmap_size: int) -> Iterator[SourceVideo | Skipped]:
    """Each video of the source with its estimator output (from `extracted` unless delivered).

    Checks on the way: the estimator files (`read_estimates`), the annotations (their format's
    reader), annotation and video frame counts, and annotated keypoints against the video's size.
    """
    if data.source == "climbalong":
        yield from _climbalong(data, heatmap_size)
        return
    files = data_files(extracted, "*.npz")
    if not files:
        raise SourceError(f"{extracted}: no extracted .npz files")
    annotations = VideoAnnotations(data.dir, data.keypoint_map, data.frame_number_base) if data.source == "videos" else None
    videos = _video_files(data)
    for path in files:
        video = videos.get(path.stem)
        if video is None:
            raise SourceError(f"{path}: {data.dir} has no video {path.stem}; run extract again")
        estimate = read_estimates(path, heatmap_size)
        frames = len(estimate["bboxes"])  # what the estimator decoded from the video
        if annotations is None:
            where = Path(data.dir) / "keypoints" / path.name
            keypoints = read_keypoint_file(where)
            check_frame_count(where, len(keypoints), video, frames)
        else:
            keypoints = annotations.keypoints(path.stem, frames)  # refuses frames beyond the video
            if keypoints is None:
                yield Skipped(path.stem, "no annotations")
                continue
            where = annotations.labels[path.stem].source
        _, width, height, _ = probe(video)
        check_inside_image(where, keypoints[..., :2], width, height)
        yield SourceVideo(path.stem, estimate["heatmaps"], estimate["bboxes"], estimate["detected"], keypoints, str(video),
                          landmarks=estimate["keypoints"], scores=estimate["scores"])


def _climbalong(data: DataParams, heatmap_size: int) -> Iterator[SourceVideo | Skipped]:
    for name in climbalong.video_names(data.dir):
        # The thesis' selection: too few annotated keypoints at the start marks a bad annotation.
        annotated = climbalong.first_frame_annotated(data.dir, name)
        if annotated < data.min_first_frame_keypoints:
            yield Skipped(name, f"{annotated} annotated keypoints in the first frame "
                                f"(data.min_first_frame_keypoints: {data.min_first_frame_keypoints})")
            continue
        video = climbalong.load_video(data.dir, name, heatmap_size, data.cut_at_empty_box)
        if len(video.detected) == 0:
            yield Skipped(name, "no frame before the first empty box (data.cut_at_empty_box)")
            continue
        yield SourceVideo(video.name, video.heatmaps, video.bboxes, video.detected, video.keypoints,
                          str(Path(data.dir) / climbalong.INPUTS / f"{name}.npz"))
