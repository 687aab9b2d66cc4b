"""`climbpose predict`'s options and the checks argparse cannot make, without importing the heavy
parts (torch, OpenCV, the estimator): `climbpose --help` builds every command's parser."""

from __future__ import annotations

import argparse

from climbpose.core.contract import DEVICES, ESTIMATORS
from climbpose.predict.errors import PredictError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a video file, or a folder of frame images (sorted by name, numbers by value)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder for <name>.keypoints.csv/.json and <name>.overlay.mp4")
    parser.add_argument("--model", metavar="PATH",
                        help="trained model file (default: the project's models/finetuned.pt, which make repro "
                             "trains, found from any folder)")
    parser.add_argument("--device", default="auto", choices=DEVICES,
                        help="where the temporal model runs (default: %(default)s)")
    parser.add_argument("--estimator", default="blazepose", choices=ESTIMATORS,
                        help="frozen estimator (default: %(default)s)")
    parser.add_argument("--estimator-dir", metavar="DIR",
                        help="BlazePose weights, fetched there if missing (default: the project's models/estimator)")
    parser.add_argument("--precomputed", metavar="PATH",
                        help="with --estimator precomputed: an npz of heatmaps and bboxes, or a folder "
                             "holding <input name>.npz")
    parser.add_argument("--step", type=int, default=None,
                        help="frames between window frames (default: the model file's, e.g. 2 for experiment-3 "
                             "models; a different value is refused)")
    parser.add_argument("--c", type=float, default=None,
                        help="mass each input heatmap is scaled to (default: the model file's; a different value "
                             "is refused)")
    parser.add_argument("--batch-size", type=int, default=16, help="windows per model call (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None,
                        help="estimator interpreter threads (default: min(2, cores))")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads for the temporal model (default: %(default)s)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of the overlay video (default: the video's, 30 for a folder)")
    parser.add_argument("--no-video", action="store_true", help="skip the overlay video")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def check_options(args: argparse.Namespace) -> None:
    """The numeric options argparse cannot check by itself."""
    for option, value in (("--step", 1 if args.step is None else args.step), ("--batch-size", args.batch_size),
                          ("--threads", args.threads or 1), ("--torch-threads", args.torch_threads)):
        if value < 1:
            raise PredictError(f"{option} {value}: must be >= 1")
    if args.c is not None and not args.c > 0:
        raise PredictError(f"--c {args.c}: must be positive")
    if args.fps is not None and not 0 < args.fps < 1000:
        raise PredictError(f"--fps {args.fps:g}: must be a frame rate above 0 and below 1000")
