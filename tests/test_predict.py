"""Tests of `climbpose predict`: the sliding-window refiner (known answers), the whole command on
generated clips with the real BlazePose model (video, folder of frames, short clip, frames without a
person, precomputed heatmaps), its outputs, and its one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from climbpose.__main__ import main
from climbpose.estimator.blazepose import BlazePose
from climbpose.estimator import weights as wt
from climbpose.evaluate.pck import pair_scores
from climbpose.heatmaps import argmax_cells, cells_to_image, normalise, render_gaussians, to_box_cells
from climbpose.core.keypoints import K, NAMES
from climbpose.models import build_model, read_keypoints
from climbpose.predict import WindowRefiner
from climbpose.synth import generate_video
from climbpose.models.file import save_model
from climbpose.video import read_frames, write_mp4
from tests.processes import terminal_sigint

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "models" / "estimator"  # gitignored: downloads survive between test runs
SEED, FRAMES = 1, 30  # a clip on which the estimator is decent (PCK@0.1 ~70%)


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """As `predict` runs the model: one intra-op thread (small tensors; the CPU may be shared)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def estimator_dir() -> Path:
    wt.ensure_weights(MODEL_DIR)
    return MODEL_DIR


def averaging_conv3d() -> nn.Module:
    """A Conv3D whose output is the mean over the window's +-2 frames at the same pixel and keypoint
    (a real temporal filter with a known effect: the heatmaps are smoothed in time)."""
    model = build_model("conv3d")
    with torch.no_grad():
        model.conv.weight.zero_()
        model.conv.bias.zero_()
        for k in range(K):
            model.conv.weight[k, k, :, 2, 2] = 1 / 5
    return model


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("predict")


@pytest.fixture(scope="module")
def model_file(workdir) -> Path:
    path = workdir / "averaging.pt"
    save_model(path, "conv3d", 56, 5, averaging_conv3d().state_dict(), [], described(step=1, experiment=1))
    return path


@pytest.fixture(scope="module")
def clip(workdir) -> tuple[Path, np.ndarray]:
    frames, keypoints = generate_video(SEED, FRAMES)
    path = workdir / "climb.mp4"
    # mp4v, the pipeline's own encoder: the same frames always decode to the same pixels, which two
    # libx264 encodes on a busy machine were seen not to do.
    write_mp4(path, frames, fps=30, codec="mp4v")
    return path, keypoints


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """The real CLI entry (`python -m climbpose` / the `climbpose` script call this main)."""
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def predict_args(input_path: Path, out: Path, model: Path, estimator_dir: Path, *extra: str) -> list[str]:
    return ["predict", str(input_path), "--out", str(out), "--model", str(model),
            "--estimator-dir", str(estimator_dir), "--quiet", *extra]


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=True, dtype={"detected": str})


@pytest.fixture(scope="module")
def video_run(clip, model_file, estimator_dir, workdir) -> Path:
    out = workdir / "video_out"
    assert main(predict_args(clip[0], out, model_file, estimator_dir, "--threads", "2")) == 0
    return out


# -- the refiner: known answers -------------------------------------------------------------------

class PositionModel(nn.Module):
    """A coordinate "model" that adds each frame's position in its window (0..T-1) to its input, so
    the combined output of a frame tells which window positions it was seen at."""

    input_kind = "coordinates"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.arange(x.shape[1], dtype=x.dtype)[None, :, None, None]


def refine(model: nn.Module, detected: list[bool], step: int = 1, chunk: int = 48, group: int = 16,
           inputs: torch.Tensor | None = None) -> dict[int, np.ndarray]:
    """Feed frames the way predict does (groups of detected frames, gaps) -> {frame: refined cells}."""
    refiner = WindowRefiner(model, 5, step=step, batch_size=4, chunk=chunk)
    if inputs is None:
        inputs = torch.arange(len(detected), dtype=torch.float32)[:, None, None].expand(-1, K, 2) * 100
    out: dict[int, np.ndarray] = {}
    pending: list[int] = []

    def collect(done):
        for frames, cells in done:
            out.update(zip(frames.tolist(), cells))

    def drain():
        if pending:
            collect(refiner.push(list(pending), inputs[pending]))
            pending.clear()

    for t, ok in enumerate(detected):
        if ok:
            pending.append(t)
            if len(pending) >= group:
                drain()
        else:
            drain()
            collect(refiner.gap(t))
    drain()
    collect(refiner.finish())
    return out


