"""Small videos the way phones, cameras and web uploads make them, for the video-input tests.

Everything is encoded here, in the test's own folder, with PyAV (FFmpeg's muxers and encoders):
* `write_clip`: any container and codec, frame i at `times_ms[i]`, so a variable frame rate is
  just irregular times;
* `zero_chunk_avi`: an AVI whose index lists frames stored as zero-byte chunks, as a capture card
  writes for dropped frames (FFmpeg's AVI muxer fills a gap in the timestamps with empty chunks);
* `portrait_mp4`: a phone's portrait clip, stored landscape with a display matrix turning it 90
  degrees clockwise, and a white marker in the stored picture's top-left corner.
`avi_chunks` and `tkhd_matrix` read those files back byte by byte, so a test can check that a
fixture really is what it claims before relying on it.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import av
import numpy as np

W, H = 64, 48  # small frames keep every file a few kilobytes


def shade_frame(shade: int, width: int = W, height: int = H) -> np.ndarray:
    """A flat RGB frame of one grey level: survives any lossy codec recognisably."""
    return np.full((height, width, 3), shade, np.uint8)


def write_clip(path: str | Path, frames: Sequence[np.ndarray], times_ms: Sequence[int], fmt: str, codec: str,
               rotation: float | None = None) -> Path:
    """Encode RGB `frames` with `codec` into container `fmt`, frame i at `times_ms[i]` milliseconds.

    `rotation`: a display matrix turning the picture that many degrees counter-clockwise (PyAV's
    convention; a phone held upright writes -90).
    """
    pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"  # MJPEG's full-range yuv
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image, ms in zip(frames, times_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = int(ms), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return Path(path)


def zero_chunk_avi(path: str | Path, slots: Sequence[int], fps: int = 10) -> list[np.ndarray]:
    """An MJPEG AVI whose frame k sits in slot `slots[k]` (slot s at s / fps seconds); the slots
    skipped become zero-byte chunks. Returns the frames written (frame k has shade 20 k + 10)."""
    frames = [shade_frame(20 * k + 10) for k in range(len(slots))]
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mjpeg", rate=fps)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuvj420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for image, slot in zip(frames, slots, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = int(slot), Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return frames


def avi_chunks(path: str | Path) -> list[tuple[bytes, int]]:
    """(fourcc, size) of every chunk in an AVI's 'movi' list, in file order (RIFF: little-endian
    sizes, chunks padded to an even length)."""
    data = Path(path).read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"AVI ", "not an AVI file"
    start = data.index(b"movi") + 4
    (list_size,) = struct.unpack("<I", data[start - 8:start - 4])
    end = start - 4 + list_size
    chunks, at = [], start
    while at + 8 <= end:
        tag, size = struct.unpack("<4sI", data[at:at + 8])
        chunks.append((tag, size))
        at += 8 + size + (size & 1)
    return chunks


def portrait_mp4(path: str | Path, frames: int = 6, fps: int = 10) -> Path:
    """An H.264 mp4 stored W x H (landscape) with a white 16 x 12 marker at the stored top-left,
    and a display matrix saying 'turn 90 degrees clockwise', as a phone held upright records."""
    image = np.zeros((H, W, 3), np.uint8)
    image[:12, :16] = 255
    times = [round(1000 * i / fps) for i in range(frames)]
    return write_clip(path, [image] * frames, times, "mp4", "libx264", rotation=-90)


def _box(data: bytes, kind: bytes, start: int, end: int) -> tuple[int, int]:
    """(offset, size) of the first box of `kind` among the boxes between start and end."""
    at = start
    while at < end:
        size, found = struct.unpack(">I4s", data[at:at + 8])
        if found == kind:
            return at, size
        at += size
    raise KeyError(kind)


def tkhd_matrix(path: str | Path) -> tuple[float, float, float, float]:
    """(a, b, c, d) of the first track's tkhd matrix, 16.16 fixed point read as numbers: a point
    (x, y) of the stored picture is shown at (a x + c y, b x + d y) plus the translation."""
    data = Path(path).read_bytes()
    moov = _box(data, b"moov", 0, len(data))
    trak = _box(data, b"trak", moov[0] + 8, sum(moov))
    at, _ = _box(data, b"tkhd", trak[0] + 8, sum(trak))
    version = data[at + 8]
    # After size, type, version/flags: times and ids (20 bytes in version 0, 32 in version 1),
    # then 8 reserved, layer, group, volume and 2 reserved bytes: 16 more.
    matrix_at = at + 12 + (32 if version == 1 else 20) + 16
    a, b, _, c, d = struct.unpack(">5i", data[matrix_at:matrix_at + 20])
    return a / 65536, b / 65536, c / 65536, d / 65536
