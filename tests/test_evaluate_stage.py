"""The evaluate stage end to end on a tiny made-up project: validation, test and the held-out-domain
test set (ood), its windows, the broken / fixed keys, the run's tables, and the one-line error when
the held-out-domain folder is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from climbpose.core import keypoints as kp
from climbpose.core.checks import DataError
from climbpose.data.dataset import FrameStore, format_split_rows, read_split_rows
from climbpose.data.preprocess import preprocess_video
from climbpose.evaluate.ood import load_ood_store, ood_rows
from climbpose.heatmaps import cells_to_image, render_gaussians
from climbpose.core.io import save_npz
from climbpose.models.file import new_model, save_model
from climbpose.report.example_frame import BLUE, GREEN, RED
from climbpose.report.overlay import Skeleton, compare_on_frame

ROOT = Path(__file__).resolve().parents[1]
SIZE, WINDOW = 24, 5


def store_of(usable_per_video: list[list[bool]]) -> FrameStore:
    lengths = [len(u) for u in usable_per_video]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return FrameStore(tuple(f"v{i}" for i in range(len(lengths))), offsets,
                      {"usable": np.concatenate([np.asarray(u, dtype=bool) for u in usable_per_video])})


def test_ood_rows_are_each_videos_disjoint_windows_in_the_split_format():
    # Video 0: 12 usable frames -> windows at 0 and 5; video 1: frame 3 unusable -> one window at 4 (4..8).
    store = store_of([[True] * 12, [True, True, True, False] + [True] * 6])
    rows = ood_rows(store, WINDOW, 1)
    assert rows.tolist() == [[0, 0, 1], [0, 5, 1], [1, 4, 1]]
    # Step 2 (experiment 3): residues 0 and 1 of video 0 each hold one window of 5 frames 2 apart.
    assert ood_rows(store_of([[True] * 10]), WINDOW, 2).tolist() == [[0, 0, 2], [0, 1, 2]]
    with pytest.raises(DataError, match="no window of 5 usable frames"):
        ood_rows(store_of([[True] * 4, [False] * 9]), WINDOW, 1)


def test_a_missing_held_out_domain_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(DataError, match="ood/preprocessed: no held-out-domain .npz files") as error:
        load_ood_store(tmp_path / "data/ood/preprocessed", ("present",))
    assert "\n" not in str(error.value)


def write_video(path: Path, frames: int, rng: np.random.Generator, jitter: float, undetected: tuple[int, ...] = (),
                landmark_offset: float = 0.0, estimate_shift: int | None = None) -> None:
    """A preprocessed video of a person drifting slowly, its estimate off by `jitter` cells at random;
    the estimator's regressed landmarks `landmark_offset` pixels right of the truth.

    With `estimate_shift`: a person standing still on whole cells, with a torso of exactly 8 cells,
    and an estimate exactly `estimate_shift` cells right of the truth (no jitter)."""
    if estimate_shift is None:
        base = rng.uniform(6, SIZE - 6, (1, kp.K, 2)) + np.cumsum(rng.normal(0, 0.3, (frames, 1, 2)), axis=0)
        base[:, [kp.LEFT_HIP, kp.RIGHT_HIP], 1] = base[:, [kp.LEFT_SHOULDER, kp.RIGHT_SHOULDER], 1] + 8  # a torso of 8 cells
        base = np.clip(base, 0, SIZE - 1)
        estimate = np.clip(base + rng.normal(0, jitter, base.shape), 0, SIZE - 1)
    else:
        still = np.stack([rng.integers(4, SIZE - 4, kp.K), rng.integers(4, SIZE - 12, kp.K)], axis=-1).astype(float)
        still[[kp.LEFT_HIP, kp.RIGHT_HIP]] = still[[kp.LEFT_SHOULDER, kp.RIGHT_SHOULDER]] + [0, 8]
        base = np.repeat(still[None], frames, axis=0)
        estimate = base + [estimate_shift, 0]
    heatmaps = render_gaussians(torch.from_numpy(estimate).float(), 1.0, SIZE, 255.0).numpy()
    scale = 10.0  # image pixels per heatmap cell, box from (0, 0)
    # Cell coordinates are pixels / scale: whole cells (estimate_shift) are whole multiples of it.
    pixels = (base + (0.5 if estimate_shift is None else 0.0)) * scale
    keypoints = np.concatenate([pixels, np.ones((frames, kp.K, 1))], axis=-1)
    bboxes = np.tile(np.array([0.0, 0.0, SIZE * scale, SIZE * scale], dtype=np.float32), (frames, 1))
    detected = np.ones(frames, dtype=bool)
    detected[list(undetected)] = False
    landmarks = np.clip(np.round(keypoints[..., :2] / scale), 0, SIZE - 1) * scale + np.array([landmark_offset, 0.0])  # the target cell
    save_npz(path, **preprocess_video(heatmaps, bboxes, detected, keypoints, 255.0, 1.0, landmarks=landmarks))


def tiny_project(root: Path, model: str, state: dict | None = None, estimate_shift: int | None = None,
                 feed_targets: bool = False) -> None:
    """Two videos split into validation and test windows, two held-out-domain videos, params and a
    model file: `state`, or the model's initial weights."""
    rng = np.random.default_rng(0)
    for name, offset in (("a", 0.0), ("b", 100.0)):  # b's landmarks are 10 cells off: wrong at every threshold
        write_video(root / f"data/preprocessed/{name}.npz", 20, rng, jitter=1.5, landmark_offset=offset,
                    estimate_shift=estimate_shift)
    write_video(root / "data/ood/preprocessed/far.npz", 17, rng, jitter=2.5, undetected=(7,), estimate_shift=estimate_shift)
    write_video(root / "data/ood/preprocessed/near.npz", 10, rng, jitter=2.5, estimate_shift=estimate_shift)
    names = ("a", "b")
    for split, starts in (("val", [0, 5]), ("test", [10, 15])):
        rows = np.array([(v, t, 1) for v in range(2) for t in starts])
        (root / "data/split").mkdir(parents=True, exist_ok=True)
        (root / f"data/split/{split}.csv").write_text(format_split_rows(names, rows))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(model=model, experiment=1, seed=0)
    params["data"].update(source="climbalong", dir="clips")  # no images: the example frame draws on a canvas
    params["heatmaps"]["size"] = SIZE
    params["train"]["device"] = "cpu"
    params["evaluate"].update(savgol_windows=[3, 5], savgol_polyorders=[0, 1], one_euro_min_cutoffs=[0.1, 1.0],
                              one_euro_betas=[0.0], cost_batch_size=2, feed_targets=feed_targets)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    if state is None:
        state = new_model(model, 0, SIZE, WINDOW, torch.device("cpu")).state_dict()
    save_model(root / "models/finetuned.pt", model, SIZE, WINDOW, state, [])