def offsets(out: dict[int, np.ndarray]) -> dict[int, float]:
    """The added position mean of each frame (input was 100 * t)."""
    return {t: float(cells[0, 0] - 100 * t) for t, cells in sorted(out.items())}


def test_windows_average_and_edges():
    # 10 frames, windows start at 0..5; frame t sits at positions t - s of the windows covering it.
    got = offsets(refine(PositionModel(), [True] * 10))
    # The first and last frames are in one window each (positions 0 and 4), middle ones in five.
    assert got == {0: 0.0, 1: 0.5, 2: 1.0, 3: 1.5, 4: 2.0, 5: 2.0, 6: 2.5, 7: 3.0, 8: 3.5, 9: 4.0}


def test_windows_never_cross_a_gap_and_short_runs_are_padded():
    detected = [True] * 6 + [False] + [True] * 2 + [False, False] + [True] * 5
    got = offsets(refine(PositionModel(), detected))
    assert set(got) == {0, 1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 14, 15}  # no output for frames without a person
    assert [got[t] for t in range(6)] == [0.0, 0.5, 1.5, 2.5, 3.5, 4.0]  # run 0..5: windows 0..4 and 1..5
    # Run 7..8 (2 frames) gets one window [7, 7, 8, 8, 8]: 1 left copy, real frames at positions 1, 2.
    assert (got[7], got[8]) == (1.0, 2.0)
    assert [got[t] for t in range(11, 16)] == [0.0, 1.0, 2.0, 3.0, 4.0]  # exactly one window


def test_step_two_interleaves_and_gaps_only_cut_their_own_frames():
    # Frame 5 (odd) has no person: the odd frames are cut there, the even ones are not
    # (as in training, where the skipped frame between window frames need not have a person).
    detected = [True] * 20
    detected[5] = False
    got = offsets(refine(PositionModel(), detected, step=2))
    assert set(got) == set(range(20)) - {5}
    even = [got[t] for t in range(0, 20, 2)]  # 10 frames: windows start at 0..5 of that sequence
    assert even == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.5, 4.0]
    assert (got[1], got[3]) == (1.0, 2.0)  # odd piece 1, 3: one padded window [1, 1, 3, 3, 3]
    odd_tail = [got[t] for t in range(7, 20, 2)]  # 7 frames: windows start at 0..2
    assert odd_tail == [0.0, 0.5, 1.0, 2.0, 3.0, 3.5, 4.0]


def test_chunking_and_grouping_do_not_change_results():
    detected = [True] * 17 + [False] + [True] * 3 + [False] + [True] * 30
    reference = refine(PositionModel(), detected, chunk=1000, group=1000)
    for chunk, group in ((1, 1), (3, 7), (8, 2)):
        got = refine(PositionModel(), detected, chunk=chunk, group=group)
        assert got.keys() == reference.keys()
        for t in got:
            np.testing.assert_allclose(got[t], reference[t], atol=1e-5)


def window_by_window(model: nn.Module, detected: list[bool], maps: torch.Tensor, k: int = 5) -> dict[int, np.ndarray]:
    """The refiner's rule written out plainly (step 1): each piece of detected frames, every window of
    it (or one edge-padded window if it is short) through the model alone, the mean of the real
    frames' outputs, then the argmax."""
    pieces, piece = [], []
    for t, ok in enumerate(detected + [False]):
        if ok:
            piece.append(t)
        elif piece:
            pieces.append(piece)
            piece = []
    out = {}
    for piece in pieces:
        n = len(piece)
        if n >= k:
            windows = [(piece[s:s + k], range(k)) for s in range(n - k + 1)]
        else:
            left = (k - n) // 2
            windows = [([piece[0]] * left + piece + [piece[-1]] * (k - n - left), range(left, left + n))]
        outputs: dict[int, list[torch.Tensor]] = {t: [] for t in piece}
        for frames, real in windows:
            with torch.inference_mode():
                refined = model(maps[frames][None])[0]
            for j in real:
                outputs[frames[j]].append(refined[j])
        for t, maps_t in outputs.items():
            out[t] = read_keypoints(model, torch.stack(maps_t).mean(0)).double().numpy()
    return out


