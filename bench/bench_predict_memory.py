"""Peak resident memory of `climbpose predict` against the video's length; one JSON line per length.

    python bench/bench_predict_memory.py [--frames 300 3000] [--model models/finetuned.pt]

Each length is a synthetic 540x960 climbing clip (150 rendered frames played forwards and
backwards until it is long enough), written as mp4; `predict --no-video` runs on it in a fresh
process, which reports its own peak resident set size (getrusage). The last line gives the growth
per frame between the shortest and the longest clip: near zero when memory does not grow with the
video (docs/performance.md#performance).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_extract import cpu_model

REPO = Path(__file__).resolve().parents[1]

# Run in the child: predict one clip, then print the peak resident set size in KB (Linux units).
CHILD = """
import resource, sys
from climbpose.predict.command import predict
predict(sys.argv[1], sys.argv[2], model_path=sys.argv[3], video=False, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_clip(path: Path, frames: int) -> None:
    import numpy as np

    from climbpose.synth import generate_video
    from climbpose.video import write_mp4

    rendered, _ = generate_video(0, 150)

    def played() -> object:
        for i in range(frames):
            forward = (i // 150) % 2 == 0
            yield rendered[i % 150] if forward else rendered[149 - i % 150]

    write_mp4(path, (np.asarray(f) for f in played()), fps=30, codec="mp4v")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", nargs="+", type=int, default=[300, 3000])
    parser.add_argument("--model", default=str(REPO / "models" / "finetuned.pt"))
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for frames in sorted(args.frames):
            clip = Path(tmp) / f"clip_{frames}.mp4"
            write_clip(clip, frames)
            out = subprocess.run([sys.executable, "-c", CHILD, str(clip), str(Path(tmp) / "out"), args.model],
                                 env=env, capture_output=True, text=True, check=True)
            peaks[frames] = int(out.stdout.strip().splitlines()[-1]) / 1024
            print(json.dumps({"measure": "predict_peak_rss", "frames": frames, "peak_rss_mb": round(peaks[frames], 1),
                              "video": "540x960", "device": cpu_model()}), flush=True)
    low, high = min(peaks), max(peaks)
    if high > low:
        growth_kb = (peaks[high] - peaks[low]) * 1024 / (high - low)
        print(json.dumps({"measure": "predict_rss_growth", "kb_per_frame": round(growth_kb, 2),
                          "one_hour_at_30fps_mb": round(peaks[low] + growth_kb * 108_000 / 1024, 1),
                          "device": cpu_model()}), flush=True)


if __name__ == "__main__":
    main()
