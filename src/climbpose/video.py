"""Reading and writing video files (frames are RGB uint8 arrays).

Reading goes through OpenCV's FFmpeg, so any container and codec it decodes is a video (mp4, mov,
mkv, webm, avi ...; nothing is decided by the file's suffix). OpenCV, not PyAV, decodes: every
result was measured on its pixels, and its position after each read already is the frame's
timestamp. PyAV only reads the container's stored frame count, and writes H.264. A "video" may
also be a folder of frame images (what ffmpeg or a labelling tool exports), read in natural name
order (frame_2 before frame_10).

* Rotation: a phone's portrait clip is often stored landscape with a display matrix saying "turn
  by 90 degrees"; frames come out turned as a player shows them, and `probe` reports the turned
  width and height.
* Time: `read_timed_frames` gives each frame's presentation time from the container's timestamps,
  so a variable-frame-rate clip (phones) keeps its real timing; a folder's frame i is at i / fps.
* Gaps: frames a file lists but does not hold (dropped or zero-byte chunks, a cut-short copy) are
  skipped with one warning line giving the counts; only a file without one decodable frame is
  refused (`climbpose.core.checks.check_decoded` says why).

Reading checks what it reads (`climbpose.core.checks`): an empty or unreadable file, a frame in a
pixel format OpenCV does not turn into 8-bit RGB, or frames of different sizes raise a
`VideoError` naming the file. Missing frames show only at the end of a full read, so a caller
that stops early is never warned or refused.

Writing (`write_mp4`) makes H.264 mp4 files browsers play, or the pipeline's own MPEG-4 (mp4v).
"""

from __future__ import annotations

import logging
import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import av
import cv2
import numpy as np

from climbpose.core.checks import VideoError, check_decoded, check_video_frame
from climbpose.core.io import atomic_path

