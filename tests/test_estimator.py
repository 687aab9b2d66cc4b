"""Tests of the frozen estimator: geometry known answers, the BlazePose chain on a real photo,
video-mode tracking, storage round trips, and the weight fetcher's hash check."""

from __future__ import annotations

import logging
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from climbpose.core.checks import DataError
from climbpose.estimator.base import ESTIMATOR_CLASSES, Estimator, FrameEstimate
from climbpose.estimator.make import make_estimator
from climbpose.estimator.blazepose import BlazePose
from climbpose.estimator.precomputed import Precomputed
from climbpose.estimator import regions as rg
from climbpose.estimator import weights as wt
from climbpose.estimator.extract import extract_video, extract_videos
from climbpose.heatmaps import argmax_cells, cells_to_image
from climbpose.core.keypoints import INDEX, K
from climbpose.core.resume import PartsDir
from climbpose.video import write_mp4

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "models" / "estimator"  # gitignored: downloads survive between test runs


@pytest.fixture(scope="session")
def model_dir() -> Path:
    wt.ensure_weights(MODEL_DIR)
    return MODEL_DIR


@pytest.fixture(scope="session")
def blazepose(model_dir: Path) -> BlazePose:
    return BlazePose(model_dir, num_threads=2)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage.data import astronaut

    return astronaut()


# -- geometry ---------------------------------------------------------------------------------

def test_anchor_layout():
    a = rg.detector_anchors()
    assert a.shape == (28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6, 2) == (2254, 2)
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])  # two anchors per cell
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])  # then the next column
    np.testing.assert_allclose(a[56], [0.5 / 28, 1.5 / 28])  # a row later
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])  # first anchor of the 14x14 grid
    np.testing.assert_allclose(a[1960:1966], np.tile([0.5 / 7, 0.5 / 7], (6, 1)))  # 6 share a cell
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_letterbox_known_answer():
    assert rg.letterbox(960, 540) == (126, 224, 49, 0)  # 224/960 * 540 = 126, (224-126)/2 = 49
    assert rg.letterbox(480, 640) == (224, 168, 0, 28)
    # The image centre (pixel-index coordinates) is the letterbox centre, (111.5, 111.5).
    np.testing.assert_allclose(rg.letterbox_to_image(np.array([111.5, 111.5]), 960, 540),
                               [269.5, 479.5])
    # Pixel 0 of the 126-wide resize (centre at 49) is image column (0.5) * 540/126 - 0.5.
    np.testing.assert_allclose(rg.letterbox_to_image(np.array([49.0, 0.0]), 960, 540),
                               [0.5 * 540 / 126 - 0.5, 0.5 * 960 / 224 - 0.5])


def test_decode_and_merge():
    anchors = np.array([[0.5, 0.5], [0.5, 0.5], [0.1, 0.1]], np.float32)
    raw = np.zeros((3, 12), np.float32)
    raw[0, 2:4] = [44.8, 44.8]   # 0.2 x 0.2 box at the anchor
    raw[1, :4] = [22.4, 0, 44.8, 44.8]  # same size, 0.1 to the right: IoU 1/3 with box 0
    raw[1, 4:6] = [22.4, 0]
    raw[2, 2:4] = [22.4, 22.4]
    boxes, kps = rg.decode_detections(raw, anchors)
    np.testing.assert_allclose(boxes[0], [0.4, 0.4, 0.6, 0.6], atol=1e-6)
    np.testing.assert_allclose(kps[1, 0], [0.6, 0.5], atol=1e-6)
    assert rg.iou(boxes[0], boxes[1:2])[0] == pytest.approx(1 / 3, abs=1e-5)
    box, k, top = rg.best_detection(boxes, kps, np.array([0.9, 0.6, 0.95]))
    np.testing.assert_allclose(box, boxes[2], atol=1e-6)  # best cluster is box 2 alone
    box, k, top = rg.best_detection(boxes, kps, np.array([0.9, 0.6, 0.3]))
    assert top == pytest.approx(0.9)
    np.testing.assert_allclose(k[0], [0.5 + 0.1 * 0.6 / 1.5, 0.5], atol=1e-6)  # score-weighted
    assert rg.best_detection(boxes, kps, np.array([0.4, 0.1, 0.2])) is None


