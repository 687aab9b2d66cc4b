"""Bad input fails loudly and precisely and leaves nothing half-written; allowed oddities pass.

Each case builds a small dataset in a temporary folder with one broken file (named `zz_bad` so
that it is read after good ones, whose outputs are then already written), runs the real stage
scripts on it in-process, and checks: exit status 1; one line `error: ...` naming the file and
the problem, no traceback; the failing stage's output absent (nothing partial a later run could
take for complete, no hidden temporaries); the user's folders unchanged.
docs/user-guide.md#input-checks-and-interruptions
and interruptions" lists the rules.
"""

from __future__ import annotations

import json
import logging
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from climbpose.core.keypoints import K, NAMES
from climbpose.train import loop
from climbpose.models.file import new_model, save_model
from climbpose.video import read_frames, write_mp4
from tests.helpers.climbalong_fixture import write_climbalong_dataset
from tests.helpers.damaged import index_only_mp4, truncated_mp4
from tests.helpers.formats import write_project_json
from tests.test_sources import tree_digest

REPO = Path(__file__).resolve().parents[1]
SIZE, FRAMES, W, H = 8, 6, 64, 48
BASE = {"heatmaps.size": SIZE, "extract.workers": 1, "split.block": 10, "train.device": "cpu",
        "pretrain.sequences": 4, "pretrain.frames": 20, "pretrain.max_epochs": 1, "pretrain.windows_per_epoch": 32,
        "finetune.max_epochs": 1, "finetune.windows_per_epoch": 32}
OUTPUTS = {"extract": "data/extracted", "preprocess": "data/preprocessed", "split": "data/split",
           "pretrain": "models/pretrained.pt", "finetune": "models/finetuned.pt"}


def run(stage: str, project: Path, overrides: dict, monkeypatch, capsys) -> tuple[int, str, str]:
    """Run stages/<stage>.py in `project` with params.yaml + BASE + overrides; (exit code, stdout, stderr)."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for dotted, value in {**BASE, **overrides}.items():
        *parents, leaf = dotted.split(".")
        target = params
        for key in parents:
            target = target[key]
        target[leaf] = value
    project.mkdir(parents=True, exist_ok=True)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "argv", [f"stages/{stage}.py"])  # as DVC runs it: no arguments
    capsys.readouterr()
    try:
        runpy.run_path(str(REPO / "stages" / f"{stage}.py"), run_name="__main__")
        code = 0
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def error_line(code: int, err: str) -> str:
    """The single `error: ...` line of a failed stage (progress bars and log lines may precede it)."""
    assert code == 1, err
    assert "Traceback" not in err, err
    lines = [line.split("\r")[-1].strip() for line in err.splitlines()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and [line for line in lines if line][-1] == errors[0], err
    return errors[0]


# -- datasets ---------------------------------------------------------------------------------

def keypoints(frames: int = FRAMES) -> np.ndarray:
    """(T, 25, 3) float32 keypoints inside a W x H frame, all visible."""
    xy = 8 + np.arange(K, dtype=np.float32)[None, :, None] + np.arange(frames, dtype=np.float32)[:, None, None] / 2
    return np.concatenate([np.broadcast_to(xy, (frames, K, 2)), np.ones((frames, K, 1), np.float32)], axis=-1)


def estimates(frames: int = FRAMES, seed: int = 0, **changes) -> dict[str, np.ndarray]:
    """The arrays of a precomputed estimator file; `changes` replaces some."""
    arrays = {"heatmaps": np.random.default_rng(seed).random((frames, K, SIZE, SIZE), dtype=np.float32) + 0.01,
              "bboxes": np.tile(np.float32([[8, 4, 40, 36]]), (frames, 1)), "detected": np.ones(frames, bool)}
    return {**arrays, **changes}


def frames_of(frames: int = FRAMES, shade: int = 0) -> list[np.ndarray]:
    return [np.full((H, W, 3), shade, np.uint8)] * frames


@dataclass
class Case:
    overrides: dict
    stages: tuple[str, ...]  # run in order; the last one must fail
    needles: tuple[str, ...]  # in the error line (the first names the file)
    sources: tuple[Path, ...] = ()  # folders that must not change
    extra: dict = field(default_factory=dict)


def videos_source(root: Path, names=("a", "b", "zz_bad")) -> tuple[dict, Path, Path]:
    """The user's videos with the project's JSON annotations; heatmaps replayed by `precomputed`."""
    lab, replay = root / "lab", root / "replay"
    for i, name in enumerate(names):
        write_mp4(lab / "videos" / f"{name}.mp4", frames_of(shade=40 * i), fps=10)
        write_project_json(lab / "annotations" / f"{name}.json", {t: keypoints()[t].tolist() for t in range(FRAMES)})
        replay.mkdir(parents=True, exist_ok=True)
        np.savez(replay / f"{name}.npz", **estimates(seed=i))
    overrides = {"data.source": "videos", "data.dir": str(lab), "estimator.name": "precomputed",
                 "estimator.precomputed_dir": str(replay)}
    return overrides, lab, replay


def synthetic_source(root: Path, names=("a", "b", "zz_bad")) -> tuple[dict, Path, Path]:
    """The synthetic layout (data/synthetic/{videos,keypoints}) written by hand, heatmaps replayed."""
    synthetic, replay = root / "project" / "data" / "synthetic", root / "replay"
    for i, name in enumerate(names):
        write_mp4(synthetic / "videos" / f"{name}.mp4", frames_of(shade=40 * i), fps=10)
        (synthetic / "keypoints").mkdir(parents=True, exist_ok=True)
        np.savez(synthetic / "keypoints" / f"{name}.npz", keypoints=keypoints())
        replay.mkdir(parents=True, exist_ok=True)
        np.savez(replay / f"{name}.npz", **estimates(seed=i))
    return {"estimator.name": "precomputed", "estimator.precomputed_dir": str(replay)}, synthetic, replay


def climbalong_source(root: Path, videos: int = 3, frames: int = 12) -> tuple[dict, Path, str]:
    """A ClimbAlong folder; returns the overrides, the folder and the last video's name."""
    folder = root / "climbalong"
    names = write_climbalong_dataset(folder, videos=videos, frames=frames, seed=0, size=SIZE)
    return {"data.source": "climbalong", "data.dir": str(folder), "data.min_first_frame_keypoints": 0}, folder, names[-1]


