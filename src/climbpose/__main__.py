"""The `climbpose` command line: `python -m climbpose COMMAND ...` or the `climbpose` console script.

Commands:
    predict   run the estimator and a trained temporal model on a new video (see climbpose.predict)
    report    the tables and figure across every DVC experiment (see climbpose.report.command)
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from typing import Callable

from climbpose import __version__


def _lazy(module: str) -> Callable[[argparse.Namespace], int]:
    """The `run` of a command's module, imported only when that command runs."""
    return lambda args: import_module(module).run(args)


def build_parser() -> argparse.ArgumentParser:
    # Only the options are imported here; the commands (torch, OpenCV, DVC, matplotlib) when chosen,
    # so `climbpose --help` answers at once.
    from climbpose.predict import arguments as predict_arguments
    from climbpose.report import arguments as report_arguments

    parser = argparse.ArgumentParser(prog="climbpose", description="ClimbPose: temporal refinement of climber poses.")
    parser.add_argument("--version", action="version", version=f"climbpose {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub = commands.add_parser(
        "predict", help="refine the pose in a new video with a trained model",
        description="Run the frozen estimator and a trained temporal model on a video file or a folder of "
                    "frames; write per-frame keypoints (CSV, JSON) and an overlay video.")
    predict_arguments.add_arguments(sub)
    sub.set_defaults(handler=_lazy("climbpose.predict.command"))
    sub = commands.add_parser(
        "report", help="tables and figure across every DVC experiment",
        description="Collect every run DVC knows (dvc exp show) and write the thesis' Tables 1-4, the "
                    "inference-cost table and Figure 1 into reports/. Run it in the project's root folder.")
    report_arguments.add_arguments(sub)
    sub.set_defaults(handler=_lazy("climbpose.report.command"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        # Ctrl-C usually lands inside the estimator's interpreter or torch: a traceback from there
        # says nothing to the user. Every output is written atomically (core.io.atomic_path), so
        # the unwinding has already removed the temporaries; 130 is the shell's status for SIGINT.
        print(f"climbpose {args.command}: interrupted; no output is left half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
