"""`climbpose report`'s options, without importing DVC, pandas or matplotlib (`climbpose --help`)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="reports", metavar="DIR", help="output folder (default: %(default)s)")
    parser.add_argument("--split", choices=("test", "val"), default="test", help="which split the tables show")
    parser.add_argument("--all-commits", action="store_true", help="include experiments of every commit, not only HEAD")
    parser.add_argument("--from-json", metavar="FILE", help="read saved `dvc exp show --json` output instead of asking DVC")
    parser.add_argument("--model", metavar="FILE", help="only say how a model file (e.g. models/finetuned.pt) was made, "
                                                        "in one line, and stop")
