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
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from climbpose.estimator.base import Estimator
from climbpose.estimator.make import make_estimator
from climbpose.core.io import save_npz
from climbpose.core.keypoints import K
from climbpose.core.resume import PartsDir
from climbpose.video import probe, read_frames

log = logging.getLogger(__name__)


_FLOAT16_SMALLEST_NORMAL = np.float32(2.0**-14)


def to_float16(x: np.ndarray) -> np.ndarray:
    """`x.astype(np.float16)`, bit for bit, about five times faster on heatmaps.

    A probability map is mostly far tails, and NumPy converts a value whose float16 is subnormal
    (below 2^-14, a fifth of the estimator's map cells) about a hundred times slower than a normal
    one: 2.7 of the 16 ms per frame of extraction. Those values are converted here directly: a
    float16 subnormal is m * 2^-24 with m = |x| * 2^24 rounded to the nearest integer, ties to even
    (as NumPy rounds), and its bits are the sign and m (m = 1024 is the smallest normal, 2^-14).
    """
    x = np.asarray(x, dtype=np.float32)
    small = np.abs(x) < _FLOAT16_SMALLEST_NORMAL
    normal = np.where(small, np.float32(0), x).astype(np.float16)
    magnitude = np.rint(np.abs(x) * np.float32(2.0**24)).astype(np.uint16)
    sign = (x.view(np.uint32) >> 16).astype(np.uint16) & np.uint16(0x8000)
    return np.where(small, magnitude | sign, normal.view(np.uint16)).view(np.float16)


