"""The `climbpose` command line: `python -m climbpose COMMAND ...` or the `climbpose` console script.

Commands:
    predict   run the estimator and a trained temporal model on a new video (see climbpose.predict)
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from climbpose import predict

    parser = argparse.ArgumentParser(prog="climbpose", description="ClimbPose: temporal refinement of climber poses.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub = commands.add_parser(
        "predict", help="refine the pose in a new video with a trained model",
        description="Run the frozen estimator and a trained temporal model on a video file or a folder of "
                    "frames; write per-frame keypoints (CSV, JSON) and an overlay video.")
    predict.add_arguments(sub)
    sub.set_defaults(handler=predict.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
