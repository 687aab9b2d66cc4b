"""Reading and writing video files through OpenCV (frames are RGB uint8 arrays).

A "video" may also be a folder of frame images (what ffmpeg or a labelling tool exports), read
in natural name order (frame_2 before frame_10).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from climbpose.errors import InputError
from climbpose.io import atomic_path


class VideoError(InputError):
    """A video file that cannot be used; the message names the file and the problem."""


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _natural_key(name: str) -> list:
    # Numbers compare as numbers, so unpadded frame numbers keep their order.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def frame_files(directory: str | os.PathLike) -> list[Path]:
    """The image files of a frame folder, in natural name order."""
    files = [p for p in Path(directory).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(files, key=lambda p: _natural_key(p.name))


def _read_image(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise VideoError(f"{path}: cannot read as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def probe(path: str | os.PathLike) -> tuple[int, int, int, float]:
    """Return (frame_count, width, height, fps) as reported by the container (fps 0 for a frame folder)."""
    if Path(path).is_dir():
        files = frame_files(path)
        if not files:
            raise VideoError(f"{path}: a folder without frame images")
        h, w = _read_image(files[0]).shape[:2]
        return len(files), w, h, 0.0
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
    """Yield the frames of a video file (or frame folder) as RGB uint8 arrays (H, W, 3)."""
    if Path(path).is_dir():
        for file in frame_files(path):
            yield _read_image(file)
        return
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
