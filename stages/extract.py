"""Stage extract: the frozen estimator turns every video frame into 25 heatmaps over the person box."""

from __future__ import annotations

import logging
from pathlib import Path

from climbpose.config import load_params
from climbpose.estimator.extract import extract_videos
from climbpose.io import write_json

VIDEOS = Path("data/synthetic/videos")
OUT = Path("data/extracted")
WEIGHTS = Path("models/estimator")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = load_params()
    videos = sorted(VIDEOS.glob("*.mp4"))
    if not videos:
        raise SystemExit(f"{VIDEOS}: no .mp4 videos to extract")
    stats = extract_videos(
        videos, OUT, workers=params.extract.workers, threads=params.extract.threads,
        estimator=params.estimator.name, heatmap_size=params.heatmaps.size,
        model_dir=WEIGHTS, box_margin=params.estimator.box_margin, fetch=False,
    )
    frames = sum(s["frames"] for s in stats)
    detected = sum(s["frames"] * s["detected_fraction"] for s in stats)
    # Speed is logged, not stored: metrics must be identical for identical inputs.
    write_json("metrics/extract.json", {
        "videos": len(stats),
        "frames": frames,
        "detected_fraction": round(detected / max(frames, 1), 4),
        "videos_below_90pct_detected": sum(s["detected_fraction"] < 0.9 for s in stats),
    })


if __name__ == "__main__":
    main()