__all__ = ["CODECS", "DEFAULT_FPS", "IMAGE_SUFFIXES", "VideoError", "frame_files", "probe", "read_frames",
           "read_timed_frames", "write_mp4"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

# The frame rate assumed where the input says nothing usable: a folder of images, or a container
# reporting 0, NaN or a time base instead of a rate.
DEFAULT_FPS = 30.0

# write_mp4's codecs: "h264" for files people watch (every browser plays H.264 in mp4), "mp4v"
# (MPEG-4 Part 2 through OpenCV) for the pipeline's synthetic videos, whose exact bytes, and every
# result measured on them, depend on that encoder.
CODECS = ("h264", "mp4v")

# H.264 timestamps count ticks of MPEG's 90 kHz clock: a whole number of ticks per frame at 24, 25,
# 30 and 30000/1001 fps, and well under a millisecond off for any timestamp.
TICKS_PER_SECOND = 90_000
# libx264's "veryfast" preset: about twice the speed of its default for the overlay's flat colours
# and lines, which look the same either way.
H264_OPTIONS = {"preset": "veryfast"}


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
    # OpenCV's default, set anyway: frames, width and height as a player shows them (a portrait
    # phone clip stored landscape comes out portrait), the same for every OpenCV build.
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def _usable_rate(fps: float) -> float:
    """A container's frame rate, or DEFAULT_FPS where it reports 0, NaN or a time base instead."""
    return fps if math.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS


def _listed_frames(path: Path, opencv_count: float) -> int:
    """The frame count the container stores; 0 where it stores none (Matroska, WebM).

    OpenCV fills a missing count with duration x frame rate, which is no count at all for a
    variable-frame-rate clip; FFmpeg's own stream field (read through PyAV, the header only) says
    whether the container holds one. OpenCV's number serves when PyAV cannot open the file.
    """
    try:
        with av.open(str(path)) as container:
            return max(int(container.streams.video[0].frames), 0)
    except (av.error.FFmpegError, IndexError):  # unreadable to PyAV's FFmpeg, or no video stream
        return max(int(opencv_count), 0)


def probe(path: str | os.PathLike) -> tuple[int, int, int, float]:
    """Return (frame_count, width, height, fps) as reported by the container (fps 0 for a frame
    folder); width and height are those of the frames read, after any rotation the file asks for.
    The count is OpenCV's, an estimate from the duration where the container stores none."""
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


def read_timed_frames(path: str | os.PathLike, fps: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time in seconds, frame) for each frame of a video file or frame folder; frames are
    RGB uint8 arrays (H, W, 3).

    A video file's times are its frames' presentation timestamps, from the start of the stream
    (OpenCV's position after each read, which FFmpeg takes from the frame's own timestamp), so a
    variable frame rate and the gaps left by dropped frames are kept. A frame without a usable
    timestamp (none, or not after the previous frame's) is placed one nominal frame interval
    after the previous frame, so times always increase. With `fps` given, or for a folder of
    images (DEFAULT_FPS when not given), frame i is at i / fps instead.

    Raises VideoError for an unreadable file or frame, a pixel format or frame size that changes
    the array's layout, or no decodable frame. After the last frame, a file that decoded to fewer
    frames than its container lists (beyond a small slack) gives one warning with the counts.
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
            yield index / (fps or DEFAULT_FPS), frame
        return
    cap = _open(path)
    opencv_count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    interval = 1 / (fps or _usable_rate(cap.get(cv2.CAP_PROP_FPS)))
    decoded, previous = 0, -math.inf
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            shape = check_video_frame(path, decoded, bgr, shape)
            if fps:
                time_s = decoded * interval
            else:
                time_s = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
                if not math.isfinite(time_s) or time_s <= previous:
                    time_s = previous + interval if decoded else 0.0
            previous = time_s
            decoded += 1
            yield time_s, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    # Only a full read is compared with the container's count (and pays for opening it again).
    warning = check_decoded(path, decoded, _listed_frames(path, opencv_count))
    if warning:
        log.warning(warning)


def read_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Yield the frames of a video file (or frame folder) as RGB uint8 arrays (H, W, 3); the
    checks, warning and errors of `read_timed_frames`."""
    for _, frame in read_timed_frames(path):
        yield frame


def write_mp4(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, codec: str = "h264",
              times: Sequence[float] | None = None) -> int:
    """Write RGB uint8 frames of one size to an mp4 file atomically; return the number of frames.

    codec "h264": H.264 (libx264, yuv420p) through PyAV, which browsers play. yuv420p needs an even
    width and height, so an odd one gets one more column (row) repeating the last: the picture
    keeps every pixel where it was. Frame i is shown at `times[i]` seconds (shifted so the first
    frame is at 0), e.g. the input's own timestamps (`FrameSource.times`), else at i / fps; `fps`
    is the stream's nominal rate. `times[i]` is looked up only after frame i has been taken from
    `frames`, so a list that the frames' reader fills as it goes will do.

    codec "mp4v": MPEG-4 Part 2 through OpenCV at a constant `fps` (no `times`): the encoder the
    pipeline's synthetic videos are written with (CODECS says why).
    """
    if codec not in CODECS:
        raise ValueError(f"codec {codec!r}: one of {', '.join(CODECS)}")
    if codec == "mp4v" and times is not None:
        raise ValueError("codec 'mp4v' writes a constant frame rate; times need 'h264'")
    with atomic_path(path, suffix=".mp4") as tmp:
        write = _write_h264 if codec == "h264" else _write_mp4v
        count = write(path, tmp, iter(frames), fps, times)
        if count == 0:
            raise VideoError(f"{path}: no frames to write")
    return count


def _write_mp4v(path: str | os.PathLike, tmp: Path, frames: Iterator[np.ndarray], fps: float,
                times: Sequence[float] | None) -> int:
    """The pipeline's synthetic-video encoder (OpenCV, fourcc mp4v); returns the frames written."""
    count = 0
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
    return count


def _write_h264(path: str | os.PathLike, tmp: Path, frames: Iterator[np.ndarray], fps: float,
                times: Sequence[float] | None) -> int:
    """H.264 in mp4 through PyAV (see write_mp4); returns the frames written."""
    count, start, last_pts, shape = 0, 0.0, -1, None
    # faststart: the index goes before the frame data, so a browser starts playing while loading.
    with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = None
        for rgb in frames:
            if stream is None:
                shape = rgb.shape
                stream = _h264_stream(path, container, fps, rgb.shape[1], rgb.shape[0])
            elif rgb.shape != shape:
                raise VideoError(f"{path}: frame {count} is {rgb.shape[1]}x{rgb.shape[0]} but the first "
                                 f"is {shape[1]}x{shape[0]}; a video's frames share one size")
            time_s = float(times[count]) if times is not None else count / fps
            if count == 0:
                start = time_s
            # Timestamps must increase: rounding (or a repeated time) never makes two frames share one.
            pts = max(round((time_s - start) * TICKS_PER_SECOND), last_pts + 1)
            frame = av.VideoFrame.from_ndarray(_even(rgb), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, TICKS_PER_SECOND)
            container.mux(stream.encode(frame))
            last_pts = pts
            count += 1
        if stream is not None:
            container.mux(stream.encode())  # flush the frames the encoder still holds
    return count


def _h264_stream(path: str | os.PathLike, container: av.container.OutputContainer, fps: float,
                 width: int, height: int) -> av.video.stream.VideoStream:
    """The container's libx264 stream for frames of width x height (made even)."""
    try:
        # 30000/1001 (NTSC) given as 29.97... stays exact; other rates come as close as that allows.
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001), options=H264_OPTIONS)
    except (av.error.FFmpegError, ValueError) as e:  # an FFmpeg build without libx264
        raise VideoError(f"{path}: cannot write H.264 here ({e})") from None
    stream.width, stream.height = width + width % 2, height + height % 2
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = Fraction(1, TICKS_PER_SECOND)
    return stream


def _even(rgb: np.ndarray) -> np.ndarray:
    """The frame with its width and height made even by repeating the last column and row."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return np.ascontiguousarray(rgb)
