"""Videos as they arrive from phones, cameras and uploads, and an overlay video browsers play.

Each file is encoded in the test's own folder (tests/helpers/media.py) and read through
`climbpose.video` and the `predict` command's input (`FrameSource`): dropped frames stored as
zero-byte chunks, a portrait clip stored landscape with a rotation matrix, a variable frame
rate, the common containers; and the H.264 writer's output checked with PyAV and OpenCV.
"""

from __future__ import annotations

import logging

import av
import cv2
import numpy as np
import pytest

from climbpose.core.checks import VideoError, check_decoded
from climbpose.core.keypoints import K
from climbpose.predict.clip import Prediction
from climbpose.predict.errors import PredictError
from climbpose.predict.outputs import frame_json, json_header, render_overlay
from climbpose.predict.sources import open_input
from climbpose.video import probe, read_frames, read_timed_frames, write_mp4
from tests.helpers.media import H, W, avi_chunks, portrait_mp4, shade_frame, tkhd_matrix, write_clip, zero_chunk_avi

SLOTS = [0, 1, 2, 3, 4, 5, 8, 9, 10, 14, 15, 16]  # 12 frames in 17 slots: 5 dropped, in two gaps
VFR_MS = [0, 33, 66, 150, 183, 400, 433, 466, 500, 700, 733, 766]  # a phone slowing down, then a stall


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def empty_prediction(n: int, fps: float, times: list[float]) -> Prediction:
    """A clip's Prediction in which no frame has a person (all that the outputs below need)."""
    nan = np.full((n, K, 2), np.nan)
    return Prediction("clip", fps, np.zeros(n, bool), np.zeros((n, 4), np.float32), np.full((n, K), np.nan),
                      nan, nan, nan, nan, nan, {"model": "conv3d", "combine": "mean"}, {}, times)


@pytest.fixture(scope="module")
def avi(tmp_path_factory):
    path = tmp_path_factory.mktemp("avi") / "dropped.avi"
    return path, zero_chunk_avi(path, SLOTS)


@pytest.fixture(scope="module")
def vfr(tmp_path_factory):
    path = tmp_path_factory.mktemp("vfr") / "phone.mkv"
    return write_clip(path, [shade_frame(15 * i + 20) for i in range(len(VFR_MS))], VFR_MS, "matroska", "libx264")


# -- dropped and zero-byte frames -------------------------------------------------------------------

def test_the_avi_fixture_really_has_zero_byte_chunks(avi):
    path, frames = avi
    sizes = [size for tag, size in avi_chunks(path) if tag == b"00dc"]
    assert len(sizes) == 17 and sizes.count(0) == 5
    cap = cv2.VideoCapture(str(path))
    listed = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    decoded = sum(1 for _ in iter(lambda: cap.read()[0], False))
    cap.release()
    assert (listed, decoded) == (17, 12)


def test_dropped_frames_decode_to_those_that_exist_with_one_warning(avi, caplog):
    path, frames = avi
    with caplog.at_level(logging.WARNING):
        timed = list(read_timed_frames(path))
    assert warnings_of(caplog) == [f"{path}: the container lists 17 frames, 12 decoded (5 dropped or empty)"]
    assert [int(f[..., 0].mean()) for _, f in timed] == pytest.approx([int(f[0, 0, 0]) for f in frames], abs=4)
    # Each frame keeps its place in time: the gaps stay gaps.
    assert [t for t, _ in timed] == pytest.approx([s / 10 for s in SLOTS], abs=1e-3)


def test_predict_reads_the_frames_of_a_file_with_dropped_frames(avi, caplog):
    path, frames = avi
    source = open_input(path)
    with caplog.at_level(logging.WARNING):
        read = list(source)
    assert len(read) == len(frames) and read[0].shape == (H, W, 3)
    assert source.times == pytest.approx([s / 10 for s in SLOTS], abs=1e-3)
    assert any("5 dropped or empty" in m for m in warnings_of(caplog))


def test_only_a_file_without_one_decodable_frame_is_refused():
    with pytest.raises(VideoError, match=r"clip.mp4: no frame could be decoded: truncated or damaged \(the "
                                         r"container lists 48 frames\)"):
        check_decoded("clip.mp4", 0, 48)
    with pytest.raises(VideoError, match="clip.mkv: no frame could be decoded: a damaged file"):
        check_decoded("clip.mkv", 0, 0)
    assert check_decoded("clip.mp4", 1, 48) == "clip.mp4: the container lists 48 frames, 1 decoded (47 dropped or empty)"
    assert check_decoded("clip.mp4", 45, 48) == "clip.mp4: the container lists 48 frames, 45 decoded (3 dropped or empty)"
    assert check_decoded("clip.mp4", 46, 48) is None  # within the slack: edit lists, estimated counts
    assert check_decoded("clip.mkv", 3, 0) is None  # Matroska stores no count: nothing to compare


def test_a_variable_rate_avi_of_mostly_empty_chunks_is_read_whole(tmp_path, caplog):
    # FFmpeg's AVI muxer stores a variable frame rate as empty chunks at the stream's time base
    # (here 1 ms): a whole file that lists far more frames than it holds.
    shades = [30, 90, 150, 210, 120]
    path = write_clip(tmp_path / "vfr.avi", [shade_frame(s) for s in shades], [100 * i for i in range(5)], "avi", "mpeg4")
    sizes = [size for _, size in avi_chunks(path)]
    assert len(sizes) == 433 and len(sizes) - sizes.count(0) == 5
    with caplog.at_level(logging.WARNING):
        timed = list(read_timed_frames(path))
    assert [float(f.mean()) for _, f in timed] == pytest.approx(shades, abs=6)
    assert [t for t, _ in timed] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4], abs=1e-3)
    assert warnings_of(caplog) == [f"{path}: the container lists 433 frames, 5 decoded (428 dropped or empty)"]


