"""Run a frozen estimator over videos and store its output: one compressed npz per video.

File `<out_dir>/<video stem>.npz` (written atomically, so a killed run leaves no half file):
    heatmaps (T, 25, S, S) float16, bboxes (T, 4) float32, detected (T,) bool,
    scores (T, 25) float32, keypoints (T, 25, 2) float32.
float16 halves the size; the maps are probabilities in [0, 1], where float16 keeps ~3 significant
digits, far below what the 56x56 grid resolves. `Precomputed` reads these files back.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from tqdm import tqdm

from climbpose.estimator.base import Estimator, make_estimator
from climbpose.io import save_npz
from climbpose.keypoints import K
from climbpose.resume import PartsDir
from climbpose.video import probe, read_frames

log = logging.getLogger(__name__)


def extract_video(video_path: str | os.PathLike, estimator: Estimator, out_path: str | os.PathLike,
                  heatmap_size: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Run `estimator` over every frame of one video and write its npz; return speed statistics.

    `heatmap_size`, if given, must equal the estimator's (a guard against mixing runs).
    Returns {"video", "frames", "detected_fraction", "seconds", "fps"}; the time covers decoding,
    estimation and resampling, not the final compression and write.
    """
    estimator.start_video(video_path)  # first: a replaying estimator learns its size here
    s = estimator.heatmap_size
    if heatmap_size is not None and heatmap_size != s:
        raise ValueError(f"estimator makes {s}x{s} heatmaps, {heatmap_size}x{heatmap_size} asked for")
    try:
        total = probe(video_path)[0] or None
    except ValueError:
        total = None  # read_frames below raises the clear error (it also checks every frame)
    heatmaps, bboxes, detected, scores, keypoints = [], [], [], [], []
    start = time.perf_counter()
    bar = tqdm(read_frames(video_path), total=total, desc=Path(video_path).name, unit="frame",
               disable=not progress, leave=False)
    for frame in bar:
        est = estimator(frame)
        heatmaps.append(est.heatmaps.astype(np.float16))
        bboxes.append(est.bbox)
        detected.append(est.detected)
        scores.append(est.scores)
        keypoints.append(est.keypoints)
    seconds = time.perf_counter() - start
    t = len(bboxes)
    estimator.end_video(t)  # a replaying estimator checks that its file had as many frames
    save_npz(
        out_path,
        heatmaps=np.stack(heatmaps) if t else np.zeros((0, K, s, s), np.float16),
        bboxes=np.asarray(bboxes, np.float32).reshape(t, 4),
        detected=np.asarray(detected, bool).reshape(t),
        scores=np.asarray(scores, np.float32).reshape(t, K),
        keypoints=np.asarray(keypoints, np.float32).reshape(t, K, 2),
    )
    return {
        "video": str(video_path),
        "frames": t,
        "detected_fraction": float(np.mean(detected)) if t else 0.0,
        "seconds": seconds,
        "fps": t / seconds if seconds > 0 else 0.0,
    }


# One estimator per worker process, built once by the pool initializer (interpreters are not
# picklable, and building one per video would repeat the model load).
_worker_estimator: Estimator | None = None


def _init_worker(estimator: str, kwargs: dict[str, Any]) -> None:
    global _worker_estimator
    _worker_estimator = make_estimator(estimator, **kwargs)


def _run_one(job: tuple[str, str, int, bool]) -> dict[str, Any]:
    video, out, size, progress = job
    assert _worker_estimator is not None
    return extract_video(video, _worker_estimator, out, size, progress)


def extract_videos(video_paths: Iterable[str | os.PathLike], out_dir: str | os.PathLike,
                   workers: int = 1, threads: int = 1, estimator: str = "blazepose",
                   heatmap_size: int = 56, progress: bool = True, parts: PartsDir | None = None,
                   **estimator_kwargs: Any) -> list[dict[str, Any]]:
    """Extract many videos into `out_dir`, `workers` processes with `threads` threads each.

    On a machine with N cores, workers * threads = N is the sensible budget; several workers with
    one thread each scale better than one worker with many threads (the models are small).
    With `parts`, each video's file is first written there and noted as finished, then linked into
    `out_dir`; videos an earlier, killed call finished from the same files are not run again.
    Returns the per-video statistics in input order and logs fps per video and overall.
    """
    videos = [str(v) for v in video_paths]
    out_dir = Path(out_dir)
    kwargs = {"heatmap_size": heatmap_size, **estimator_kwargs}
    if estimator == "blazepose":
        kwargs.setdefault("num_threads", threads)
    work_dir = parts.path if parts is not None else out_dir
    jobs = [(v, str(work_dir / f"{Path(v).stem}.npz"), heatmap_size, progress) for v in videos]
    if len(set(j[1] for j in jobs)) != len(jobs):
        raise ValueError("two videos share a file stem; their npz files would collide")
    finished = {v: parts.finished(Path(out), v) for v, out, _, _ in jobs} if parts is not None else {}
    todo = [job for job in jobs if finished.get(job[0]) is None]
    if len(todo) < len(jobs):
        log.info("resuming: %d of %d videos were extracted by an earlier, interrupted run", len(jobs) - len(todo), len(jobs))
    start = time.perf_counter()
    fresh: list[dict[str, Any]] = []
    if todo and (workers <= 1 or len(todo) <= 1):
        _init_worker(estimator, kwargs)
        fresh = _log_each(map(_run_one, todo), parts)
    elif todo:
        # spawn, not fork: the parent may hold threads (torch, the TFLite runtime) that a fork
        # would copy in a locked state. ProcessPoolExecutor, not multiprocessing.Pool: a worker
        # whose initializer fails (missing weights) breaks the executor with an error, where a
        # Pool would respawn it forever and hang.
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                 initializer=_init_worker, initargs=(estimator, kwargs)) as pool:
            try:
                fresh = _log_each(pool.map(_run_one, todo), parts)
            except BaseException:
                # A bad video, Ctrl-C or SIGTERM: drop the videos not started yet instead of
                # extracting them all before the error is reported.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    seconds = time.perf_counter() - start
    frames = sum(s["frames"] for s in fresh)
    log.info("extracted %d videos, %d frames in %.1f s: %.1f fps overall (%d workers x %d threads)",
             len(fresh), frames, seconds, frames / seconds if seconds > 0 else 0.0, workers, threads)
    if parts is not None:
        for _, part, _, _ in jobs:
            _link(Path(part), out_dir / Path(part).name)
    by_video = {**{v: s for v, s in finished.items() if s is not None}, **{s["video"]: s for s in fresh}}
    return [by_video[v] for v in videos]


def _log_each(results: Iterable[dict[str, Any]], parts: PartsDir | None) -> list[dict[str, Any]]:
    """Log each video's result as it arrives and, with `parts`, note its file as finished."""
    out = []
    for s in results:
        log.info("%s: %d frames, %.0f%% with a person, %.1f fps", Path(s["video"]).name,
                 s["frames"], 100 * s["detected_fraction"], s["fps"])
        if parts is not None:
            parts.mark_finished(parts.path / f"{Path(s['video']).stem}.npz", s["video"], s)
        out.append(s)
    return out


def _link(source: Path, target: Path) -> None:
    """A hard link where the file system allows one (no copy of gigabytes of heatmaps), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
