"""The `predict` command: `predict()` as a function, and its command line (options, one-line errors)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from climbpose.core.errors import InputError
from climbpose.predict.clip import Prediction, predict_clip
from climbpose.predict.arguments import check_options
from climbpose.predict.errors import PredictError
from climbpose.models.file import model_label
from climbpose.predict.loading import (choose_device, default_estimator_dir, default_model, load_trained_model,
                                       open_estimator, window_settings)
from climbpose.predict.outputs import output_paths, render_overlay, write_csv, write_prediction_json
from climbpose.predict.sources import open_input


def predict(
    input: str | os.PathLike,
    out_dir: str | os.PathLike,
    model_path: str | os.PathLike | None = None,
    device: str = "auto",
    estimator: str = "blazepose",
    estimator_dir: str | os.PathLike | None = None,
    precomputed: str | os.PathLike | None = None,
    c: float | None = None,
    step: int | None = None,
    batch_size: int = 16,
    threads: int | None = None,
    torch_threads: int | None = 1,
    fps: float | None = None,
    video: bool = True,
    progress: bool = True,
) -> tuple[Prediction, dict[str, Path]]:
    """The `predict` command as a function: writes the outputs, returns the prediction and their paths.

    `model_path` and `estimator_dir` default to the project's (`loading.project_root`), whatever the
    current folder. Everything that can be checked is checked before the model or estimator loads.
    `step` and `c` come from the model file (`loading.window_settings`); given, they must agree with it.

    `threads`: the estimator's interpreter threads (default min(2, cores)). `torch_threads`: torch's
    intra-op threads while predicting (restored afterwards; None leaves torch's setting). One is the
    default: on a shared 2-core machine that also runs the estimator, a second OpenMP thread mostly
    waits for a busy core (bench/bench_predict.py: slower end to end with two, see
    docs/user-guide.md#predict-on-a-new-video).
    """
    out_dir = check_out_dir(out_dir)
    source = open_input(input, fps)
    torch_device = choose_device(device)
    model_path = Path(model_path) if model_path is not None else default_model()
    estimator_dir = Path(estimator_dir) if estimator_dir is not None else default_estimator_dir()
    model, payload = load_trained_model(model_path, torch_device)
    step, c, note = window_settings(payload, model_path, step, c)
    if note:
        print(note, file=sys.stderr)
    est = open_estimator(estimator, source.name, int(payload["size"]), estimator_dir,
                         Path(precomputed) if precomputed is not None else None,
                         threads or min(2, os.cpu_count() or 1))
    previous = torch.get_num_threads()
    if torch_threads:
        torch.set_num_threads(torch_threads)
    try:
        pred = predict_clip(source, model, payload, est, c, step, batch_size, progress)
    finally:
        torch.set_num_threads(previous)
    pred.meta.update(input=str(source.path), model_path=str(model_path), device=str(torch_device),
                     model_file=model_label(payload))
    paths = output_paths(out_dir, source.name)
    if not video:
        del paths["video"]
    write_csv(paths["csv"], pred)
    if video:
        seconds = render_overlay(source, pred, paths["video"], progress)
        pred.timing.update(overlay_seconds=seconds, overlay_fps=len(pred) / seconds if seconds > 0 else 0.0)
    write_prediction_json(paths["json"], pred)  # last: its header holds the overlay's timing
    for path in paths.values():
        path.chmod(0o644)  # atomic_path's temporary files are private (mkstemp); these are for sharing
    return pred, paths


def check_out_dir(out_dir: str | os.PathLike) -> Path:
    """--out is a folder, or does not exist yet (it is created with the first output)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PredictError(f"--out {out}: exists and is not a folder; name a folder for the outputs")
    return out


def run(args: argparse.Namespace) -> int:
    """Run `predict` from parsed arguments; a user error prints one line to stderr and returns 1."""
    # FFmpeg (inside OpenCV) would print its own lines about an unreadable file before our one-line
    # error; it reads this on the first video opened in the process. Set it yourself to see them.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        check_options(args)
        check_out_dir(args.out)
        pred, paths = predict(
            args.input, args.out, model_path=args.model, device=args.device, estimator=args.estimator,
            estimator_dir=args.estimator_dir, precomputed=args.precomputed, c=args.c, step=args.step,
            batch_size=args.batch_size, threads=args.threads, torch_threads=args.torch_threads, fps=args.fps,
            video=not args.no_video, progress=not args.quiet)
    # InputError: PredictError and the library's other user-fixable errors; OSError: writing the
    # outputs (permissions, a full disk).
    except (InputError, OSError) as e:
        print(f"climbpose predict: error: {e}", file=sys.stderr)
        return 1
    t, m = pred.timing, pred.meta
    print(f"{m['input']}: {len(pred)} frames, {int(pred.detected.sum())} with a person; "
          f"{m['model']} (window {m['window']}, step {m['step']}) on {m['device']}")
    speed = (f"speed: {t['fps']:.1f} frames/s estimator+model (estimator {t['estimator_fps']:.1f} frames/s, "
             f"model {t['model_fps']:.1f} frames/s)")
    if "overlay_fps" in t:
        speed += f"; overlay {t['overlay_fps']:.1f} frames/s"
    print(speed)
    for path in paths.values():
        print(f"wrote {path}")
    return 0