def rewrite(path: Path, **changes) -> None:
    """Replace arrays of an npz file."""
    with np.load(path) as z:
        arrays = {key: z[key] for key in z.files}
    np.savez(path, **{**arrays, **changes})


def edit_keypoints(path: Path, edit) -> None:
    with np.load(path) as z:
        kp = z["keypoints"].copy()
    edit(kp)
    np.savez(path, keypoints=kp)


# -- the cases: one per rule of the input checks -------------------------------------------------------

CASES: dict = {}


def case(fn):
    """Register a case builder under its name (without the leading underscore)."""
    CASES[fn.__name__.lstrip("_")] = fn
    return fn


def video_case(tmp: Path, damage, needles: tuple[str, ...], stages=("extract",)) -> Case:
    overrides, lab, replay = videos_source(tmp)
    damage(lab, replay)
    return Case(overrides, stages, needles, (lab, replay))


@case
def _unreadable(tmp):
    return video_case(tmp, lambda lab, r: (lab / "videos" / "zz_bad.mp4").write_bytes(np.random.default_rng(0).bytes(4000)),
                      (str(tmp / "lab" / "videos" / "zz_bad.mp4"), "cannot open as a video"))


@case
def _zero_length(tmp):
    return video_case(tmp, lambda lab, r: (lab / "videos" / "zz_bad.mp4").write_bytes(b""),
                      (str(tmp / "lab" / "videos" / "zz_bad.mp4"), "empty file (0 bytes)"))


def noise_mp4(path: Path, frames: int = 20) -> Path:
    """An OpenCV mp4 of incompressible frames: its frame data fills the file, so a cut shows."""
    noise = [np.random.default_rng(i).integers(0, 256, (H, W, 3), dtype=np.uint8) for i in range(frames)]
    write_mp4(path, noise, fps=10, codec="mp4v")  # the index-last layout the helpers rearrange
    return path


@case
def _truncated(tmp):
    # Cut as the frame data begins: the file opens and lists 20 frames, none decodes. (A copy cut
    # later decodes to the frames it holds, with a warning: see the test below.)
    def damage(lab, replay):
        index_only_mp4(noise_mp4(tmp / "whole.mp4"), lab / "videos" / "zz_bad.mp4")
        np.savez(replay / "zz_bad.npz", **estimates(20))
    return video_case(tmp, damage, (str(tmp / "lab" / "videos" / "zz_bad.mp4"), "no frame could be decoded: "
                                    "truncated or damaged (the container lists 20 frames)"))


