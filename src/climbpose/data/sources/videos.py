"""A folder of the user's own videos with keypoint annotations (`data.source: videos`).

Layout (`data.dir`):

    <dir>/videos/<video>.mp4         any container OpenCV reads (.mp4 .avi .mov .mkv .webm .m4v)
    <dir>/videos/<video>/            or a folder of frame images (.jpg .png ...), natural order
    <dir>/annotations/*.json         the project's JSON format or COCO keypoints (`annotations`)

The videos go through `extract` (the estimator) like the synthetic ones; this module lists them
and turns their annotations into (T, 25, 3) keypoints once T is known from the estimator output.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from climbpose.data.sources import SourceError
from climbpose.data.sources.annotations import FrameLabels, keypoint_array, read_annotation_dir
from climbpose.video import IMAGE_SUFFIXES, frame_files

VIDEOS, ANNOTATIONS = "videos", "annotations"
# The containers cameras, phones and screen recorders write; any of them OpenCV's FFmpeg can open.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".ts", ".3gp", ".mpg", ".mpeg",
                  ".wmv", ".flv", ".ogv")


def list_videos(directory: str | Path) -> dict[str, Path]:
    """Video name -> video file or frame folder, sorted by name; names must be unique."""
    root = Path(directory) / VIDEOS
    if not root.is_dir():
        raise SourceError(f"{root}: no videos folder "
                          "(see docs/data-formats.md#your-videos-with-keypoint-annotations-datasource-videos)")
    found: dict[str, Path] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith("."):
            continue  # hidden: macOS's '._' companions, temporaries; never a video
        is_video = path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES
        is_frames = path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())
        if not (is_video or is_frames):
            continue
        name = path.stem if is_video else path.name
        if is_frames and "." in name:
            # extract names its output after the stem, which would cut such a name short
            raise SourceError(f"{path}: a frame folder's name must not contain '.'")
        if name in found:
            raise SourceError(f"{root}: two videos are named {name!r} ({found[name].name}, {path.name})")
        found[name] = path
    if not found:
        raise SourceError(f"{root}: no video files or frame folders")
    return found


class VideoAnnotations:
    """The annotations of a `videos` folder, read once, handed out per video."""

    def __init__(self, directory: str | Path, keypoint_map: Mapping[str, str] | None = None,
                 frame_number_base: int = 0) -> None:
        self.directory = Path(directory)
        self.videos = list_videos(directory)
        folder = self.directory / ANNOTATIONS
        self.labels: dict[str, FrameLabels] = read_annotation_dir(folder) if folder.is_dir() else {}
        unknown = sorted(set(self.labels) - set(self.videos))
        if unknown:
            raise SourceError(f"{folder}: annotations for videos that {self.directory / VIDEOS} lacks: {', '.join(unknown[:5])}")
        self.keypoint_map = dict(keypoint_map or {})
        self.frame_number_base = frame_number_base

    def keypoints(self, name: str, n_frames: int) -> np.ndarray | None:
        """(n_frames, 25, 3) keypoints of one video, or None when it has no annotations."""
        labels = self.labels.get(name)
        if labels is None:
            return None
        path = self.videos[name]
        files = [p.name for p in frame_files(path)] if path.is_dir() else None
        return keypoint_array(labels, n_frames, files, self.frame_number_base, self.keypoint_map)