@pytest.mark.parametrize("name", ["conv3d", "bi_convlstm_sum", "conv3d_depthwise"])
def test_heatmap_models_equal_the_model_window_by_window(name):
    torch.manual_seed(0)
    model = build_model(name, size=20).eval()  # any map size for Conv3D; the ConvLSTM's is built for it
    if name == "conv3d_depthwise":  # away from its identity start, read between cells
        with torch.no_grad():
            model.conv.weight.add_(torch.rand_like(model.conv.weight) * 0.1)
    detected = [True] * 23 + [False] + [True] * 3 + [False] * 2 + [True] * 9
    maps = normalise(torch.rand(len(detected), K, 20, 20) ** 8, 255.0)
    got = refine(model, detected, chunk=7, inputs=maps)
    expected = window_by_window(model, detected, maps)
    assert got.keys() == expected.keys()
    mismatches = sum(int((got[t] != expected[t]).any(axis=-1).sum()) for t in got)
    assert mismatches <= 2  # exact up to float rounding, which may flip a near-tie argmax


def test_a_long_run_uses_bounded_memory():
    refiner = WindowRefiner(PositionModel(), 5, chunk=16)
    for t in range(0, 400, 10):
        refiner.push(list(range(t, t + 10)), torch.zeros(10, K, 2))
        assert all(len(s.frames) < 16 + 4 + 10 for s in refiner._sequences.values())


# -- the command on real clips --------------------------------------------------------------------

def box_cells(pixels: np.ndarray, boxes: np.ndarray, size: int = 56) -> np.ndarray:
    """Image pixels -> cells of each frame's box grid (inverse of cells_to_image)."""
    return (pixels - boxes[:, None, :2]) * size / (boxes[:, None, 2:] - boxes[:, None, :2])


def test_video_outputs_hold_every_source_and_the_refined_keypoints_are_the_windowed_models(video_run, clip, estimator_dir):
    path, truth = clip
    table = read_csv(video_run / "climb.keypoints.csv")
    assert tuple(table.columns) == ("frame", "keypoint", "x", "y", "score", "source", "detected")  # what users' scripts read
    assert len(table) == FRAMES * K * 3
    assert list(table["source"][::K][:3]) == ["raw", "refined", "landmarks"]  # per frame, in this order
    assert (table.groupby("frame").size() == 3 * K).all()
    assert list(table["keypoint"][:K]) == list(NAMES)
    data = json.loads((video_run / "climb.keypoints.json").read_text())
    assert len(data["frames"]) == FRAMES and data["model"] == "conv3d" and data["step"] == 1
    assert sum(1 for _ in read_frames(video_run / "climb.overlay.mp4")) == FRAMES
    frame0 = next(read_frames(video_run / "climb.overlay.mp4"))
    assert frame0.shape == (960, 540, 3)

    detected = np.array([f["detected"] for f in data["frames"]])
    assert detected.sum() >= FRAMES - 2
    boxes = np.array([f["bbox"] for f in data["frames"] if f["detected"]], np.float64)
    gt = truth[detected][..., :2]
    gt_cells, _ = to_box_cells(gt, boxes, 56)
    rows = table[table["source"] == "raw"]
    xy = rows[["x", "y"]].to_numpy().reshape(FRAMES, K, 2)[detected]
    raw_pck = pair_scores(box_cells(xy, boxes), gt_cells.numpy(), np.isfinite(gt).all(-1)).counts().result().pck(0.1)
    assert raw_pck > 50  # the estimator works on this clip, so its keypoints are worth checking

    # Known answers from the estimator run here: raw = the argmax of the training-preprocessed maps,
    # refined = the refiner's rule written out plainly (`window_by_window`), landmarks = its regressed
    # keypoints; each through the frame's box.
    est = BlazePose(estimator_dir, num_threads=2)
    estimates = [est(f) for f in read_frames(path)]
    maps = normalise(torch.from_numpy(np.stack([e.heatmaps.astype(np.float16) for e in estimates]).astype(np.float32)),
                     255.0).half().float()
    bboxes = torch.from_numpy(np.stack([e.bbox for e in estimates]).astype(np.float64))
    by_source = {source: table[table["source"] == source][["x", "y"]].to_numpy().reshape(FRAMES, K, 2)
                 for source in ("raw", "refined", "landmarks")}
    np.testing.assert_allclose(by_source["raw"], cells_to_image(argmax_cells(maps), bboxes, 56).numpy(), atol=0.006)
    cells = window_by_window(averaging_conv3d(), [bool(e.detected) for e in estimates], maps)
    expected = cells_to_image(torch.from_numpy(np.stack([cells[t] for t in range(FRAMES)])), bboxes, 56).numpy()
    np.testing.assert_allclose(by_source["refined"], expected, atol=0.006)
    np.testing.assert_allclose(by_source["landmarks"], np.stack([e.keypoints for e in estimates]), atol=0.006)
    first = data["frames"][0]
    assert list(first)[-3:] == ["raw", "refined", "landmarks"]
    assert first["landmarks"]["nose"] == {"x": round(float(estimates[0].keypoints[0, 0]), 2),
                                          "y": round(float(estimates[0].keypoints[0, 1]), 2),
                                          "score": round(float(estimates[0].scores[0]), 4)}