@case
def _heatmap_frames_differ_from_video(tmp):
    return video_case(tmp, lambda lab, replay: np.savez(replay / "zz_bad.npz", **estimates(FRAMES + 1)),
                      (str(tmp / "replay" / "zz_bad.npz"), f"{FRAMES + 1} frames, but its video has {FRAMES}"))


@case
def _annotation_beyond_video(tmp):
    def damage(lab, replay):
        write_project_json(lab / "annotations" / "zz_bad.json", {t: keypoints(10)[t].tolist() for t in range(10)})
    return video_case(tmp, damage, (str(tmp / "lab" / "annotations" / "zz_bad.json"),
                                    f"frame {FRAMES} is outside the video's {FRAMES} frames"), ("extract", "preprocess"))


@case
def _annotation_frames_differ(tmp):
    overrides, synthetic, replay = synthetic_source(tmp)
    np.savez(synthetic / "keypoints" / "zz_bad.npz", keypoints=keypoints(FRAMES + 1))
    return Case(overrides, ("extract", "preprocess"), (str(Path("data/synthetic/keypoints/zz_bad.npz")),
                f"{FRAMES + 1} frames, but data/synthetic/videos/zz_bad.mp4 has {FRAMES}"), (replay,))


@case
def _unsupported_pixel_format(tmp):
    def damage(lab, replay):
        (lab / "videos" / "zz_bad.mp4").unlink()
        folder = lab / "videos" / "zz_bad"
        folder.mkdir()
        for i in range(FRAMES):  # float32 TIFF: OpenCV reads it but cannot make 8-bit colour of it
            cv2.imwrite(str(folder / f"f{i}.tiff"), np.random.default_rng(i).random((H, W, 3)).astype(np.float32))
    return video_case(tmp, damage, (str(tmp / "lab" / "videos" / "zz_bad" / "f0.tiff"), "unsupported pixel format (float32"))


