"""A throwaway copy of this repository with tiny params, driven through the real `dvc` CLI."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# A pipeline that runs end to end in well under a minute on 2 cores: 16x16 heatmaps, small filter
# grids, no timing. Four finetuning epochs leave time to interrupt one after the first
# (tests/test_interrupt.py).
TINY_PARAMS = {
    "synthesize": {"videos": 3, "ground_videos": 0, "frames": 30, "width": 216, "height": 384, "workers": 1},
    "ood": {"videos": 2, "frames": 20, "width": 216, "height": 384, "workers": 1},
    "extract": {"workers": 1},
    "heatmaps": {"size": 16, "c": 255.0, "sigma": 1.0},
    "split": {"block": 10},
    "pretrain": {"sequences": 4, "frames": 20, "max_epochs": 1, "windows_per_epoch": 32},
    "finetune": {"max_epochs": 4, "windows_per_epoch": 32},
    "evaluate": {"savgol_windows": [5], "savgol_polyorders": [1], "one_euro_min_cutoffs": [0.1],
                 "one_euro_betas": [0.3], "cost_batch_size": 0},
}


def environment(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Stages write bytecode next to the sources they import, as they do on a user's machine: the
    # pipeline must not count it as a changed dependency.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(tmp / "dvc-site-cache"),
        "GIT_AUTHOR_NAME": "ClimbPose tests", "GIT_AUTHOR_EMAIL": "tests@climbpose.invalid",
        "GIT_COMMITTER_NAME": "ClimbPose tests", "GIT_COMMITTER_EMAIL": "tests@climbpose.invalid",
        "PYTHONUNBUFFERED": "1",
    })
    return env


class DvcRepo:
    """A git + DVC working copy in a temporary folder."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def dvc(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "dvc"), *args, **kwargs)

    def git(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run("git", *args, **kwargs)

    def metrics(self, name: str = "test") -> dict:
        import json

        return json.loads((self.root / "metrics" / f"{name}.json").read_text())


def make_tiny_repo(tmp: Path) -> DvcRepo:
    """Copy the tracked files of this checkout (as they are on disk) into a fresh git repo."""
    root = tmp / "repo"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file() and not name.startswith(("data/", "metrics/", "reports/", "dvclive/")) and name != "dvc.lock":
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    values = yaml.safe_load((root / "params.yaml").read_text())
    for section, updates in TINY_PARAMS.items():
        values[section].update(updates)
    (root / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    repo = DvcRepo(root, environment(tmp))
    repo.git("init", "-q", "-b", "main")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "tiny pipeline")
    return repo


TIME_COLUMNS = {"seconds", "windows_per_s"}  # dvclive series that hold wall times


def ran(output: str) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` output says it ran."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def outputs(root: Path) -> dict[str, bytes]:
    """The headline metrics, every score of the evaluation and the data stages' summaries."""
    files = [*sorted((root / "metrics").glob("*.json")), *sorted((root / "reports" / "data").glob("*.json")),
             root / "reports" / "evaluation" / "scores.json"]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def history(root: Path) -> dict[str, list[tuple[str, str]]]:
    """dvclive's finetuning series (step, value), without wall times and timestamps."""
    out = {}
    for path in sorted((root / "dvclive" / "finetune" / "plots" / "metrics").glob("*.tsv")):
        if path.stem not in TIME_COLUMNS:
            with open(path, newline="") as handle:
                out[path.stem] = [(row["step"], row[path.stem]) for row in csv.DictReader(handle, delimiter="\t")]
    return out


@dataclass(frozen=True)
class TinyPipeline:
    """A tiny copy of this repository after one uninterrupted `dvc repro`, committed. Never changed:
    a test that drives DVC works on its own `copy`."""

    template: DvcRepo
    first_run: str                    # the repro's stdout
    outputs: dict[str, bytes]         # its metrics and summaries, as written
    history: dict[str, list[tuple[str, str]]]

    def copy(self, tmp: Path) -> DvcRepo:
        """The template whole (git history, DVC cache and outputs) in a folder of its own."""
        root = tmp / "repo"
        shutil.copytree(self.template.root, root, symlinks=True)
        return DvcRepo(root, environment(tmp))
