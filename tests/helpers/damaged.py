"""Damaged files the way they arrive from the field, for the bad-input tests.

A phone or a web upload writes mp4 files "fast-start": the index (moov box) before the frame data
(mdat), so a copy cut short still opens and decodes its first frames. OpenCV writes the index
last, and such a file cut short does not open at all. `truncated_mp4` turns an OpenCV mp4 into
the fast-start layout and cuts it, to get the first kind; `index_only_mp4` cuts it just past the
index, so that it opens and lists every frame but holds none whole.
"""

from __future__ import annotations

import struct
from pathlib import Path

# Boxes that only hold other boxes on the way from moov to the chunk offset tables.
_CONTAINERS = {b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(data: bytes | bytearray, start: int, end: int):
    """(type, offset, size) of the boxes between start and end (32-bit sizes, as OpenCV writes)."""
    at = start
    while at < end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        size = size or end - at
        yield kind, at, size
        at += size


def _shift_chunk_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    for kind, at, size in _boxes(moov, start, end):
        if kind in _CONTAINERS:
            _shift_chunk_offsets(moov, at + 8, at + size, delta)
        elif kind == b"stco":  # version/flags, entry count, then 32-bit absolute file offsets
            (count,) = struct.unpack(">I", moov[at + 12:at + 16])
            for i in range(count):
                o = at + 16 + 4 * i
                (offset,) = struct.unpack(">I", moov[o:o + 4])
                moov[o:o + 4] = struct.pack(">I", offset + delta)


def faststart(data: bytes) -> bytes:
    """The same mp4 with its moov box moved before its mdat box (chunk offsets adjusted)."""
    top = {kind: (at, size) for kind, at, size in _boxes(data, 0, len(data))}
    (moov_at, moov_size), (mdat_at, _) = top[b"moov"], top[b"mdat"]
    assert mdat_at < moov_at, "already fast-start"
    moov = bytearray(data[moov_at:moov_at + moov_size])
    _shift_chunk_offsets(moov, 8, len(moov), moov_size)  # the frame data moves back by the moov's size
    return data[:mdat_at] + bytes(moov) + data[mdat_at:moov_at] + data[moov_at + moov_size:]


def truncated_mp4(source: str | Path, out: str | Path, keep: float = 0.5) -> None:
    """Write `out`: the fast-start form of the mp4 `source`, cut after `keep` of its bytes."""
    data = faststart(Path(source).read_bytes())
    Path(out).write_bytes(data[:int(len(data) * keep)])


def index_only_mp4(source: str | Path, out: str | Path, frame_bytes: int = 0) -> None:
    """Write `out`: the fast-start form of the mp4 `source`, cut `frame_bytes` into its frame data
    (a download that stopped as the frames began)."""
    data = faststart(Path(source).read_bytes())
    top = {kind: at for kind, at, _ in _boxes(data, 0, len(data))}
    Path(out).write_bytes(data[:top[b"mdat"] + 8 + frame_bytes])