def test_folder_of_frames_gives_the_same_result(video_run, clip, model_file, estimator_dir, workdir, capsys):
    folder = workdir / "frames"
    folder.mkdir()
    import cv2

    for t, frame in enumerate(read_frames(clip[0])):  # the decoded video: the same pixels
        cv2.imwrite(str(folder / f"f_{t}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))  # f_10 after f_9
    (folder / "notes.txt").write_text("not a frame")
    code, out, err = run(predict_args(folder, workdir / "folder_out", model_file, estimator_dir, "--no-video",
                                      "--threads", "2"), capsys)
    assert code == 0, err
    assert not (workdir / "folder_out" / "frames.overlay.mp4").exists()
    got = read_csv(workdir / "folder_out" / "frames.keypoints.csv")
    pd.testing.assert_frame_equal(got, read_csv(video_run / "climb.keypoints.csv"))


def test_clip_shorter_than_a_window(clip, model_file, estimator_dir, workdir, capsys):
    short = workdir / "short.mp4"
    write_mp4(short, list(read_frames(clip[0]))[:3], fps=30)
    code, out, err = run(predict_args(short, workdir / "short_out", model_file, estimator_dir), capsys)
    assert code == 0, err
    table = read_csv(workdir / "short_out" / "short.keypoints.csv")
    assert len(table) == 3 * K * 3
    detected = table["detected"] == "true"
    assert detected.all()
    assert table[["x", "y"]].notna().all().all()
    assert sum(1 for _ in read_frames(workdir / "short_out" / "short.overlay.mp4")) == 3


def test_frames_without_a_person_are_kept_and_marked(clip, model_file, estimator_dir, workdir, capsys):
    frames = list(read_frames(clip[0]))[:20]
    blank = np.full_like(frames[0], 128)
    for t in (8, 9, 10):
        frames[t] = blank
    path = workdir / "gap.mp4"
    write_mp4(path, frames, fps=30)
    code, out, err = run(predict_args(path, workdir / "gap_out", model_file, estimator_dir), capsys)
    assert code == 0, err
    table = read_csv(workdir / "gap_out" / "gap.keypoints.csv")
    assert len(table) == 20 * K * 3
    gap = table["frame"].isin([8, 9, 10])
    assert (table.loc[gap, "detected"] == "false").all()
    assert table.loc[gap, ["x", "y", "score"]].isna().all().all()  # empty, not invented
    assert (table.loc[~gap, "detected"] == "true").all()
    assert table.loc[~gap, ["x", "y"]].notna().all().all()
    data = json.loads((workdir / "gap_out" / "gap.keypoints.json").read_text())
    assert data["frames"][9]["detected"] is False and data["frames"][9]["bbox"] is None
    assert data["frames"][9]["refined"]["nose"] == {"x": None, "y": None, "score": None}
    assert sum(1 for _ in read_frames(workdir / "gap_out" / "gap.overlay.mp4")) == 20
    assert "20 frames, 17 with a person" in out


def test_precomputed_heatmaps_known_answer(model_file, workdir, capsys):
    """Gaussians at a fixed cell, one outlier frame, two frames without a person: the averaging
    model removes the outlier, keeps the gap empty, and cells map to pixels through each box."""
    t_total, true_cell, outlier = 16, (20, 30), 5
    cells = torch.tensor(true_cell).expand(t_total, K, 2).clone()
    cells[outlier] = torch.tensor([40, 10])
    maps = render_gaussians(cells, 1.5, 56, 255.0) / 255  # any positive scale: predict normalises
    bboxes = np.tile(np.float32([100, 50, 212, 162]), (t_total, 1))  # 2 px per cell
    bboxes[:, [0, 2]] += np.arange(t_total)[:, None]  # a moving box
    detected = np.ones(t_total, bool)
    detected[[10, 11]] = False
    bboxes[~detected] = 0
    npz = workdir / "replay.npz"
    np.savez(npz, heatmaps=maps.numpy().astype(np.float16), bboxes=bboxes, detected=detected)
    video = workdir / "replay.mp4"
    write_mp4(video, [np.zeros((240, 320, 3), np.uint8)] * t_total, fps=25)
    out_dir = workdir / "replay_out"
    code, out, err = run(["predict", str(video), "--out", str(out_dir), "--model", str(model_file),
                          "--estimator", "precomputed", "--precomputed", str(npz), "--quiet"], capsys)
    assert code == 0, err
    table = read_csv(out_dir / "replay.keypoints.csv")
    raw = table[table["source"] == "raw"][["x", "y"]].to_numpy().reshape(t_total, K, 2)
    refined = table[table["source"] == "refined"][["x", "y"]].to_numpy().reshape(t_total, K, 2)
    expected = np.broadcast_to(bboxes[:, None, :2] + np.array(true_cell) * 2.0, (t_total, K, 2))
    keep = detected.copy()
    keep[outlier] = False
    np.testing.assert_allclose(raw[keep], expected[keep], atol=0.01)
    np.testing.assert_allclose(raw[outlier], np.broadcast_to(bboxes[outlier, :2] + [80.0, 20.0], (K, 2)), atol=0.01)
    np.testing.assert_allclose(refined[detected], expected[detected], atol=0.01)  # the outlier is gone
    assert np.isnan(refined[~detected]).all() and np.isnan(raw[~detected]).all()
    assert sum(1 for _ in read_frames(out_dir / "replay.overlay.mp4")) == t_total

    # The formats users' scripts read, pinned here as literals rather than taken from the code: the
    # CSV's columns, row order and number formats (pixels to 2 decimals, score to 4, empty where
    # no person), the JSON's header keys and per-frame layout.
    lines = (out_dir / "replay.keypoints.csv").read_text().splitlines()
    assert lines[0] == "frame,keypoint,x,y,score,source,detected"
    assert lines[1] == "0,nose,140.00,110.00,1.0000,raw,true"
    assert lines[1 + K].startswith("0,nose,") and lines[1 + K].endswith(",refined,true")
    assert lines[1 + 2 * K].endswith(",landmarks,true")
    assert lines[1 + 10 * 3 * K] == "10,nose,,,,raw,false"
    data = json.loads((out_dir / "replay.keypoints.json").read_text())
    assert list(data) == ["input", "frames_total", "frames_detected", "fps", "frame_times", "keypoints", "coordinates",
                          "sources", "score", "model", "window", "step", "heatmap_size", "c", "estimator", "model_path",
                          "device", "model_file", "timing", "frames"]
    assert (data["frames_total"], data["frames_detected"], data["fps"], data["window"], data["c"]) == (16, 14, 25.0, 5, 255.0)
    assert list(data["sources"]) == ["raw", "refined", "landmarks"] and data["keypoints"][:2] == ["nose", "left_ear"]
    assert {"fps", "estimator_fps", "model_fps", "overlay_fps"} <= set(data["timing"])
    first, gap = data["frames"][0], data["frames"][10]
    assert list(first) == ["frame", "time_s", "detected", "bbox", "raw", "refined", "landmarks"]
    assert (first["frame"], first["time_s"], first["detected"], first["bbox"]) == (0, 0.0, True, [100.0, 50.0, 212.0, 162.0])
    assert first["raw"]["nose"] == {"x": 140.0, "y": 110.0, "score": 1.0}
    assert (gap["time_s"], gap["detected"], gap["bbox"]) == (0.4, False, None)
    assert gap["raw"]["nose"] == {"x": None, "y": None, "score": None}

    # Experiment-3 spacing (the model file says step 2): windows of every 2nd frame, every frame still
    # gets an output.
    stepped = workdir / "averaging_step2.pt"
    save_model(stepped, "conv3d", 56, 5, averaging_conv3d().state_dict(), [], described(step=2, experiment=3))
    code, out, err = run(["predict", str(video), "--out", str(out_dir / "step2"), "--model", str(stepped),
                          "--estimator", "precomputed", "--precomputed", str(npz), "--no-video", "--quiet"], capsys)
    assert code == 0, err
    data = json.loads((out_dir / "step2" / "replay.keypoints.json").read_text())
    assert data["step"] == 2
    assert [f["refined"]["nose"]["x"] is not None for f in data["frames"]] == detected.tolist()

    # The identity "model" returns the estimator's keypoints; DeciWatch (coordinates) runs too.
    for name in ("identity", "deciwatch"):
        torch.manual_seed(0)
        path = workdir / f"{name}.pt"
        save_model(path, name, 56, 5, build_model(name).state_dict(), [])
        code, out, err = run(["predict", str(video), "--out", str(out_dir / name), "--model", str(path),
                              "--estimator", "precomputed", "--precomputed", str(npz), "--no-video", "--quiet"], capsys)
        assert code == 0, err
        table = read_csv(out_dir / name / "replay.keypoints.csv")
        refined = table[table["source"] == "refined"][["x", "y"]].to_numpy().reshape(t_total, K, 2)
        assert np.isfinite(refined[detected]).all() and np.isnan(refined[~detected]).all()
        if name == "identity":
            np.testing.assert_array_equal(refined, raw)


# -- errors ---------------------------------------------------------------------------------------

def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    # What a terminal shows: a progress bar is redrawn after "\r" and erased when it closes.
    lines = [line.split("\r")[-1] for line in err.split("\n")]
    lines = [line for line in lines if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


def test_unreadable_video_through_python_m(workdir):
    bad = workdir / "garbage.mp4"
    bad.write_bytes(b"\x00" * 100)
    proc = subprocess.run([sys.executable, "-m", "climbpose", "predict", str(bad), "--out", str(workdir / "g")],
                          capture_output=True, text=True, cwd=workdir)
    one_line_error(proc.returncode, proc.stderr, str(bad))  # no FFmpeg chatter either


def test_missing_input_through_python_m(workdir):
    missing = workdir / "no_such_clip.mp4"
    proc = subprocess.run([sys.executable, "-m", "climbpose", "predict", str(missing), "--out", str(workdir / "x")],
                          capture_output=True, text=True, cwd=workdir)
    one_line_error(proc.returncode, proc.stderr, str(missing))
    assert not (workdir / "x").exists()


def test_ctrl_c_stops_with_one_line_status_130_and_no_output(clip, model_file, estimator_dir, workdir):
    """SIGINT while the estimator works (the progress bar has counted a few frames): one line on
    stderr, no traceback from inside the interpreter, exit status 130, nothing in --out."""
    frames = np.stack(list(read_frames(clip[0])))
    long_clip = workdir / "long.mp4"
    write_mp4(long_clip, np.concatenate([frames] * 30), fps=30, codec="mp4v")  # 900 frames: many seconds of work
    out = workdir / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "climbpose", "predict", str(long_clip), "--out", str(out),
                             "--model", str(model_file), "--estimator-dir", str(estimator_dir), "--no-video"],
                            stderr=subprocess.PIPE, cwd=workdir, preexec_fn=terminal_sigint)
    err, counted = "", 0
    while proc.poll() is None and counted < 5:
        err += os.read(proc.stderr.fileno(), 65536).decode(errors="replace")  # what is there, at once
        counted = max([int(n) for n in re.findall(r"\| *(\d+)/900", err)] or [0])
    assert proc.poll() is None and counted < 900, err  # still working when it is stopped
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=60)[1].decode(errors="replace")
    err += rest
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = [line.split("\r")[-1] for line in rest.split("\n") if line.split("\r")[-1].strip()]
    assert lines == ["climbpose predict: interrupted; no output is left half-written"], err
    assert not out.exists() or not any(out.iterdir())


