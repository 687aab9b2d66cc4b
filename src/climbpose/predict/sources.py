"""The command's INPUT: a video file or a folder of frame images, read lazily as RGB frames."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from climbpose.predict.errors import PredictError
from climbpose.video import IMAGE_SUFFIXES, VideoError, frame_files, probe, read_frames

DEFAULT_FPS = 30.0  # a folder of frames says nothing about its frame rate


@dataclass
class FrameSource:
    """A video file or a folder of images, read as RGB uint8 frames (H, W, 3), any resolution."""

    path: Path
    files: list[Path] | None  # a folder's frame images in reading order; None for a video file
    fps: float
    count: int  # the container's frame count for a video (may be off, 0 if unknown)

    @property
    def name(self) -> str:
        """What the outputs are named after: a video's stem, a folder's name."""
        return self.path.stem if self.files is None else self.path.name

    def __iter__(self) -> Iterator[np.ndarray]:
        shape = None
        try:
            for index, frame in enumerate(read_frames(self.path)):
                # A folder's images need not share one size (a video's frames do), but the overlay
                # video needs them to.
                if shape is None:
                    shape = frame.shape
                elif frame.shape != shape and self.files is not None:
                    raise PredictError(f"{self.files[index]}: {frame.shape[1]}x{frame.shape[0]} frame, but the "
                                       f"folder's first frame is {shape[1]}x{shape[0]}; all frames must share one size")
                yield frame
        except VideoError as e:  # an unreadable video or image: keep the command's one error type
            raise PredictError(str(e)) from None


def open_input(path: str | os.PathLike, fps: float | None = None) -> FrameSource:
    """Check that INPUT exists and looks usable; frames are read later, lazily."""
    path = Path(path)
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise PredictError(f"{path}: folder holds no frame images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return FrameSource(path, files, float(fps or DEFAULT_FPS), len(files))
    if not path.exists():
        raise PredictError(f"{path}: no such file or folder")
    try:
        count, _, _, video_fps = probe(path)
    except VideoError as e:
        raise PredictError(str(e)) from None
    if fps is None:  # containers sometimes report 0, NaN or a time base instead of a frame rate
        fps = video_fps if math.isfinite(video_fps) and 0 < video_fps < 1000 else DEFAULT_FPS
    return FrameSource(path, None, float(fps), max(count, 0))
