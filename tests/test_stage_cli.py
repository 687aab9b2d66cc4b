"""Every stage script as a command: `--help` says what it reads and writes and does nothing; any
other argument, and a typo in params.yaml, is one line on stderr and exit status 1, with nothing
written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
STAGES = sorted(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"])


def run_stage(stage: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, str(REPO / "stages" / f"{stage}.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("stage", STAGES)
def test_help_says_what_the_stage_reads_and_writes_and_does_nothing(stage, tmp_path):
    done = run_stage(stage, tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Stage {stage}:") and "Reads" in done.stdout and "Writes" in done.stdout
    assert files_in(tmp_path) == []  # not even params.yaml was needed


@pytest.mark.parametrize("stage", STAGES)
def test_an_argument_or_a_params_typo_is_one_line_and_exit_1(stage, tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["heatmaps"]["sigmaa"] = params["heatmaps"]["sigma"]  # a typo beside the real key
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    before = files_in(tmp_path)
    for args in (("--fast",), ()):
        done = run_stage(stage, tmp_path, *args)
        assert done.returncode == 1, (args, done.stderr[-2000:])
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
        assert ("--fast" in lines[0]) if args else ("sigmaa" in lines[0])
    assert files_in(tmp_path) == before