def test_default_model_is_found_from_any_folder(clip, model_file, estimator_dir, tmp_path):
    from climbpose.predict import default_model, project_root

    # Outside any project, the defaults are those of the project this package comes from.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert project_root(outside) == REPO
    # Inside a project that holds a trained model (a clone, an experiment's copy), that project's.
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dvc.yaml").write_text("stages: {}\n")
    (project / "models" / "finetuned.pt").write_bytes(model_file.read_bytes())
    sub = project / "videos" / "day1"
    sub.mkdir(parents=True)
    assert project_root(sub) == project.resolve()
    script = Path(sys.executable).parent / "climbpose"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "climbpose"]
    proc = subprocess.run([*command, "predict", str(clip[0]), "--out", "out", "--estimator-dir", str(estimator_dir),
                           "--no-video", "--quiet"], capture_output=True, text=True, cwd=sub, timeout=300)
    assert proc.returncode == 0, proc.stderr
    header = json.loads((sub / "out" / "climb.keypoints.json").read_text())
    assert header["model_path"] == str(project.resolve() / "models" / "finetuned.pt")
    assert default_model().is_absolute()


def test_options_are_checked_before_anything_loads(clip, workdir, capsys):
    taken = workdir / "taken.txt"
    taken.write_text("a file, not a folder")
    junk_model = workdir / "junk_for_out.pt"
    junk_model.write_text("not a model")
    # The --out error comes first: the (junk) model file is never opened.
    code, _, err = run(["predict", str(clip[0]), "--out", str(taken), "--model", str(junk_model), "--quiet"], capsys)
    one_line_error(code, err, f"--out {taken}", "not a folder")
    assert taken.read_text() == "a file, not a folder"
    code, _, err = run(["predict", str(clip[0]), "--out", str(workdir / "f0"), "--fps", "0", "--quiet"], capsys)
    one_line_error(code, err, "--fps 0: must be a frame rate above 0")
    assert not (workdir / "f0").exists()