@pytest.mark.parametrize("angle", [0.0, 0.7, math.pi / 2, 2.5, -2.0])
def test_region_puts_scale_point_straight_above_centre(angle):
    centre = np.array([300.0, 200.0])
    scale_point = centre + 80 * np.array([math.sin(angle), -math.cos(angle)])
    c, side, rot = rg.region_from_points(centre, scale_point)
    assert side == pytest.approx(2 * 80 * 1.25)
    assert rot == pytest.approx(angle)  # upright body -> 0, head to the right -> pi/2
    m = rg.crop_affine(c, side, rot)
    np.testing.assert_allclose(rg.apply_affine(m, centre), [128, 128], atol=1e-9)
    # The scale point lands straight above the centre, at 1/2.5 of the crop side.
    np.testing.assert_allclose(rg.apply_affine(m, scale_point), [128, 128 - 256 / 2.5], atol=1e-9)


def test_person_box_is_square_with_margin():
    pts = np.array([[100, 50], [140, 250], [120, 150]], np.float32)
    box = rg.person_box(pts, margin=0.1)
    # tight box 40 x 200, larger side 200 -> half side 100 + 20, centred at (120, 150)
    np.testing.assert_allclose(box, [0, 30, 240, 270])


def _resample(crop_heatmaps: np.ndarray, image_to_crop: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Channels-first maps (C, 64, 64), easier to build by hand, through the channels-last resampler."""
    return rg.resample_hwc(crop_heatmaps.transpose(1, 2, 0), image_to_crop, box, size)


def _one_hot(channels: int, cells: list[tuple[int, int]]) -> np.ndarray:
    hm = np.zeros((channels, 64, 64), np.float32)
    for ch, (row, col) in enumerate(cells):
        hm[ch, row, col] = 1.0
    return hm


def test_resample_axis_aligned_known_answer():
    m = rg.crop_affine(np.array([128.0, 128.0]), 256.0, 0.0)  # image pixel == crop pixel
    # heatmap cell (col 10, row 20) = crop/image pixel (40, 80); box cell size 4 px
    out = _resample(_one_hot(1, [(20, 10)]), m, np.array([20, 60, 84, 124]), 16)
    assert out.shape == (1, 16, 16)
    assert tuple(argmax_cells(out)[0].tolist()) == (5, 5)  # ((40-20)/4, (80-60)/4)
    assert out[0, 5, 5] == pytest.approx(1.0, abs=1e-5)
    assert out.sum() == pytest.approx(1.0, abs=1e-5)


def test_resample_rotated_crop_known_answer():
    # Region: centre (500, 300), side 512, rotation pi/2 (crop "up" is image +x).
    # Heatmap cell (col 48, row 16) = crop (192, 64) = offset (0.25, -0.25) * 512 = (128, -128),
    # rotated by pi/2 in y-down coordinates ((x, y) -> (-y, x)) = (128, 128): image (628, 428).
    # Channel 1: cell (col 16, row 32) = crop (64, 128) -> offset (-128, 0) -> (0, -128): (500, 172).
    m = rg.crop_affine(np.array([500.0, 300.0]), 512.0, math.pi / 2)
    hm = _one_hot(2, [(16, 48), (32, 16)])
    out = _resample(hm, m, np.array([400, 160, 720, 480]), 80)  # 4 px cells
    assert tuple(argmax_cells(out)[0].tolist()) == ((628 - 400) // 4, (428 - 160) // 4) == (57, 67)
    assert tuple(argmax_cells(out)[1].tolist()) == ((500 - 400) // 4, (172 - 160) // 4) == (25, 3)
    # 4 px box cells vs 8 px heatmap cells: the peak is sampled exactly, neighbours at half height
    assert out[0, 67, 57] == pytest.approx(1.0, abs=1e-3)
    assert out[0, 67, 58] == pytest.approx(0.5, abs=1e-2)


def test_resample_outside_crop_gets_channel_minimum():
    m = rg.crop_affine(np.array([128.0, 128.0]), 256.0, 0.0)
    hm = np.random.default_rng(0).uniform(-3, -1, (3, 64, 64)).astype(np.float32)
    far = _resample(hm, m, np.array([1000, 1000, 1100, 1100]), 8)
    np.testing.assert_allclose(far, np.broadcast_to(hm.min(axis=(1, 2))[:, None, None], far.shape))
    half = _resample(hm, m, np.array([128, 0, 384, 256]), 8)  # right half off the crop
    assert np.all(half[:, :, 5:] == hm.min(axis=(1, 2))[:, None, None])
    assert np.all(half[:, :, :4] > hm.min(axis=(1, 2))[:, None, None])


# -- the estimator registry -------------------------------------------------------------------

def test_make_estimator_names():
    assert {"blazepose", "precomputed"} <= set(ESTIMATOR_CLASSES)
    with pytest.raises(ValueError, match="blazepose.*precomputed"):
        make_estimator("openpose")


# -- BlazePose on a real photograph -----------------------------------------------------------

def test_astronaut_keypoints(blazepose, astronaut):
    blazepose.reset()
    est = blazepose(astronaut)
    assert est.detected
    assert est.heatmaps.shape == (K, 56, 56) and est.heatmaps.dtype == np.float32
    x1, y1, x2, y2 = est.bbox
    assert x2 - x1 == pytest.approx(y2 - y1, rel=1e-5)  # square box
    assert 0 <= est.heatmaps.min() and est.heatmaps.max() <= 1
    assert np.all((est.scores >= 0) & (est.scores <= 1))
    argmax = cells_to_image(argmax_cells(est.heatmaps), est.bbox, 56).numpy()
    cell = (x2 - x1) / 56
    for name, pts in (("regressed", est.keypoints), ("heatmap argmax", argmax)):
        nose, l_ear, r_ear = pts[INDEX["nose"]], pts[INDEX["left_ear"]], pts[INDEX["right_ear"]]
        l_sh, r_sh = pts[INDEX["left_shoulder"]], pts[INDEX["right_shoulder"]]
        # The face spans about x 165-295, y 40-180 (chin); the nose tip is near (225, 135).
        assert 195 < nose[0] < 255 and 105 < nose[1] < 165, (name, nose)
        # She faces the camera: her left side is on the image's right.
        assert l_ear[0] > nose[0] > r_ear[0] and 150 < r_ear[0] and l_ear[0] < 300, name
        # Shoulders: the suit's shoulder line, about y 230-260, at x ~100 and ~300.
        assert 270 < l_sh[0] < 340 and 70 < r_sh[0] < 140, (name, l_sh, r_sh)
        assert 200 < l_sh[1] < 300 and 200 < r_sh[1] < 300, (name, l_sh, r_sh)
        # Hips are out of the picture (below y 512 is plausible) but must be below the shoulders.
        assert pts[INDEX["left_hip"], 1] > l_sh[1] + 100 and pts[INDEX["right_hip"], 1] > r_sh[1] + 100
    # The heatmaps agree with the regression where the model is confident.
    for k in ("nose", "left_ear", "right_ear", "left_shoulder", "right_shoulder"):
        i = INDEX[k]
        assert est.scores[i] > 0.9
        assert np.linalg.norm(argmax[i] - est.keypoints[i]) < 1.5 * cell, k


@pytest.mark.parametrize("height,width,top,left", [(960, 540, 300, 20), (540, 960, 10, 400)])
def test_letterboxed_frames_map_back_to_image_pixels(model_dir, astronaut, height, width, top, left):
    frame = np.full((height, width, 3), 200, np.uint8)
    frame[top:top + 512, left:left + 512] = astronaut
    est = BlazePose(model_dir, video_mode=False, fetch=False)
    nose = est(frame).keypoints[INDEX["nose"]] - [left, top]
    assert 195 < nose[0] < 255 and 105 < nose[1] < 165, nose


@pytest.mark.parametrize("kind", ["grey", "noise"])
def test_no_person(blazepose, kind):
    rng = np.random.default_rng(1)
    frame = (np.full((480, 640, 3), 128, np.uint8) if kind == "grey"
             else rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    blazepose.reset()
    est = blazepose(frame)
    assert est.detected is False
    assert est.heatmaps.shape == (K, 56, 56) and not est.heatmaps.any()
    assert not est.bbox.any() and not est.scores.any() and np.isnan(est.keypoints).all()


def test_video_mode_tracks_and_redetects(model_dir, astronaut):
    est = BlazePose(model_dir, num_threads=1, fetch=False)
    first = est(astronaut)
    assert (est.detector_calls, est.landmark_calls) == (1, 1)
    second = est(astronaut)  # static clip: the region comes from frame 1's landmarks
    assert (est.detector_calls, est.landmark_calls) == (1, 2)
    assert second.detected
    assert np.linalg.norm(second.keypoints[0] - first.keypoints[0]) < 15
    est.reset()
    est(astronaut)
    assert est.detector_calls == 2
    # Losing the person ends tracking; the detector runs again on the next frame.
    assert not est(np.full_like(astronaut, 90)).detected
    assert est(astronaut).detected
    assert est.detector_calls == 4


def test_bad_frame_is_a_clear_error(blazepose):
    with pytest.raises(ValueError, match="RGB uint8"):
        blazepose(np.zeros((10, 10), np.uint8))


# -- storage ---------------------------------------------------------------------------------

class _Scripted(Estimator):
    """A stand-in estimator that returns fixed estimates, to test storage exactly."""

    heatmap_size = 8

    def __init__(self, estimates: list[FrameEstimate]):
        self.estimates = estimates
        self.t = 0

    def reset(self) -> None:
        self.t = 0

    def __call__(self, frame):
        self.t += 1
        return self.estimates[self.t - 1]


def _random_estimate(rng, detected: bool) -> FrameEstimate:
    if not detected:
        return FrameEstimate.empty(8)
    hm = rng.random((K, 8, 8)).astype(np.float16).astype(np.float32)  # exact in float16
    return FrameEstimate(hm, np.array([10, 20, 90, 100], np.float32), True,
                         rng.random(K).astype(np.float32),
                         rng.random((K, 2)).astype(np.float32) * 100)


def test_extract_then_precomputed_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    estimates = [_random_estimate(rng, d) for d in (True, False, True)]
    video = tmp_path / "clip.mp4"
    write_mp4(video, [np.zeros((64, 48, 3), np.uint8)] * 3, fps=10)
    stats = extract_video(video, _Scripted(estimates), tmp_path / "out" / "clip.npz", 8,
                          progress=False)
    assert stats["frames"] == 3 and stats["detected_fraction"] == pytest.approx(2 / 3)
    with np.load(tmp_path / "out" / "clip.npz") as z:
        assert z["heatmaps"].dtype == np.float16 and z["heatmaps"].shape == (3, K, 8, 8)
        assert z["detected"].tolist() == [True, False, True]
    replay = make_estimator("precomputed", directory=tmp_path / "out")
    replay.reset("clip")
    for want in estimates:
        got = replay(None)
        assert got.detected == want.detected
        for field in ("heatmaps", "bbox", "scores", "keypoints"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
    with pytest.raises(DataError, match="only 3 precomputed frames"):
        replay(None)
    replay.reset()
    np.testing.assert_array_equal(replay(None).heatmaps, estimates[0].heatmaps)
    # extract can run the replay too: it selects the npz by the video's name.
    extract_video(video, Precomputed(tmp_path / "out", heatmap_size=8), tmp_path / "again.npz",
                  8, progress=False)
    with np.load(tmp_path / "out" / "clip.npz") as a, np.load(tmp_path / "again.npz") as b:
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    with pytest.raises(ValueError, match="8x8 heatmaps, 56 expected"):
        Precomputed(tmp_path / "out", "clip", heatmap_size=56)


def test_precomputed_defaults(tmp_path):
    hm = np.zeros((2, K, 8, 8), np.float32)
    hm[0, :, 2, 6] = 1.0
    bboxes = np.array([[0, 0, 80, 80], [0, 0, 0, 0]], np.float32)
    np.savez(tmp_path / "v.npz", heatmaps=hm, bboxes=bboxes)
    est = Precomputed(tmp_path, "v")
    first, second = est(None), est(None)
    assert first.detected and not second.detected  # empty box = no person
    np.testing.assert_allclose(first.keypoints, np.tile([60.0, 20.0], (K, 1)))  # argmax -> image
    assert first.scores.tolist() == [1.0] * K


def test_extract_blazepose_over_two_workers(tmp_path, model_dir, astronaut):
    frames = [np.roll(astronaut, s, axis=1) for s in (0, 4)]
    videos = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    write_mp4(videos[0], frames, fps=10)
    write_mp4(videos[1], [np.full_like(astronaut, 128)] * 2, fps=10)
    stats = extract_videos(videos, tmp_path / "hm", workers=2, threads=1, heatmap_size=32,
                           progress=False, model_dir=model_dir, fetch=False)
    assert [s["frames"] for s in stats] == [2, 2]
    assert [s["detected_fraction"] for s in stats] == [1.0, 0.0]
    with np.load(tmp_path / "hm" / "a.npz") as z:
        assert z["heatmaps"].shape == (2, K, 32, 32)
        nose = z["keypoints"][:, INDEX["nose"]]
    assert np.all((195 < nose[:, 0]) & (nose[:, 0] < 265) & (105 < nose[:, 1]) & (nose[:, 1] < 165))


def test_extract_resumes_from_the_videos_an_interrupted_call_finished(tmp_path, model_dir, astronaut, caplog):
    videos = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    write_mp4(videos[0], [astronaut] * 2, fps=10)
    write_mp4(videos[1], [np.roll(astronaut, 4, axis=1)] * 2, fps=10)
    options = {"heatmap_size": 32, "progress": False, "model_dir": model_dir, "fetch": False}
    (tmp_path / "first").mkdir()
    # An interrupted run: only a.mp4 was finished.
    first = extract_videos(videos[:1], tmp_path / "first", parts=PartsDir(tmp_path / "parts", "key"), **options)
    (tmp_path / "again").mkdir()
    with caplog.at_level(logging.INFO, logger="climbpose.estimator.extract"):
        stats = extract_videos(videos, tmp_path / "again", parts=PartsDir(tmp_path / "parts", "key"), **options)
    assert "resuming: 1 of 2 videos" in caplog.text and "extracted 1 videos" in caplog.text
    assert stats[0] == first[0]  # a.mp4's record is the first run's, not a new run's
    assert [s["video"] for s in stats] == [str(v) for v in videos]
    (tmp_path / "straight").mkdir()
    extract_videos(videos, tmp_path / "straight", **options)
    for name in ("a.npz", "b.npz"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "straight" / name).read_bytes()


# -- weights -----------------------------------------------------------------------------------

def _fake_wheel(path: Path, payload: bytes = b"not a model") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for member, _, _ in wt.MODEL_FILES.values():
            zf.writestr(member, payload)
    return path


def test_weight_hash_mismatch_is_a_clear_error(tmp_path):
    wheel = _fake_wheel(tmp_path / "mediapipe-0.10.21-py3-none-any.whl")
    expected = wt.MODEL_FILES["pose_detection.tflite"][2]
    with pytest.raises(RuntimeError, match=f"pose_detection.tflite: sha256 mismatch, expected {expected}"):
        wt.extract_from_wheel(wheel, tmp_path / "dest")
    assert not (tmp_path / "dest" / "pose_detection.tflite").exists()  # nothing bad written


def test_ensure_weights_refetches_only_when_needed(tmp_path, model_dir, monkeypatch):
    calls = []

    def fake_download(version, into):
        calls.append(version)
        return _fake_wheel(into / "mediapipe-0.10.21-py3-none-any.whl")

    monkeypatch.setattr(wt, "_download_wheel", fake_download)
    assert wt.ensure_weights(model_dir) == {n: model_dir / n for n in wt.MODEL_FILES}
    assert calls == []  # right files in place: no network
    (tmp_path / "pose_detection.tflite").write_bytes(b"corrupt")
    with pytest.raises(RuntimeError, match="sha256 mismatch"):
        wt.ensure_weights(tmp_path)
    assert calls == ["0.10.21"]


def test_to_float16_is_numpys_conversion_bit_for_bit():
    """Known answers at the subnormal boundaries, and NumPy's own astype over every magnitude."""
    import numpy as np

    from climbpose.estimator.extract import to_float16

    def bits(values) -> list[int]:
        return to_float16(np.asarray(values, np.float32)).view(np.uint16).tolist()

    tiny = 2.0**-24  # the smallest float16 subnormal
    assert bits([0.0, -0.0, tiny, -tiny, tiny / 2, 3 * tiny / 2, 5 * tiny / 2]) == [
        0x0000, 0x8000, 0x0001, 0x8001, 0x0000, 0x0002, 0x0002]  # ties to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2
    assert bits([2.0**-14, 2.0**-14 - tiny / 4, 1023 * tiny, 1.0, 65504.0]) == [0x0400, 0x0400, 0x03FF, 0x3C00, 0x7BFF]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200_000).astype(np.float32) * np.float32(2.0) ** rng.integers(-40, 17, 200_000).astype(np.float32)
    x = np.concatenate([x, np.array([np.inf, -np.inf, np.nan, 1e-45, 7e4], np.float32)])
    with np.errstate(over="ignore"):
        expected = x.astype(np.float16)
    assert np.array_equal(to_float16(x).view(np.uint16), expected.view(np.uint16))
    assert to_float16(x.reshape(-1, 5)).shape == (len(x) // 5, 5)
