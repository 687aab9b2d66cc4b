"""Every stage script as a command: `--help` says what it reads and writes and does nothing; any
other argument, and a typo in params.yaml, is one line on stderr and exit status 1, with nothing
written.

The scripts run in this process (`runpy`, as `__main__`, output captured at the file descriptors,
so a log handler's lines count too); one test runs a stage through a real interpreter, which
`dvc repro` does for every stage in tests/test_dvc_workflows.py.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
STAGES = sorted(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"])


def script(stage: str) -> Path:
    return REPO / "stages" / f"{stage}.py"


def run_in_process(stage: str, cwd: Path, args: tuple[str, ...], monkeypatch, capfd) -> tuple[int, str, str]:
    """Run a stage script as `python stages/<stage>.py ARGS` would, in this process."""
    capfd.readouterr()
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        patch.setattr(sys, "argv", [str(script(stage)), *args])
        try:
            runpy.run_path(str(script(stage)), run_name="__main__")
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else int(done.code is not None)
    out, err = capfd.readouterr()
    return code, out, err


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def params_with_a_typo(folder: Path) -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["heatmaps"]["sigmaa"] = params["heatmaps"]["sigma"]  # a typo beside the real key
    (folder / "params.yaml").write_text(yaml.safe_dump(params))


def check_help(stage: str, code: int, out: str, err: str) -> None:
    assert code == 0, err
    assert out.startswith(f"Stage {stage}:") and "Reads" in out and "Writes" in out


def check_one_line_error(code: int, err: str, needle: str) -> None:
    assert code == 1, err[-2000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err[-2000:]


@pytest.mark.parametrize("stage", STAGES)
def test_help_says_what_the_stage_reads_and_writes_and_does_nothing(stage, tmp_path, monkeypatch, capfd):
    check_help(stage, *run_in_process(stage, tmp_path, ("--help",), monkeypatch, capfd))
    assert files_in(tmp_path) == []  # not even params.yaml was needed


@pytest.mark.parametrize("stage", STAGES)
def test_an_argument_or_a_params_typo_is_one_line_and_exit_1(stage, tmp_path, monkeypatch, capfd):
    params_with_a_typo(tmp_path)
    before = files_in(tmp_path)
    for args, needle in ((("--fast",), "--fast"), ((), "sigmaa")):
        code, _, err = run_in_process(stage, tmp_path, args, monkeypatch, capfd)
        check_one_line_error(code, err, needle)
    assert files_in(tmp_path) == before


def test_a_stage_through_a_real_interpreter(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        return subprocess.run([sys.executable, str(script("evaluate")), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    done = run("--help")
    check_help("evaluate", done.returncode, done.stdout, done.stderr)
    assert "metrics/{val,test,ood}.json" in done.stdout
    params_with_a_typo(tmp_path)
    done = run()
    check_one_line_error(done.returncode, done.stderr, "sigmaa")
    assert files_in(tmp_path) == ["params.yaml"]