def test_unreadable_inputs_name_the_file(model_file, workdir, capsys):
    bad = workdir / "broken.mp4"
    bad.write_text("this is not a video")
    code, _, err = run(["predict", str(bad), "--out", str(workdir / "z"), "--model", str(model_file)], capsys)
    one_line_error(code, err, str(bad))
    empty = workdir / "empty_folder"
    empty.mkdir()
    code, _, err = run(["predict", str(empty), "--out", str(workdir / "z"), "--model", str(model_file)], capsys)
    one_line_error(code, err, str(empty))
    frames = workdir / "bad_frames"
    frames.mkdir()
    (frames / "0001.png").write_bytes(b"not a png")
    code, _, err = run(["predict", str(frames), "--out", str(workdir / "z"), "--model", str(model_file)], capsys)
    one_line_error(code, err, str(frames / "0001.png"))
    junk_model = workdir / "junk.pt"
    junk_model.write_text("no")
    code, _, err = run(["predict", str(frames), "--out", str(workdir / "z"), "--model", str(junk_model)], capsys)
    one_line_error(code, err, str(junk_model))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(clip, model_file, workdir, capsys):
    code, _, err = run(["predict", str(clip[0]), "--out", str(workdir / "c"), "--model", str(model_file),
                        "--device", "cuda"], capsys)
    one_line_error(code, err, "--device cuda")