def run_evaluate(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, str(ROOT / "stages/evaluate.py")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_stage_scores_the_held_out_domain_like_test(tmp_path):
    tiny_project(tmp_path, "identity")  # the model is the identity function: it breaks and fixes nothing
    done = run_evaluate(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads((tmp_path / "reports/evaluation/scores.json").read_text())
    test, ood = scores["test"], scores["ood"]
    assert list(ood) == list(test)
    for split in (test, ood):
        assert split["model_broken_005"] == split["model_fixed_020"] == 0.0
        assert split["model_pck_010"] == split["identity_pck_010"]
        for row in ("savgol", "one_euro"):
            assert split[f"{row}_pck_005"] - split["identity_pck_005"] == pytest.approx(
                split[f"{row}_fixed_005"] - split[f"{row}_broken_005"])
        assert not any(key.startswith("identity_broken") for key in split)
    # The declared metrics are the headline only: what `dvc metrics show` prints, taken from the scores.
    headline = {"model_pck_005", "model_pck_010", "model_pck_020", "identity_pck_005", "identity_pck_010",
                "identity_pck_020", "subcells_pck_005", "subcells_pck_010", "subcells_pck_020", "model_broken_020"}
    for split in ("val", "test", "ood"):
        metrics = json.loads((tmp_path / f"metrics/{split}.json").read_text())
        assert set(metrics) == headline and all(metrics[k] == scores[split][k] for k in headline)
    # far: 17 frames, frame 7 undetected -> 0..6 gives one window, 8..16 one; near: 10 frames -> two.
    scored = read_split_rows(tmp_path / "reports/evaluation/ood_windows.csv", ("far", "near"))
    assert scored.tolist() == [[0, 0, 1], [0, 8, 1], [1, 0, 1], [1, 5, 1]]
    assert ood["identity_frames_scored"] == 4 * WINDOW
    per_keypoint = scores["per_keypoint"]
    assert "ood_identity_pck_020_wrist" in per_keypoint and "test_savgol_pck_020_wrist" in per_keypoint
    assert not (tmp_path / "metrics/per_keypoint.json").exists()
    cost = json.loads((tmp_path / "reports/evaluation/inference_cost.json").read_text())
    assert cost["model"] == "identity" and cost["model_ms_per_window_b1"] > 0
    results = (tmp_path / "reports/evaluation/results.md").read_text()
    assert results.index("### Validation") < results.index("### Test") < results.index("### Held-out domain (ood)")
    assert "broken@0.05" in results
    # It explains itself before the numbers: rows, PCK, units, where the frames come from, a verdict per split.
    head = results[:results.index("### Validation")]
    assert "identity function is the frozen estimator alone" in head and "in heatmap cells" in head
    assert "from the same 2 videos as the training windows" in head
    # The identity "model" ties the estimator everywhere; the verdict says so, not "beats", and
    # compares it with the sub-cell reading too.
    assert "> Verdict, Test: identity ties the estimator at every threshold (PCK@0.05/0.1/0.2);" in head
    assert "against its maps read between cells (no model)" in head
    # The regressed landmarks: exact in video a, 10 cells off in b, so half the test keypoints; exact in ood.
    assert [test[f"landmarks_pck_{t}"] for t in ("005", "010", "020")] == [50.0, 50.0, 50.0]
    assert [ood[f"landmarks_pck_{t}"] for t in ("005", "010", "020")] == [100.0, 100.0, 100.0]
    assert test["landmarks_pck_005"] - test["identity_pck_005"] == pytest.approx(test["landmarks_fixed_005"] - test["landmarks_broken_005"])
    assert "| Estimator, regressed landmarks | 50.0 |" in results
    # Repairs by lapse length: the identity model repairs none, the exact landmarks of ood all of them.
    lapses = json.loads((tmp_path / "reports/evaluation/lapses.json").read_text())
    assert lapses["ood"]["model"]["fixed"] == [0, 0, 0] and lapses["ood"]["model"]["broken"] == 0
    assert lapses["ood"]["landmarks"]["fixed"] == lapses["ood"]["landmarks"]["wrong"] and sum(lapses["ood"]["landmarks"]["wrong"]) > 0
    assert "Repairs by lapse length" in (tmp_path / "reports/evaluation/lapses.md").read_text()
    assert (tmp_path / "reports/example_frame.png").is_file()


def within(mask: np.ndarray, other: np.ndarray, pixels: int) -> bool:
    """Every pixel of `mask` lies within `pixels` (chessboard distance) of a pixel of `other`."""
    grown = cv2.dilate(other.astype(np.uint8), np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)).astype(bool)
    return bool(np.all(grown[mask]))


def shifting_depthwise(cells: int) -> dict:
    """conv3d_depthwise weights that move every map `cells` cells right (within its trust region)."""
    net = new_model("conv3d_depthwise", 0, SIZE, WINDOW, torch.device("cpu"))
    centre = net.kernel_size // 2
    with torch.no_grad():
        net.conv.weight.zero_()
        net.conv.weight[:, 0, centre, centre, centre - cells] = 1.0
    return net.state_dict()


@pytest.mark.parametrize("feed_targets", [False, True])
def test_the_model_row_scores_the_model_s_own_predictions(tmp_path, feed_targets):
    # Every estimate lies one cell left of the truth: 1/8 of the torso, wrong at PCK@0.05 and 0.1,
    # right at 0.2. The model moves each map one cell right, onto the truth. Fed the ground truth
    # instead (the thesis' defect), it moves the truth one cell off, where the estimate was.
    tiny_project(tmp_path, "conv3d_depthwise", shifting_depthwise(1), estimate_shift=-1, feed_targets=feed_targets)
    done = run_evaluate(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads((tmp_path / "reports/evaluation/scores.json").read_text())
    row = "model_feed_targets" if feed_targets else "model"
    expected = [0.0, 0.0, 100.0] if feed_targets else [100.0, 100.0, 100.0]
    for split in ("val", "test", "ood"):
        got = scores[split]
        assert [got[f"identity_pck_{t}"] for t in ("005", "010", "020")] == [0.0, 0.0, 100.0], split
        assert [got[f"{row}_pck_{t}"] for t in ("005", "010", "020")] == expected, split
        assert got[f"{row}_fixed_005"] == expected[0] and got[f"{row}_broken_020"] == 0.0, split
    if feed_targets:  # no honest-looking model row beside the labelled one
        assert not any(key.startswith("model_pck") for key in scores["test"])
    # A defect run's tables carry its name, and no file of an honest run is left beside them.
    results = tmp_path / "reports/evaluation" / ("results_feed_targets.md" if feed_targets else "results.md")
    assert ("fed targets" in results.read_text()) == feed_targets
    assert (tmp_path / "reports/evaluation/results.md").exists() != feed_targets
    # The example frame draws those predictions where they are: the middle test window is video b's
    # from frame 10 (rows a 10, a 15, b 10, b 15), whose person stands still on whole cells of 10
    # pixels; the picture is exactly the overlay of the truth, the model on it (fed the truth: one
    # cell right of it) and the estimator one cell left, on the dark canvas of a source without images.
    picture = cv2.cvtColor(cv2.imread(str(tmp_path / "reports/example_frame.png")), cv2.COLOR_BGR2RGB)
    video = np.load(tmp_path / "data/preprocessed/b.npz")
    box = video["bboxes"][12]

    def pixels(cells):  # the grid convention's cell -> image point (cells_to_image has its own known answers)
        return cells_to_image(torch.tensor(cells, dtype=torch.float32)[None], box[None], SIZE)[0].numpy()

    cells = video["target_cells"][12].astype(np.float32)  # (K, 2) x, y
    truth = pixels(cells)
    model_xy = pixels(cells + [1.0 if feed_targets else 0.0, 0.0])
    label = "conv3d_depthwise (fed targets)" if feed_targets else "conv3d_depthwise"
    expected = compare_on_frame(
        np.full((260, 260, 3), 40, np.uint8),
        [Skeleton("ground truth (thick)", truth, GREEN, thickness=5, present=video["present"][12]),
         Skeleton(f"{label} (medium)", model_xy, BLUE, thickness=3),
         Skeleton("estimator (thin)", pixels(cells - [1.0, 0.0]), RED, thickness=1)],
        box, caption="b frame 12" + (" FEED_TARGETS" if feed_targets else ""))
    # The model's keypoints are read between cells and may sit up to 0.4 cells (4 pixels: right at
    # PCK@0.05 with this torso of 8 cells) from whole cells where maps overlap; the estimator is
    # 10 pixels away. Each colour's pixels must lie within 5 pixels of where the overlay puts them,
    # both ways (green with the blue drawn over it, since where the model covers the truth moves too).
    def near(image, *colours):
        return np.any([np.abs(image.astype(int) - colour).max(-1) < 40 for colour in colours], axis=0)

    for colours in ((BLUE,), (RED,), (GREEN, BLUE)):
        drawn, wanted = near(picture, *colours), near(expected, *colours)
        assert drawn.sum() > 100 and within(drawn, wanted, 5) and within(wanted, drawn, 5), colours


def test_the_stage_requires_the_held_out_domain(tmp_path):
    tiny_project(tmp_path, "identity")
    shutil.rmtree(tmp_path / "data/ood")
    done = run_evaluate(tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: data/ood/preprocessed: no held-out-domain .npz files; the evaluate stage scores that test set (run the ood stage)"]
    assert not (tmp_path / "metrics").exists()
