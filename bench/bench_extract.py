"""Benchmark the frozen BlazePose estimator on this machine's CPU; one JSON line per measurement.

    python bench/bench_extract.py [VIDEO] [--frames N] [--reps R]

Measures, for 1 and 2 interpreter threads: (a) the bare landmark model invoke() on a fixed input,
(b) the bare detector invoke(), (c) the whole per-frame pipeline in video mode on real frames
(decode + track + landmark + resample), and (d) the same with the detector on every frame.
Each number is the median of R repetitions after one warm-up. Without VIDEO, a 540x960 portrait
clip of scikit-image's astronaut, shifted a little every frame, is rendered to a temporary mp4.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from climbpose.estimator.blazepose import DEFAULT_MODEL_DIR, BlazePose
from climbpose.video import probe, read_frames, write_mp4


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def render_clip(path: Path, frames: int) -> None:
    from skimage.data import astronaut

    person = astronaut()

    def gen():
        for t in range(frames):
            canvas = np.full((960, 540, 3), 200, np.uint8)
            dx, dy = int(8 * np.sin(t / 7)), 200 + int(6 * np.cos(t / 5))
            canvas[dy:dy + 512, 14 + dx:14 + dx + 512] = person
            yield canvas
    write_mp4(path, gen(), fps=30, codec="mp4v")  # as the pipeline's own videos


def median_rate(fn, count: int, reps: int) -> float:
    """Median over `reps` of count / seconds, after one untimed warm-up call."""
    fn()
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def bare_invoke(interp, n: int):
    detail = interp.get_input_details()[0]
    input_index, shape = detail["index"], tuple(detail["shape"])
    x = np.random.default_rng(0).random(shape, dtype=np.float32)

    def run():
        for _ in range(n):
            interp.set_tensor(input_index, x)
            interp.invoke()
    return run


def pipeline(est: BlazePose, video: Path):
    def run():
        est.reset()
        for frame in read_frames(video):
            est(frame)
    return run


def emit(row: dict) -> None:
    # Other processes on the machine skew every number: record the load to judge them by.
    row["loadavg_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(row), flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", help="input video (default: a rendered astronaut clip)")
    ap.add_argument("--frames", type=int, default=90, help="frames of the rendered clip")
    ap.add_argument("--invokes", type=int, default=100, help="invoke() calls per repetition")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--model-dir", default=str(DEFAULT_MODEL_DIR))
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(args.video) if args.video else Path(tmp) / "astronaut.mp4"
        if not args.video:
            render_clip(video, args.frames)
        n_frames, width, height, _ = probe(video)
        n_frames = sum(1 for _ in read_frames(video))  # container counts can be off
        common = {"device": cpu_model(), "video": f"{width}x{height}", "reps": args.reps}
        for threads in (1, 2):
            est = BlazePose(args.model_dir, num_threads=threads)
            rows = [
                ("landmark_invoke", bare_invoke(est.interpreters["landmark"], args.invokes),
                 args.invokes),
                ("detector_invoke", bare_invoke(est.interpreters["detector"], args.invokes),
                 args.invokes),
                ("pipeline_video_mode", pipeline(est, video), n_frames),
            ]
            for name, fn, count in rows:
                fps = median_rate(fn, count, args.reps)
                emit({"measure": name, "threads": threads, "fps": round(fps, 1),
                      "ms_per_frame": round(1000 / fps, 2), **common})
            est.video_mode = False
            fps = median_rate(pipeline(est, video), n_frames, args.reps)
            emit({"measure": "pipeline_detector_every_frame", "threads": threads,
                  "fps": round(fps, 1), "ms_per_frame": round(1000 / fps, 2), **common})


if __name__ == "__main__":
    sys.exit(main())
