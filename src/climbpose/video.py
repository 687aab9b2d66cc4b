"""Reading and writing video files through OpenCV (frames are RGB uint8 arrays)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from climbpose.io import atomic_path


class VideoError(ValueError):
    """A video file that cannot be used; the message names the file and the problem."""


def probe(path: str | os.PathLike) -> tuple[int, int, int, float]:
    """Return (frame_count, width, height, fps) as reported by the container."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: cannot open as a video")
    try:
        return (
            int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            float(cap.get(cv2.CAP_PROP_FPS)),
        )
    finally:
        cap.release()


def read_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Yield the frames of a video file as RGB uint8 arrays (H, W, 3)."""
    if not Path(path).is_file():
        raise VideoError(f"{path}: no such file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: cannot open as a video")
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def write_mp4(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write RGB uint8 frames to an mp4 file atomically; return the number of frames."""
    count = 0
    with atomic_path(path, suffix=".mp4") as tmp:
        writer = None
        try:
            for rgb in frames:
                if writer is None:
                    h, w = rgb.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                    if not writer.isOpened():
                        raise VideoError(f"{path}: OpenCV cannot write mp4 here")
                writer.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
                count += 1
        finally:
            if writer is not None:
                writer.release()
        if count == 0:
            raise VideoError(f"{path}: no frames to write")
    return count
