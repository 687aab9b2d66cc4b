"""Reading and writing video files through OpenCV (frames are RGB uint8 arrays).

A "video" may also be a folder of frame images (what ffmpeg or a labelling tool exports), read
in natural name order (frame_2 before frame_10).

Reading checks what it reads (`climbpose.data.checks`): an empty, unreadable or truncated file,
a frame in a pixel format OpenCV does not turn into 8-bit RGB, or frames of different sizes
raise a `VideoError` naming the file. Truncation shows only at the end of a full read (fewer
frames decoded than the container lists), so a caller that stops early is never refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from climbpose.data.checks import VideoError, check_decoded, check_video_frame
from climbpose.io import atomic_path

__all__ = ["IMAGE_SUFFIXES", "VideoError", "frame_files", "probe", "read_frames", "write_mp4"]


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _natural_key(name: str) -> list:
    # Numbers compare as numbers, so unpadded frame numbers keep their order.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def frame_files(directory: str | os.PathLike) -> list[Path]:
    """The image files of a frame folder, in natural name order (hidden files, such as macOS's
    '._' companions or a half-written temporary, are not frames)."""
    files = [p for p in Path(directory).iterdir()
             if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: _natural_key(p.name))


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file (0 bytes)")


def _read_image(path: Path) -> np.ndarray:
    _check_file(path)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        # Tell a pixel format OpenCV cannot convert (float TIFF, say) from a damaged file.
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is not None:
            channels = raw.shape[2] if raw.ndim == 3 else 1
            raise VideoError(f"{path}: unsupported pixel format ({raw.dtype}, {channels} channel(s)); "
                             "save frames as 8-bit RGB or grayscale images")
        raise VideoError(f"{path}: cannot read as an image (damaged, truncated or not an image)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _open(path: Path) -> cv2.VideoCapture:
    _check_file(path)
    # A damaged file makes FFmpeg and OpenCV print lines of their own; the VideoError below says
    # it in one line, naming the file. (FFmpeg reads its level when a file is opened; a user's
    # own setting of the variable wins.)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        cap = cv2.VideoCapture(str(path))
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not cap.isOpened():
        raise VideoError(f"{path}: cannot open as a video (damaged or cut short, not a video, "
                         "or a codec OpenCV's FFmpeg lacks)")
    return cap


def probe(path: str | os.PathLike) -> tuple[int, int, int, float]:
    """Return (frame_count, width, height, fps) as reported by the container (fps 0 for a frame folder)."""
    if Path(path).is_dir():
        files = frame_files(path)
        if not files:
            raise VideoError(f"{path}: a folder without frame images")
        h, w = _read_image(files[0]).shape[:2]
        return len(files), w, h, 0.0
    cap = _open(Path(path))
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
    """Yield the frames of a video file (or frame folder) as RGB uint8 arrays (H, W, 3).

    Raises VideoError for an unreadable file or frame, a pixel format or frame size that
    changes the array's layout, no decodable frame, or (after the last frame) a file that
    decodes to fewer frames than its container lists.
    """
    path = Path(path)
    shape = None
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise VideoError(f"{path}: a folder without frame images")
        for index, file in enumerate(files):
            frame = _read_image(file)
            shape = check_video_frame(file, index, frame, shape)
            yield frame
        return
    cap = _open(path)
    listed = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    decoded = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            shape = check_video_frame(path, decoded, bgr, shape)
            decoded += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    check_decoded(path, decoded, listed)


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
