"""The command's INPUT: a video file or a folder of frame images, read lazily as RGB frames with
each frame's time."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from climbpose.predict.errors import PredictError
from climbpose.video import DEFAULT_FPS, IMAGE_SUFFIXES, VideoError, frame_files, probe, read_timed_frames


@dataclass
class FrameSource:
    """A video file or a folder of images, read as RGB uint8 frames (H, W, 3), any resolution."""

    path: Path
    files: list[Path] | None  # a folder's frame images in reading order; None for a video file
    fps: float  # the rate the container reports, the one given (--fps), or DEFAULT_FPS
    count: int  # the container's frame count for a video (may be off, 0 if unknown)
    # True: frame i is at i / fps (a folder, or a video whose rate was given); False: the video's
    # own timestamps, variable frame rate and gaps from dropped frames included.
    fixed_rate: bool = False
    # Seconds of each frame read so far, from the first read on. Filled in place and never
    # replaced, so a holder of the list (a Prediction) sees frames timed after it took it: a clip
    # replayed from stored heatmaps is decoded, and timed, only when its overlay is drawn.
    times: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        """What the outputs are named after: a video's stem, a folder's name."""
        return self.path.stem if self.files is None else self.path.name

    def __iter__(self) -> Iterator[np.ndarray]:
        shape = None
        try:
            timed = read_timed_frames(self.path, self.fps if self.fixed_rate else None)
            for index, (time_s, frame) in enumerate(timed):
                # A folder's images need not share one size (a video's frames do), but the overlay
                # video needs them to.
                if shape is None:
                    shape = frame.shape
                elif frame.shape != shape and self.files is not None:
                    raise PredictError(f"{self.files[index]}: {frame.shape[1]}x{frame.shape[0]} frame, but the "
                                       f"folder's first frame is {shape[1]}x{shape[0]}; all frames must share one size")
                if index < len(self.times):
                    self.times[index] = time_s  # a second read: the same decoder gives the same times
                else:
                    self.times.append(time_s)
                yield frame
        except VideoError as e:  # an unreadable video or image: keep the command's one error type
            raise PredictError(str(e)) from None


def open_input(path: str | os.PathLike, fps: float | None = None) -> FrameSource:
    """Check that INPUT exists and looks usable; frames are read later, lazily.

    Any file OpenCV's FFmpeg opens is a video, whatever its suffix. `fps` (the --fps option)
    overrides the video's own timing: frame i is then at i / fps, as in a folder of images.
    """
    path = Path(path)
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise PredictError(f"{path}: folder holds no frame images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return FrameSource(path, files, float(fps or DEFAULT_FPS), len(files), fixed_rate=True)
    if not path.exists():
        raise PredictError(f"{path}: no such file or folder")
    try:
        count, _, _, video_fps = probe(path)
    except VideoError as e:
        raise PredictError(str(e)) from None
    given = fps is not None
    if not given:  # containers sometimes report 0, NaN or a time base instead of a frame rate
        fps = video_fps if math.isfinite(video_fps) and 0 < video_fps < 1000 else DEFAULT_FPS
    return FrameSource(path, None, float(fps), max(count, 0), fixed_rate=given)