def described(step: int, experiment: int) -> dict:
    """What the training stages record in a model file (models.file.describe_run)."""
    return {"keypoints": K, "step": step, "c": 255.0, "sigma": 1.0, "experiment": experiment, "s": 1, "seed": 0,
            "stage": "finetune", "params_hash": "0123456789ab", "code_version": "0.1.0+test"}


def test_the_model_file_sets_step_and_c_and_a_conflicting_option_is_refused(workdir, capsys):
    t_total = 14
    cells = torch.tensor((20, 30)).expand(t_total, K, 2).clone()
    npz = workdir / "stepped.npz"
    np.savez(npz, heatmaps=(render_gaussians(cells, 1.5, 56, 255.0) / 255).numpy().astype(np.float16),
             bboxes=np.tile(np.float32([100, 50, 212, 162]), (t_total, 1)), detected=np.ones(t_total, bool))
    video = workdir / "stepped.mp4"
    write_mp4(video, [np.zeros((64, 64, 3), np.uint8)] * t_total, fps=25)
    experiment3 = workdir / "experiment3.pt"
    save_model(experiment3, "conv3d", 56, 5, averaging_conv3d().state_dict(), [], described(step=2, experiment=3))
    base = ["predict", str(video), "--estimator", "precomputed", "--precomputed", str(npz), "--no-video", "--quiet"]

    code, out, err = run([*base, "--out", str(workdir / "e3"), "--model", str(experiment3)], capsys)
    assert code == 0, err
    data = json.loads((workdir / "e3" / "stepped.keypoints.json").read_text())
    assert data["step"] == 2 and "experiment 3" in data["model_file"] and "every 2 frame(s)" in data["model_file"]
    assert err == ""  # nothing to say: the file says everything

    code, _, err = run([*base, "--out", str(workdir / "e3b"), "--model", str(experiment3), "--step", "1"], capsys)
    one_line_error(code, err, "--step 1", "trained with step 2")
    assert not (workdir / "e3b").exists()
    code, _, err = run([*base, "--out", str(workdir / "e3c"), "--model", str(experiment3), "--c", "100"], capsys)
    one_line_error(code, err, "--c 100", "trained with c 255")
    code, _, err = run([*base, "--out", str(workdir / "e3d"), "--model", str(experiment3), "--step", "2"], capsys)
    assert code == 0, err  # agreeing with the file is fine

    # A file from before model files described themselves still runs, at step 1, and says so.
    old = workdir / "old_style.pt"
    save_model(old, "conv3d", 56, 5, averaging_conv3d().state_dict(), [])
    code, _, err = run([*base, "--out", str(workdir / "old"), "--model", str(old)], capsys)
    assert code == 0 and "does not record its frame step" in err and "using step 1" in err
    assert json.loads((workdir / "old" / "stepped.keypoints.json").read_text())["step"] == 1


