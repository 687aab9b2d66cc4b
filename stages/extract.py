"""Stage extract: the frozen estimator turns every video frame into 25 heatmaps over the person box.

Which videos: those of `data.source` (`climbpose.data.sources.finetuning`). ClimbAlong data comes
with its estimator's heatmaps, so for it nothing runs: `data/extracted` stays empty and the
metrics describe the delivered boxes.

Reads params.yaml (data.source, data.dir, estimator, extract, heatmaps.size), the videos of
data.dir and models/estimator. Writes data/extracted/<video>.npz (heatmaps, boxes, scores per
frame) and reports/data/extract.json (videos, frames, share of frames with a person).
"""

from __future__ import annotations

import logging
from pathlib import Path

from climbpose.core.config import load_params
from climbpose.core.checks import nonempty_boxes
from climbpose.data.sources.finetuning import delivered_boxes, estimator_videos
from climbpose.core.errors import run_stage
from climbpose.estimator.extract import extract_videos
from climbpose.core.io import atomic_dir, write_json
from climbpose.core.imports import closure
from climbpose.core.resume import PartsDir, fingerprint

OUT = Path("data/extracted")
WEIGHTS = Path("models/estimator")
# Finished videos of an interrupted run (outside DVC, like checkpoints/pretrain), removed on success.
PARTS = Path("checkpoints/extract")


def estimator_kwargs(params) -> dict:
    """Constructor arguments of the selected estimator (each takes only its own)."""
    e = params.estimator
    if e.name == "precomputed":
        return {"directory": e.precomputed_dir}
    return {"model_dir": WEIGHTS, "box_margin": e.box_margin, "fetch": False}


def finished_videos(params) -> PartsDir:
    """The finished videos of an earlier run with the same estimator, settings and code."""
    e = params.estimator
    model_files = Path(e.precomputed_dir) if e.name == "precomputed" else WEIGHTS
    config = {"estimator": vars(e), "extract": vars(params.extract), "heatmap_size": params.heatmaps.size}
    return PartsDir(PARTS, fingerprint(config, [p for p in model_files.rglob("*") if p.is_file()], closure(__file__)))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = load_params()
    videos = estimator_videos(params.data)
    boxes = {} if videos else delivered_boxes(params.data)  # read (and checked) before anything is written
    # The folder appears only once every video is extracted: a failure or a kill leaves the old
    # folder or none, never some videos' files that preprocess would take for the whole set. The
    # videos finished before a kill wait in PARTS and are not extracted again by the next run.
    parts = finished_videos(params) if videos else None
    with atomic_dir(OUT) as out:
        if videos:
            stats = extract_videos(
                videos, out, workers=params.extract.workers, threads=params.extract.threads,
                estimator=params.estimator.name, heatmap_size=params.heatmaps.size, parts=parts,
                **estimator_kwargs(params),
            )
    if parts is not None:
        parts.remove()
    if videos:
        per_video = [(s["frames"], s["detected_fraction"]) for s in stats]
    else:
        print(f"extract: data.source is {params.data.source}; its {len(boxes)} videos come with heatmaps, nothing to run")
        per_video = [(len(b), float(nonempty_boxes(b).mean()) if len(b) else 0.0) for b in boxes.values()]
    frames = sum(f for f, _ in per_video)
    detected = sum(f * fraction for f, fraction in per_video)
    # Speed is logged, not stored: metrics must be identical for identical inputs.
    write_json("reports/data/extract.json", {
        "videos": len(per_video),
        "frames": frames,
        "detected_fraction": round(detected / max(frames, 1), 4),
        "videos_below_90pct_detected": sum(fraction < 0.9 for _, fraction in per_video),
    })


if __name__ == "__main__":
    run_stage(main, __doc__)
