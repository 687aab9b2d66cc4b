"""Throughput of the whole `extract` stage work with 1 and 2 worker processes; one JSON line each.

    python bench/bench_extract_stage.py [--videos 4] [--frames 90] [--reps 3]

Everything a stage run pays is inside the timing: decoding the mp4, detection and tracking, the
landmark model, resampling onto the box grid, compressing and writing each video's npz. The videos
are rendered once by the synthetic generator at the default resolution (540x960). Each figure is
the median of --reps runs after a warm-up run; 1 worker is the reference of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench_extract import cpu_model

from climbpose.estimator.extract import extract_videos
from climbpose.estimator.weights import ensure_weights
from climbpose.synth import generate_video
from climbpose.video import write_mp4

WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "estimator"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    ensure_weights(WEIGHTS)
    with tempfile.TemporaryDirectory() as tmp:
        videos = []
        for seed in range(args.videos):
            frames, _ = generate_video(seed, args.frames)
            videos.append(Path(tmp) / f"clip_{seed}.mp4")
            write_mp4(videos[-1], frames, fps=30, codec="mp4v")  # as the pipeline's own videos
        total = args.videos * args.frames
        for workers in (1, 2):
            runs = []
            for rep in range(args.reps + 1):
                start = time.perf_counter()
                extract_videos(videos, Path(tmp) / "out", workers=workers, threads=1, model_dir=WEIGHTS,
                               fetch=False, progress=False)
                if rep:  # the first run warms caches and process start-up paths
                    runs.append(total / (time.perf_counter() - start))
            print(json.dumps({"measure": "extract_stage", "workers": workers, "threads_per_worker": 1,
                              "fps": round(statistics.median(runs), 1), "all_fps": [round(r, 1) for r in runs],
                              "videos": args.videos, "frames": total, "resolution": "540x960",
                              "device": cpu_model(), "loadavg_1min": round(os.getloadavg()[0], 2)}), flush=True)


if __name__ == "__main__":
    main()
