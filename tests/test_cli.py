"""The `climbpose` command's help: every command's options, without importing the heavy libraries
(torch, OpenCV, DVC, matplotlib, pandas, the estimator's runtime), so it answers at once."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "cv2", "dvc", "matplotlib", "pandas", "ai_edge_litert")
PROBE = """
import runpy, sys
sys.argv = ["climbpose", *sys.argv[1:]]
try:
    runpy.run_module("climbpose", run_name="__main__")
except SystemExit as done:
    assert done.code == 0, done.code
print("imported:", sorted(name for name in {heavy!r} if name in sys.modules))
"""


@pytest.mark.parametrize("argv", [["--help"], ["predict", "--help"], ["report", "--help"]])
def test_help_lists_the_options_and_imports_nothing_heavy(argv):
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("usage: climbpose")
    needle = {"predict": "--no-video", "report": "--all-commits"}.get(argv[0], "predict")
    assert any(needle in line for line in lines)
    assert lines[-1] == "imported: []"