def test_training_records_how_the_model_was_made(tmp_path):
    from climbpose.core.config import load_params
    from climbpose.models.file import describe_run, load_model, model_label

    params = load_params(REPO / "params.yaml")
    description = describe_run(params, "finetune", [REPO / "src" / "climbpose" / "core" / "contract.py"])
    assert description["step"] == params.frame_step and description["c"] == params.heatmaps.c
    assert description["experiment"] == params.experiment and len(description["params_hash"]) == 12
    path = tmp_path / "m.pt"
    save_model(path, params.model, 56, 5, build_model(params.model).state_dict(), [{"epoch": 0}], description)
    _, payload = load_model(path, torch.device("cpu"))
    assert {k: payload[k] for k in description} == description
    assert params.model == "flip_depthwise"  # the project's default, whose options the label names
    assert model_label(payload).startswith("flip_depthwise (kernel_size 3, trust_radius 2, gate_lr_scale 100.0), "
                                           "experiment 1, s=1: window 5")
    done = subprocess.run([sys.executable, "-m", "climbpose", "report", "--model", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith(f"{path}: flip_depthwise (kernel_size 3, trust_radius 2, gate_lr_scale 100.0), "
                                                      "experiment")


def test_a_model_file_missing_a_description_field_still_predicts_and_says_what_it_lacks(tmp_path, capsys):
    t_total = 8
    maps = render_gaussians(torch.tensor((20, 30)).expand(t_total, K, 2).clone(), 1.5, 56, 255.0) / 255
    npz = tmp_path / "clip.npz"
    np.savez(npz, heatmaps=maps.numpy().astype(np.float16), bboxes=np.tile(np.float32([0, 0, 112, 112]), (t_total, 1)),
             detected=np.ones(t_total, bool))
    write_mp4(tmp_path / "clip.mp4", [np.zeros((120, 160, 3), np.uint8)] * t_total, fps=25, codec="mp4v")
    description = described(step=1, experiment=1)
    del description["experiment"]
    save_model(tmp_path / "m.pt", "conv3d", 56, 5, averaging_conv3d().state_dict(), [], description)
    code, _, err = run(["predict", str(tmp_path / "clip.mp4"), "--out", str(tmp_path / "out"), "--model",
                        str(tmp_path / "m.pt"), "--estimator", "precomputed", "--precomputed", str(npz),
                        "--no-video", "--quiet"], capsys)
    assert code == 0, err
    label = json.loads((tmp_path / "out" / "clip.keypoints.json").read_text())["model_file"]
    assert label.startswith("conv3d (keypoints 25, size 56, window 5, step 1,") and label.endswith("records no experiment")
