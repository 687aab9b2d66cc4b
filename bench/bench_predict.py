"""Benchmark `climbpose predict` end to end on this machine; one JSON line per measurement.

    python bench/bench_predict.py [--model PATH] [--frames N] [--reps R] [--width W --height H]

On a rendered synthetic climbing clip (540x960 by default, the pipeline's resolution), each number
is the median over R repetitions, after one warm-up, of frames / seconds for:

* estimator_only: decoding + BlazePose on every frame, nothing else (the reference: what the
  model and the outputs add is the difference);
* predict: the whole `predict()` call without the overlay video: estimator, preprocessing, the
  temporal model over sliding windows, pixel mapping, CSV and JSON; including model loading and
  estimator start-up (not Python's or torch's import); `model_fps` is the detected frames per second
  of preprocessing, windows, model and combining alone (`timing["model_fps"]`, median over the runs);
* overlay: drawing and encoding the overlay video alone (reported by predict, separately).

Without --model, a Conv3D with random weights is used (speed does not depend on the weights).
The last line summarises the model's overhead per frame. `loadavg_1min` is recorded because other
processes on a shared machine skew every number. Run it as a script: it shares `cpu_model` and
`emit` with bench_extract.py, beside it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from climbpose.estimator.blazepose import DEFAULT_MODEL_DIR, BlazePose
from climbpose.models import build_model
from climbpose.predict import predict
from climbpose.synth import iter_video
from climbpose.models.file import save_model
from climbpose.video import probe, read_frames, write_mp4

from bench_extract import cpu_model, emit  # this folder is on sys.path when run as a script


def median_of(fn, reps: int) -> tuple[float, list[float]]:
    """Run fn() once to warm up, then `reps` times; fn returns a rate. Returns (median, all)."""
    fn()
    rates = [fn() for _ in range(reps)]
    return statistics.median(rates), rates


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model file (default: a random Conv3D)")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--width", type=int, default=540)
    ap.add_argument("--height", type=int, default=960)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="estimator interpreter threads")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16, help="windows per model call")
    ap.add_argument("--estimator-dir", default=str(DEFAULT_MODEL_DIR))
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        tmp = Path(tmp)
        video = tmp / "clip.mp4"
        write_mp4(video, iter_video(args.seed, args.frames, args.width, args.height), fps=30, codec="mp4v")
        model = Path(args.model) if args.model else tmp / "conv3d.pt"
        if not args.model:
            torch.manual_seed(0)
            save_model(model, "conv3d", 56, 5, build_model("conv3d").state_dict(), [])
        model_name = torch.load(model, map_location="cpu", weights_only=False)["model"]
        n = sum(1 for _ in read_frames(video))
        _, w, h, _ = probe(video)
        common = {"device": cpu_model(), "video": f"{w}x{h}", "frames": n, "model": model_name,
                  "estimator_threads": args.threads, "torch_threads": args.torch_threads,
                  "batch_size": args.batch_size, "reps": args.reps}

        est = BlazePose(args.estimator_dir, num_threads=args.threads)

        def estimator_only() -> float:
            start = time.perf_counter()
            est.reset()
            for frame in read_frames(video):
                est(frame)
            return n / (time.perf_counter() - start)

        timings: list[dict] = []  # pred.timing of every predict() call, warm-up included

        def run_predict(with_video: bool = False) -> float:
            start = time.perf_counter()
            pred, _ = predict(video, tmp / "out", model, device="cpu", estimator_dir=args.estimator_dir,
                              threads=args.threads, torch_threads=args.torch_threads, video=with_video,
                              batch_size=args.batch_size, progress=False)
            seconds = time.perf_counter() - start - pred.timing.get("overlay_seconds", 0.0)
            timings.append(pred.timing)
            return n / seconds

        rows = {}
        for name, fn in (("estimator_only", estimator_only), ("predict", run_predict)):
            fps, all_rates = median_of(fn, args.reps)
            rows[name] = fps
            extra = {}
            if name == "predict":  # the model's share alone, from predict's own timing (warm-up left out)
                extra = {"model_fps": round(statistics.median(t["model_fps"] for t in timings[1:]), 1)}
            emit({"measure": name, "fps": round(fps, 1), "ms_per_frame": round(1000 / fps, 2),
                  "all_fps": [round(r, 1) for r in all_rates], **extra, **common})
        run_predict(with_video=True)
        overlay = timings[-1]["overlay_fps"]
        emit({"measure": "overlay", "fps": round(overlay, 1), "ms_per_frame": round(1000 / overlay, 2), **common})
        emit({"measure": "summary", "predict_fps": round(rows["predict"], 1),
              "target_fps": 25.0, "meets_target": rows["predict"] >= 25.0,
              "model_overhead_ms_per_frame": round(1000 / rows["predict"] - 1000 / rows["estimator_only"], 2),
              **common})
    return 0


if __name__ == "__main__":
    sys.exit(main())