# -- rotation -------------------------------------------------------------------------------------

def test_a_portrait_phone_clip_reads_portrait_turned_the_right_way(tmp_path):
    path = portrait_mp4(tmp_path / "portrait.mp4")
    assert tkhd_matrix(path) == (0, 1, -1, 0)  # stored landscape, shown turned 90 degrees clockwise
    count, width, height, _ = probe(path)
    assert (count, width, height) == (6, H, W)
    frames = list(read_frames(path))
    assert len(frames) == 6 and frames[0].shape == (W, H, 3)
    # Turned clockwise, the stored top-left corner is shown at the top right.
    bright = frames[0][..., 0] > 128
    ys, xs = np.nonzero(bright)
    assert ys.max() < 20 and xs.min() > H - 16
    assert not bright[:, : H // 2].any() and not bright[W // 2:].any()
    source = open_input(path)
    assert next(iter(source)).shape == (W, H, 3)


# -- variable frame rate --------------------------------------------------------------------------

def test_times_are_the_container_timestamps_of_a_variable_frame_rate_clip(vfr, caplog):
    with caplog.at_level(logging.WARNING):
        times = [t for t, _ in read_timed_frames(vfr)]
    assert times == pytest.approx([ms / 1000 for ms in VFR_MS], abs=1e-3)
    # OpenCV estimates a count from duration x rate, which a variable rate makes too high; a
    # Matroska file stores none, so nothing is compared and nothing reported missing.
    assert probe(vfr)[0] > len(VFR_MS) and warnings_of(caplog) == []


def test_a_folder_and_a_given_rate_time_frames_by_index(vfr, tmp_path):
    assert [t for t, _ in read_timed_frames(vfr, fps=20)][:3] == pytest.approx([0, 0.05, 0.1])
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"f_{i}.png"), shade_frame(50 * i))
    source = open_input(tmp_path, fps=25)
    assert len(list(source)) == 3 and source.times == pytest.approx([0, 0.04, 0.08])


def test_predict_json_time_s_comes_from_the_timestamps(vfr):
    source = open_input(vfr)
    frames = list(source)
    pred = empty_prediction(len(frames), source.fps, source.times)
    assert [frame_json(pred, t)["time_s"] for t in range(len(pred))] == pytest.approx(
        [ms / 1000 for ms in VFR_MS], abs=1e-3)
    assert "timestamps" in json_header(pred)["frame_times"]
    # Frames never decoded (a replayed clip without its overlay) fall back on frame / fps.
    assert frame_json(empty_prediction(4, 20.0, []), 3)["time_s"] == pytest.approx(0.15)


# -- containers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, fmt, encoder, codec", [
    ("clip.mkv", "matroska", "libx264", "h264"), ("clip.webm", "webm", "libvpx-vp9", "vp9"),
    ("clip.mov", "mov", "libx264", "h264"), ("clip.video", "mov", "libx264", "h264")])
def test_common_containers_are_read(tmp_path, name, fmt, encoder, codec):
    # (AVI: the zero-chunk tests above; ".video": a suffix no list of video suffixes holds.)
    shades = [30, 90, 150, 210, 120]
    path = write_clip(tmp_path / name, [shade_frame(s) for s in shades], [100 * i for i in range(5)], fmt, encoder)
    with av.open(str(path)) as container:  # the file is what its name says
        assert fmt in container.format.name.split(",")  # FFmpeg's demuxer names: "matroska,webm", "mov,mp4,..."
        assert container.streams.video[0].codec_context.name == codec
    frames = list(read_frames(path))
    assert [f.shape for f in frames] == [(H, W, 3)] * 5
    assert [float(f.mean()) for f in frames] == pytest.approx(shades, abs=6)
    assert [t for t, _ in read_timed_frames(path)] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4], abs=1e-3)


def test_a_file_that_is_not_a_video_is_refused_whatever_its_suffix(tmp_path):
    path = tmp_path / "notes.webm"
    path.write_bytes(b"not a video at all" * 100)
    with pytest.raises(PredictError, match="notes.webm: cannot open as a video"):
        open_input(path)


# -- the overlay video ----------------------------------------------------------------------------

def test_the_overlay_is_h264_yuv420p_keeping_the_input_timing(vfr, tmp_path):
    source = open_input(vfr)
    n = len(list(source))
    out = tmp_path / "phone.overlay.mp4"
    render_overlay(source, empty_prediction(n, source.fps, source.times), out, progress=False)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        times = [frame.time for frame in container.decode(stream)]
    assert times == pytest.approx([ms / 1000 for ms in VFR_MS], abs=1e-3)
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == n
    cap.release()
    assert sum(1 for _ in read_frames(out)) == n


def test_odd_sizes_are_padded_by_one_pixel_and_mp4v_stays_opencvs(tmp_path):
    image = np.zeros((49, 65, 3), np.uint8)
    image[:, -1] = 255  # the last column, which the padding repeats
    assert write_mp4(tmp_path / "odd.mp4", [image] * 3, fps=10) == 3
    frames = list(read_frames(tmp_path / "odd.mp4"))
    assert len(frames) == 3 and frames[0].shape == (50, 66, 3)
    assert frames[0][:, -2:].mean() > 200 and frames[0][:, :-4].mean() < 20
    write_mp4(tmp_path / "synthetic.mp4", [image[:48, :64]] * 3, fps=10, codec="mp4v")
    with av.open(str(tmp_path / "synthetic.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
    with pytest.raises(ValueError, match="constant frame rate"):
        write_mp4(tmp_path / "x.mp4", [image], fps=10, codec="mp4v", times=[0.0])
