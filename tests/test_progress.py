"""Progress display of the long steps: the one bar over all videos of an extraction (whatever
the number of workers), and the visible pip download of the estimator's weights."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tqdm import tqdm

from climbpose.estimator import weights as wt
from climbpose.estimator.extract import _OverallBar, extract_videos
from climbpose.core.keypoints import K
from climbpose.video import write_mp4

LENGTHS = {"a": 5, "b": 7, "c": 4}  # frames per video; 16 in all
SIZE = 8  # heatmap side: small files, quick replay


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[list[Path], Path]:
    """Three short videos and, for each, stored estimates that the precomputed estimator replays."""
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(7)
    videos = []
    for name, t in LENGTHS.items():
        video = root / f"{name}.mp4"
        write_mp4(video, [np.full((24, 32, 3), 10 * i, np.uint8) for i in range(t)], fps=10)
        videos.append(video)
        bboxes = np.tile(np.array([2, 2, 20, 20], np.float32), (t, 1))
        bboxes[1] = 0  # one frame without a person, so `detected` differs between frames
        np.savez(root / f"{name}.npz", heatmaps=rng.random((t, K, SIZE, SIZE)).astype(np.float32),
                 bboxes=bboxes)
    return videos, root


def _extract(clips, out: Path, workers: int, progress) -> list[dict]:
    videos, stored = clips
    out.mkdir()
    return extract_videos(videos, out, workers=workers, estimator="precomputed", heatmap_size=SIZE,
                          progress=progress, directory=stored)


def _file_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.npz"))}


def test_one_bar_counts_the_frames_of_both_workers_and_changes_no_output(clips, tmp_path):
    shown = io.StringIO()
    bar = tqdm(file=shown, mininterval=0)
    stats = _extract(clips, tmp_path / "shown", workers=2, progress=bar)
    bar.close()
    assert (bar.n, bar.total) == (16, 16)
    assert bar.unit == "frame" and bar.desc.rstrip(": ") == "extract 3/3 videos"
    last = shown.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("extract 3/3 videos: 100%") and "16/16" in last and "frame/s" in last
    assert [s["frames"] for s in stats] == list(LENGTHS.values())
    silent = _extract(clips, tmp_path / "silent", workers=2, progress=False)
    assert _file_bytes(tmp_path / "shown") == _file_bytes(tmp_path / "silent")
    assert len(_file_bytes(tmp_path / "shown")) == 3
    assert [s["detected_fraction"] for s in silent] == [s["detected_fraction"] for s in stats]


def test_one_worker_fills_the_same_bar_in_process(clips, tmp_path):
    bar = tqdm(file=io.StringIO(), mininterval=0, desc="ood extract")
    videos, stored = clips
    (tmp_path / "out").mkdir()
    extract_videos(videos[:2], tmp_path / "out", workers=1, estimator="precomputed", heatmap_size=SIZE,
                   progress=bar, label="ood extract", directory=stored)
    assert (bar.n, bar.total) == (12, 12)
    assert bar.desc.rstrip(": ") == "ood extract 2/2 videos"


def test_progress_off_writes_nothing(clips, tmp_path, capfd):
    _extract(clips, tmp_path / "out", workers=1, progress=False)
    assert capfd.readouterr().err == ""


def test_bar_counts_videos_when_a_video_lists_no_frame_count(tmp_path):
    # Unreadable files list no frame count (their workers report the error later): the bar
    # then counts videos, and single frames do not move it.
    bar = tqdm(file=io.StringIO())
    overall = _OverallBar(bar, [str(tmp_path / "missing.mp4"), str(tmp_path / "other.mp4")], "extract")
    overall.add_frame()
    overall.video_finished()
    assert (bar.unit, bar.n, bar.total, bar.desc.rstrip(": ")) == ("video", 1, 2, "extract 1/2 videos")


# -- the weights' download ----------------------------------------------------------------------

def test_pip_command_shows_its_progress_bar(tmp_path):
    cmd = wt.pip_download_command("0.10.21", tmp_path)
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    i = cmd.index("--progress-bar")
    assert cmd[i + 1] == "on"
    assert "-q" not in cmd and "--quiet" not in cmd  # quiet would hide the bar
    assert "mediapipe==0.10.21" in cmd and cmd[-2:] == ["-d", str(tmp_path)]


def test_download_says_what_it_fetches_and_leaves_pip_stdout_on_screen(tmp_path):
    calls, said = [], []

    def fake_pip(cmd, **kwargs):
        calls.append((cmd, kwargs))
        (tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"x" * 2_000_000)
        return subprocess.CompletedProcess(cmd, 0, stderr="")

    wheel = wt._download_wheel("0.10.21", tmp_path, run=fake_pip, say=said.append)
    assert wheel.name.startswith("mediapipe-0.10.21")
    [(cmd, kwargs)] = calls
    assert "--progress-bar" in cmd
    assert kwargs.get("stderr") == subprocess.PIPE and "stdout" not in kwargs and "capture_output" not in kwargs
    assert said[0].startswith("fetching the mediapipe==0.10.21 wheel (about 35-50 MB) with pip")
    assert said[-1].startswith(f"fetched {wheel.name} (2 MB) in ") and said[-1].endswith(" s")


def test_download_failure_is_one_line_naming_pip_errors(tmp_path):
    said = []

    def failing_pip(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, stderr="Looking in indexes\nERROR: No matching distribution\n")

    with pytest.raises(RuntimeError) as err:
        wt._download_wheel("9.9.9", tmp_path, run=failing_pip, say=said.append)
    assert str(err.value) == ("pip download mediapipe==9.9.9 failed: "
                              "ERROR: No matching distribution / ERROR: No matching distribution")
    assert "trying the Linux one" in said[1]