def extract_video(video_path: str | os.PathLike, estimator: Estimator, out_path: str | os.PathLike,
                  heatmap_size: int | None = None, progress: bool = True,
                  on_frame: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run `estimator` over every frame of one video and write its npz; return speed statistics.

    `heatmap_size`, if given, must equal the estimator's (a guard against mixing runs).
    `progress` shows a bar for this one video; `on_frame`, if given, is called after each frame
    (how `extract_videos` feeds its bar over all videos, with `progress=False`).
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
        heatmaps.append(to_float16(est.heatmaps))
        bboxes.append(est.bbox)
        detected.append(est.detected)
        scores.append(est.scores)
        keypoints.append(est.keypoints)
        if on_frame is not None:
            on_frame()
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
# Frames done by all workers together, shared with the parent for its bar; None without a bar.
_worker_frames: Any = None

# How often the parent looks at the workers' frame count while it waits for videos to finish.
_POLL_SECONDS = 0.2


def _init_worker(estimator: str, kwargs: dict[str, Any], frames: Any = None) -> None:
    """Build this process's estimator and remember the shared frame counter (or None)."""
    global _worker_estimator, _worker_frames
    _worker_estimator = make_estimator(estimator, **kwargs)
    _worker_frames = frames


def _count_frame() -> None:
    """Add one frame to the counter the parent's bar reads."""
    # One locked increment per frame costs microseconds against milliseconds of estimation, and
    # keeps the bar exact without a flush at the end of each video.
    with _worker_frames.get_lock():
        _worker_frames.value += 1


def _run_one(job: tuple[str, str, int], on_frame: Callable[[], None] | None = None) -> dict[str, Any]:
    """Extract one (video, npz path, heatmap size) job with this process's estimator."""
    video, out, size = job
    assert _worker_estimator is not None
    if on_frame is None and _worker_frames is not None:
        on_frame = _count_frame
    return extract_video(video, _worker_estimator, out, size, progress=False, on_frame=on_frame)


class _OverallBar:
    """One bar over all videos of an `extract_videos` call, whichever worker runs them.

    It counts frames when every video's container lists its frame count, else videos. Its
    description tells how many videos are finished ("extract 3/12 videos").
    """

    def __init__(self, bar: tqdm | None, videos: list[str], label: str) -> None:
        """Show progress over `videos` on `bar`, or on a new bar on stderr if None (closed by `close`)."""
        counts = [_listed_frames(v) for v in videos]
        self.label, self.videos, self.finished = label, len(videos), 0
        self.by_frames = all(counts)
        unit, total = ("frame", sum(counts)) if self.by_frames else ("video", len(videos))
        self.owned = bar is None
        if bar is None:
            # Made here, once the total is known, so its first line already shows it.
            bar = tqdm(total=total, unit=unit, desc=self._description())
        else:
            bar.unit = unit
            bar.reset(total=total)
            bar.set_description(self._description())
        self.bar = bar

    def close(self) -> None:
        """Close the bar if this object made it (a caller's bar is the caller's to close)."""
        if self.owned:
            self.bar.close()

    def add_frame(self) -> None:
        """One more frame done (by the one in-process worker)."""
        if self.by_frames:
            self.bar.update(1)

    def frames_to(self, frames: int) -> None:
        """All workers together have done `frames` frames."""
        if self.by_frames and frames > self.bar.n:
            self.bar.update(frames - self.bar.n)

    def video_finished(self) -> None:
        """One more video done: the description counts it (and the bar, when counting videos)."""
        self.finished += 1
        if not self.by_frames:
            self.bar.update(1)
        self.bar.set_description(self._description())

    def _description(self) -> str:
        return f"{self.label} {self.finished}/{self.videos} videos"


def _listed_frames(video: str) -> int:
    """The frame count the video's container lists; 0 when unknown or unreadable."""
    try:
        return probe(video)[0]
    except ValueError:
        return 0  # the worker reading the video reports the problem itself


def extract_videos(video_paths: Iterable[str | os.PathLike], out_dir: str | os.PathLike,
                   workers: int = 1, threads: int = 1, estimator: str = "blazepose",
                   heatmap_size: int = 56, progress: bool | tqdm = True, parts: PartsDir | None = None,
                   label: str = "extract", **estimator_kwargs: Any) -> list[dict[str, Any]]:
    """Extract many videos into `out_dir`, `workers` processes with `threads` threads each.

    On a machine with N cores, workers * threads = N is the sensible budget; several workers with
    one thread each scale better than one worker with many threads (the models are small).
    With `parts`, each video's file is first written there and noted as finished, then linked into
    `out_dir`; videos an earlier, killed call finished from the same files are not run again.
    `progress`: True shows one bar over all videos to be run (frames of all workers together,
    described as "<label> 3/12 videos"); False shows nothing; a tqdm instance is used as that bar
    (its total, unit and description are set here; the caller closes it).
    Returns the per-video statistics in input order and logs fps per video and overall.
    """
    videos = [str(v) for v in video_paths]
    out_dir = Path(out_dir)
    kwargs = {"heatmap_size": heatmap_size, **estimator_kwargs}
    if estimator == "blazepose":
        kwargs.setdefault("num_threads", threads)
    work_dir = parts.path if parts is not None else out_dir
    jobs = [(v, str(work_dir / f"{Path(v).stem}.npz"), heatmap_size) for v in videos]
    if len(set(j[1] for j in jobs)) != len(jobs):
        raise ValueError("two videos share a file stem; their npz files would collide")
    finished = {v: parts.finished(Path(out), v) for v, out, _ in jobs} if parts is not None else {}
    todo = [job for job in jobs if finished.get(job[0]) is None]
    if len(todo) < len(jobs):
        log.info("resuming: %d of %d videos were extracted by an earlier, interrupted run", len(jobs) - len(todo), len(jobs))
    start = time.perf_counter()
    fresh: list[dict[str, Any]] = []
    with ExitStack() as stack:
        overall = None
        if todo and progress is not False:
            overall = _OverallBar(None if progress is True else progress, [job[0] for job in todo], label)
            stack.callback(overall.close)
            # Log lines go through tqdm.write while the bar is up, so they do not split it.
            stack.enter_context(logging_redirect_tqdm())
        if todo and (workers <= 1 or len(todo) <= 1):
            _init_worker(estimator, kwargs)
            on_frame = overall.add_frame if overall is not None else None
            for job in todo:
                fresh.append(_finish(_run_one(job, on_frame), parts, overall))
        elif todo:
            fresh = _run_pool(todo, workers, estimator, kwargs, parts, overall)
    seconds = time.perf_counter() - start
    frames = sum(s["frames"] for s in fresh)
    log.info("extracted %d videos, %d frames in %.1f s: %.1f fps overall (%d workers x %d threads)",
             len(fresh), frames, seconds, frames / seconds if seconds > 0 else 0.0, workers, threads)
    if parts is not None:
        for _, part, _ in jobs:
            _link(Path(part), out_dir / Path(part).name)
    by_video = {**{v: s for v, s in finished.items() if s is not None}, **{s["video"]: s for s in fresh}}
    return [by_video[v] for v in videos]


def _run_pool(todo: list[tuple[str, str, int]], workers: int, estimator: str, kwargs: dict[str, Any],
              parts: PartsDir | None, overall: _OverallBar | None) -> list[dict[str, Any]]:
    """Run the jobs in `workers` processes; return their statistics in the order they finish."""
    # spawn, not fork: the parent may hold threads (torch, the TFLite runtime) that a fork
    # would copy in a locked state. ProcessPoolExecutor, not multiprocessing.Pool: a worker
    # whose initializer fails (missing weights) breaks the executor with an error, where a
    # Pool would respawn it forever and hang.
    ctx = mp.get_context("spawn")
    frames = ctx.Value("q", 0) if overall is not None else None
    fresh: list[dict[str, Any]] = []
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(estimator, kwargs, frames)) as pool:
        try:
            order = {pool.submit(_run_one, job): i for i, job in enumerate(todo)}
            pending = set(order)
            while pending:
                # A timeout, not a blocking wait: the bar moves while long videos are running.
                done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                if overall is not None:
                    overall.frames_to(frames.value)
                for future in sorted(done, key=order.__getitem__):
                    fresh.append(_finish(future.result(), parts, overall))
        except BaseException:
            # A bad video, Ctrl-C or SIGTERM: drop the videos not started yet instead of
            # extracting them all before the error is reported.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return fresh


def _finish(s: dict[str, Any], parts: PartsDir | None, overall: _OverallBar | None) -> dict[str, Any]:
    """Log a video's result, note its file as finished (with `parts`) and count it on the bar."""
    log.info("%s: %d frames, %.0f%% with a person, %.1f fps", Path(s["video"]).name,
             s["frames"], 100 * s["detected_fraction"], s["fps"])
    if parts is not None:
        parts.mark_finished(parts.path / f"{Path(s['video']).stem}.npz", s["video"], s)
    if overall is not None:
        overall.video_finished()
    return s


def _link(source: Path, target: Path) -> None:
    """A hard link where the file system allows one (no copy of gigabytes of heatmaps), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