@case
def _frames_of_two_sizes(tmp):
    def damage(lab, replay):
        (lab / "videos" / "zz_bad.mp4").unlink()
        folder = lab / "videos" / "zz_bad"
        folder.mkdir()
        for i in range(FRAMES):
            cv2.imwrite(str(folder / f"f{i}.png"), np.zeros((H, W, 3) if i != 2 else (H // 2, W // 2, 3), np.uint8))
    return video_case(tmp, damage, (str(tmp / "lab" / "videos" / "zz_bad" / "f2.png"),
                                    f"frame 2 is {W // 2}x{H // 2} but the first frame is {W}x{H}"))


def synthetic_keypoints_case(tmp, edit, needles: tuple[str, ...]) -> Case:
    overrides, synthetic, replay = synthetic_source(tmp)
    edit_keypoints(synthetic / "keypoints" / "zz_bad.npz", edit)
    return Case(overrides, ("extract", "preprocess"), (str(Path("data/synthetic/keypoints/zz_bad.npz")), *needles), (replay,))


@case
def _annotation_wrong_shape(tmp):
    overrides, synthetic, replay = synthetic_source(tmp)
    np.savez(synthetic / "keypoints" / "zz_bad.npz", keypoints=keypoints()[..., :2])
    return Case(overrides, ("extract", "preprocess"), ("data/synthetic/keypoints/zz_bad.npz",
                f"keypoints has shape ({FRAMES}, {K}, 2), expected (T, {K}, 3)"), (replay,))


@case
def _annotation_count_without_names(tmp):
    def damage(lab, replay):
        write_project_json(lab / "annotations" / "zz_bad.json", {0: keypoints()[0, :17].tolist()})
    return video_case(tmp, damage, (str(tmp / "lab" / "annotations" / "zz_bad.json"), "51 numbers for 25 keypoints",
                                    "lists no keypoint_names"), ("extract", "preprocess"))


@case
def _annotation_names_map_to_nothing(tmp):
    def damage(lab, replay):
        write_project_json(lab / "annotations" / "zz_bad.json", {0: keypoints()[0, :3].tolist()}, ["head_top", "hand_l", "hand_r"])
    return video_case(tmp, damage, (str(tmp / "lab" / "annotations" / "zz_bad.json"),
                                    "none of its keypoint names (head_top, hand_l, hand_r)", "data.keypoint_map"),
                      ("extract", "preprocess"))


@case
def _climbalong_keypoint_count(tmp):
    overrides, folder, bad = climbalong_source(tmp)
    rewrite(folder / "targets" / f"{bad}.npz", keypoints=keypoints(12)[:, :17])
    return Case(overrides, ("preprocess",), (str(folder / "targets" / f"{bad}.npz"), "keypoints of shape (12, 17, 3)",
                                            "no keypoint map applies"), (folder,))


@case
def _infinite_coordinate(tmp):
    return synthetic_keypoints_case(tmp, lambda kp: kp.__setitem__((2, 3, 0), np.inf),
                                    ("1 infinite value(s) in keypoint coordinates, the first at frame 2",))


@case
def _nan_visibility(tmp):
    return synthetic_keypoints_case(tmp, lambda kp: kp.__setitem__((1, 4, 2), np.nan),
                                    (f"frame 1, {NAMES[4]}: visibility NaN is not one of 0, 1",))


@case
def _null_visibility_in_json(tmp):
    def damage(lab, replay):
        frame = keypoints()[0].tolist()
        frame[5][2] = None
        write_project_json(lab / "annotations" / "zz_bad.json", {3: frame})
    return video_case(tmp, damage, (str(tmp / "lab" / "annotations" / "zz_bad.json"),
                                    f"frame 3, {NAMES[5]}: visibility NaN is not one of 0, 1, 2"), ("extract", "preprocess"))


@case
def _visibility_not_0_or_1(tmp):
    return synthetic_keypoints_case(tmp, lambda kp: kp.__setitem__((0, 7, 2), 2.0),
                                    (f"frame 0, {NAMES[7]}: visibility 2 is not one of 0, 1",))


@case
def _climbalong_visibility_3(tmp):
    overrides, folder, bad = climbalong_source(tmp)
    with np.load(folder / "targets" / f"{bad}.npz") as z:
        kp = z["keypoints"].copy()
    kp[..., 2][kp[..., 2] > 0] = 3
    rewrite(folder / "targets" / f"{bad}.npz", keypoints=kp)
    return Case(overrides, ("preprocess",), (str(folder / "targets" / f"{bad}.npz"), "visibility 3 is not one of 0, 1, 2"),
                (folder,))


@case
def _far_outside_the_image(tmp):
    return synthetic_keypoints_case(tmp, lambda kp: kp.__setitem__((3, 0, 0), 1000.0),
                                    ("frame 3, nose at (1000, ", f"far outside the {W}x{H} image"))


def heatmap_case(tmp, needles: tuple[str, ...], stages=("extract",), **changes) -> Case:
    return video_case(tmp, lambda lab, replay: np.savez(replay / "zz_bad.npz", **estimates(**changes)),
                      (str(tmp / "replay" / "zz_bad.npz"), *needles), stages)


@case
def _heatmaps_wrong_shape(tmp):
    return heatmap_case(tmp, (f"heatmaps has shape ({FRAMES}, {K}, {SIZE}, {SIZE + 1}), expected (T, {K}, S, S)",),
                        heatmaps=np.ones((FRAMES, K, SIZE, SIZE + 1), np.float32))


@case
def _heatmaps_wrong_dtype(tmp):
    return heatmap_case(tmp, ("heatmaps has dtype int32, expected floating point",),
                        heatmaps=np.ones((FRAMES, K, SIZE, SIZE), np.int32))


@case
def _heatmaps_nan(tmp):
    maps = estimates()["heatmaps"]
    maps[2, 0, 1, 1] = np.nan
    return heatmap_case(tmp, ("1 NaN value(s) in heatmaps, the first at frame 2",), heatmaps=maps)


@case
def _empty_box_on_detected_frame(tmp):
    boxes = estimates()["bboxes"]
    boxes[3] = (40, 4, 8, 36)
    return heatmap_case(tmp, ("frame 3 is marked detected but its box (40, 4, 8, 36) is empty",), bboxes=boxes)


@case
def _climbalong_heatmap_size(tmp):
    overrides, folder, bad = climbalong_source(tmp)
    rewrite(folder / "inputs" / f"{bad}.npz", heatmaps=np.zeros((26, K, 16, 16), np.float32))
    return Case(overrides, ("preprocess",), (str(folder / "inputs" / f"{bad}.npz"), "16x16 heatmaps, 8 expected (heatmaps.size"),
                (folder,))


@case
def _climbalong_heatmaps_inf(tmp):
    overrides, folder, bad = climbalong_source(tmp)
    with np.load(folder / "inputs" / f"{bad}.npz") as z:
        maps = z["heatmaps"].copy()
    maps[4, 2, 0, 0] = -np.inf
    rewrite(folder / "inputs" / f"{bad}.npz", heatmaps=maps)
    return Case(overrides, ("preprocess",), (str(folder / "inputs" / f"{bad}.npz"), "1 infinite value(s) in heatmaps, the first at frame 4"),
                (folder,))


@case
def _no_person_in_any_frame(tmp):
    overrides, lab, replay = videos_source(tmp)
    np.savez(replay / "zz_bad.npz", **estimates(bboxes=np.zeros((FRAMES, 4), np.float32), detected=np.zeros(FRAMES, bool)))
    return Case(overrides, ("extract", "preprocess"), (str(lab / "videos" / "zz_bad.mp4"),
                f"no person found in any of its {FRAMES} frames"), (lab, replay))


@case
def _climbalong_no_person(tmp):
    overrides, folder, bad = climbalong_source(tmp)
    rewrite(folder / "inputs" / f"{bad}.npz", bboxes=np.zeros((26, 4), np.float32))
    return Case(overrides, ("preprocess",), (str(folder / "inputs" / f"{bad}.npz"), "no person found in any of its 26 frames"),
                (folder,))


@case
def _too_few_windows(tmp):
    overrides, folder, _ = climbalong_source(tmp, videos=2)
    return Case({**overrides, "split.by": "videos"}, ("preprocess", "split"),
                ("data/preprocessed: too few windows for a 60/20/20 split by videos", "split.window=5"), (folder,))


@case
def _window_longer_than_every_video(tmp):
    overrides, folder, _ = climbalong_source(tmp, videos=1, frames=4)
    return Case(overrides, ("preprocess", "split"), ("data/preprocessed: the window span (5 frames for k=5, step=1) is "
                                                     "longer than every video (longest: 4 frames)",), (folder,))


@case
def _params_checked_before_work(tmp):
    overrides, lab, replay = videos_source(tmp)
    return Case({**overrides, "finetune.lr": 0.0}, ("extract",), ("params.yaml: finetune.lr must be > 0",), (lab, replay))


@case
def _params_block_shorter_than_window(tmp):
    overrides, lab, replay = videos_source(tmp)
    return Case({**overrides, "experiment": 3, "split.block": 8}, ("extract",),
                ("params.yaml: split.block (8) must be >= the window span (9 frames for split.window=5, experiment 3)",),
                (lab, replay))


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_naming_the_file_and_leaves_no_partial_output(name, tmp_path, monkeypatch, capsys):
    case = CASES[name](tmp_path)
    project = tmp_path / "project"
    before = {folder: tree_digest(folder) for folder in case.sources}
    for stage in case.stages[:-1]:
        code, _, err = run(stage, project, case.overrides, monkeypatch, capsys)
        assert code == 0, err
    code, _, err = run(case.stages[-1], project, case.overrides, monkeypatch, capsys)
    line = error_line(code, err)
    for needle in case.needles:
        assert needle in line, line
    assert not (project / OUTPUTS[case.stages[-1]]).exists()  # nothing a later run could take as complete
    assert not list(project.rglob(".*partial-*")) and not list(project.rglob(".*.npz"))  # no temporaries left
    assert {folder: tree_digest(folder) for folder in case.sources} == before  # the user's data is only read


# -- what is allowed ------------------------------------------------------------------------------

def test_nan_coordinates_are_missing_keypoints_and_all_zero_maps_are_counted(tmp_path, monkeypatch, capsys):
    overrides, synthetic, replay = synthetic_source(tmp_path)
    edit_keypoints(synthetic / "keypoints" / "zz_bad.npz", lambda kp: kp.__setitem__((slice(0, 2), 3, slice(0, 2)), np.nan))
    rewrite(replay / "a.npz", heatmaps=np.where(np.arange(FRAMES)[:, None, None, None] < 2, 0.0, estimates()["heatmaps"]).astype(np.float32))
    project = tmp_path / "project"
    for stage in ("extract", "preprocess"):
        code, out, err = run(stage, project, overrides, monkeypatch, capsys)
        assert code == 0, err
    with np.load(project / "data" / "preprocessed" / "zz_bad.npz") as z:
        assert not z["present"][:2, 3].any() and z["present"][2:, 3].all() and z["present"][:, :3].all()
    metrics = json.loads((project / "reports" / "data" / "preprocess.json").read_text())
    assert metrics["input_maps_all_zero"] == 2 * K
    assert "50 estimator heatmaps of frames with a person are all zero" in out


def test_a_truncated_video_gives_the_frames_it_holds_with_one_warning(tmp_path, monkeypatch, capsys, caplog):
    overrides, lab, replay = videos_source(tmp_path)
    bad = lab / "videos" / "zz_bad.mp4"
    truncated_mp4(noise_mp4(tmp_path / "whole.mp4"), bad, keep=0.5)  # a fast-start copy cut in half
    held = sum(1 for _ in read_frames(bad))
    assert 0 < held < 20
    np.savez(replay / "zz_bad.npz", **estimates(held))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="climbpose.video"):
        code, _, err = run("extract", tmp_path / "project", overrides, monkeypatch, capsys)
    assert code == 0, err
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"{bad}: the container lists 20 frames, {held} decoded ({20 - held} dropped or empty)"]
    with np.load(tmp_path / "project" / "data" / "extracted" / "zz_bad.npz") as z:
        assert len(z["heatmaps"]) == held


def test_a_failed_rerun_keeps_the_old_complete_output(tmp_path, monkeypatch, capsys):
    overrides, lab, replay = videos_source(tmp_path)
    project = tmp_path / "project"
    for stage in ("extract", "preprocess"):
        assert run(stage, project, overrides, monkeypatch, capsys)[0] == 0
    good = tree_digest(project / "data" / "preprocessed")
    frame = keypoints()[0].tolist()
    frame[0][0] = float("inf")  # JSON's Infinity
    write_project_json(lab / "annotations" / "zz_bad.json", {0: frame})
    code, _, err = run("preprocess", project, overrides, monkeypatch, capsys)
    assert "infinite value" in error_line(code, err)
    assert tree_digest(project / "data" / "preprocessed") == good


# -- training -----------------------------------------------------------------------------------

@pytest.fixture
def split_project(tmp_path, monkeypatch, capsys):
    """A ClimbAlong project preprocessed and split, with a fresh 'pretrained' model."""
    overrides, _, _ = climbalong_source(tmp_path, videos=3, frames=30)
    project = tmp_path / "project"
    for stage in ("preprocess", "split"):
        code, _, err = run(stage, project, overrides, monkeypatch, capsys)
        assert code == 0, err
    model = new_model("conv3d", 0, SIZE, 5, torch.device("cpu"))
    save_model(project / "models" / "pretrained.pt", "conv3d", SIZE, 5, model.state_dict(), [])
    return project, overrides


def test_a_nan_loss_stops_finetuning_naming_epoch_and_batch(split_project, monkeypatch, capsys):
    project, overrides = split_project
    monkeypatch.setattr(loop, "train_step", lambda *args: torch.tensor(float("nan")))
    code, _, err = run("finetune", project, overrides, monkeypatch, capsys)
    line = error_line(code, err)
    assert "finetune: loss became nan at epoch 1, batch 0; try a smaller finetune.lr" in line
    assert not (project / "models" / "finetuned.pt").exists()


def test_out_of_gpu_memory_names_the_batch_size_parameter(tmp_path, monkeypatch, capsys):
    def step(*args):
        raise loop.OutOfMemory("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(loop, "train_step", step)
    # A thesis model: the default flip_depthwise skips pretraining (pretrain.skip_models).
    code, _, err = run("pretrain", tmp_path / "project", {"model": "conv3d"}, monkeypatch, capsys)
    line = error_line(code, err)
    assert "pretrain: out of GPU memory at epoch 1, batch 0 with batch size 16; set a smaller pretrain.batch_size" in line
    assert not (tmp_path / "project" / "models" / "pretrained.pt").exists()
