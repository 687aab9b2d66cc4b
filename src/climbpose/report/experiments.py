"""Collecting finished runs across DVC experiments: params, metrics and finetuning history of each.

The source is `dvc exp show --json` (DVC's documented machine-readable listing of the workspace,
the baseline commits and their experiments). Every entry with a params.yaml becomes a `Run`; a
run that failed or never reached evaluate simply has no metrics (its table cells stay empty).
Histories (the finetune stage's dvclive TSVs, git-tracked so every experiment commit holds its
own) are read from the working tree for the workspace and with `git show` for a commit.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from climbpose.core.contract import FINETUNE_SELECT_THRESHOLD, metric_key

__all__ = ["Run", "collect_runs", "load_history", "runs_from_exp_show", "with_scores", "HISTORY_DIR", "METRIC_FILES",
           "SCORES_FILE"]

WORKSPACE = "workspace"
HISTORY_DIR = "dvclive/finetune/plots/metrics"
HISTORY_KEYS = ("train_loss", "val_loss", f"val_{metric_key('pck', FINETUNE_SELECT_THRESHOLD)}", "lr_reduced")
# The declared metrics (the headline numbers `dvc exp show` lists); runs made before the full scores
# moved to SCORES_FILE also declared per-keypoint and cost files, still read when present.
METRIC_FILES = {"val": "metrics/val.json", "test": "metrics/test.json", "ood": "metrics/ood.json",
                "per_keypoint": "metrics/per_keypoint.json", "cost": "reports/inference_cost.json"}
# Every row's scores (split -> keys, and "per_keypoint") and the wall times: git-tracked run outputs,
# read per run from its commit.
SCORES_FILE = "reports/evaluation/scores.json"
COST_FILE = "reports/evaluation/inference_cost.json"


@dataclass(frozen=True)
class Run:
    """One run's identity and results. `params` is params.yaml as parsed; `metrics` maps the
    short names of METRIC_FILES to their flat dicts (absent when the run did not produce them)."""

    name: str
    rev: str
    params: dict[str, Any]
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    timestamp: str = ""

    def param(self, dotted: str, default: Any = None) -> Any:
        value: Any = self.params
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    @property
    def model(self) -> str:
        return str(self.param("model", ""))

    @property
    def experiment(self) -> int | None:
        return _as_int(self.param("experiment"))

    @property
    def s(self) -> int | None:
        return _as_int(self.param("s"))

    @property
    def feed_targets(self) -> bool:
        return bool(self.param("evaluate.feed_targets", False))

    @property
    def label(self) -> str:
        """The thesis' run name "s.e" (docs/design.md#the-24-run-grid)."""
        return f"{self.s}.{self.experiment}"

    def value(self, source: str, key: str) -> float | None:
        """A finite number from one metrics file, else None (missing file, key or NaN)."""
        raw = self.metrics.get(source, {}).get(key)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            return None
        return float(raw)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _file_data(files: dict[str, Any] | None, path: str) -> dict[str, Any] | None:
    entry = (files or {}).get(path)
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
        return None
    return entry["data"]


def _run_from_state(state: dict[str, Any], name: str) -> Run | None:
    data = state.get("data") or {}
    params = _file_data(data.get("params"), "params.yaml")
    if params is None:
        return None  # nothing known about this entry (e.g. a queued experiment): not a run
    metrics = {short: found for short, path in METRIC_FILES.items()
               if (found := _file_data(data.get("metrics"), path)) is not None}
    return Run(name=name, rev=str(state.get("rev", "")), params=params, metrics=metrics,
               timestamp=str(data.get("timestamp") or ""))


def runs_from_exp_show(entries: list[dict[str, Any]]) -> list[Run]:
    """Runs from parsed `dvc exp show --json` output, most preferred first.

    Order: the workspace (when its params and metrics differ from every commit's, i.e. it holds an
    uncommitted result), then experiments newest first, then baseline commits. When several runs
    fill the same table cell, the table takes the first, so fresh results win.
    """
    workspace: list[Run] = []
    experiments: list[Run] = []
    baselines: list[Run] = []
    for entry in entries:
        rev = str(entry.get("rev", ""))
        if rev == WORKSPACE:
            run = _run_from_state(entry, WORKSPACE)
            workspace += [run] if run else []
            continue
        run = _run_from_state(entry, entry.get("name") or rev[:7])
        baselines += [run] if run else []
        for exp_range in entry.get("experiments") or []:
            revs = exp_range.get("revs") or []
            if revs:  # revs[0] is the experiment's final commit
                run = _run_from_state(revs[0], exp_range.get("name") or revs[0].get("name") or str(revs[0].get("rev", ""))[:7])
                experiments += [run] if run else []
    experiments.sort(key=lambda run: run.timestamp, reverse=True)
    committed = experiments + baselines
    fingerprints = {_fingerprint(run) for run in committed}
    return [run for run in workspace if _fingerprint(run) not in fingerprints] + committed


def _fingerprint(run: Run) -> str:
    return json.dumps([run.params, run.metrics], sort_keys=True, default=str)


def _dvc(root: str | Path, *args: str) -> str:
    command = ["dvc", *args]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in {root}: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    return done.stdout


def collect_runs(root: str | Path = ".", all_commits: bool = False, log=print) -> list[Run]:
    """Every run DVC knows in `root` (workspace, HEAD and its experiments; all commits if asked).

    An uncommitted workspace result is kept only while `dvc status evaluate` is clean: after an
    edit of params.yaml or the code, its metrics no longer belong to its params, and a table
    would put them in the wrong cell.
    """
    runs = runs_from_exp_show(json.loads(_dvc(root, "exp", "show", "--json", *(["--all-commits"] if all_commits else [])) or "[]"))
    if runs and runs[0].rev == WORKSPACE:
        status = json.loads(_dvc(root, "status", "--json", "evaluate") or "{}")
        if status:
            log(f"left out the workspace: its results are not up to date (dvc status: {', '.join(sorted(status))}); run dvc repro")
            runs = runs[1:]
    return [with_scores(root, run) for run in runs]


def with_scores(root: str | Path, run: Run) -> Run:
    """The run with its full scores (SCORES_FILE, COST_FILE at its revision) added to its metrics;
    the headline keys of the declared metrics agree with them, so nothing is overwritten."""
    metrics = {short: dict(values) for short, values in run.metrics.items()}
    for path, shorts in ((SCORES_FILE, None), (COST_FILE, "cost")):
        text = _read(Path(root), run.rev, path)
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError:
            data = {}
        if not isinstance(data, dict):
            continue
        parts = {shorts: data} if shorts else {key: value for key, value in data.items() if isinstance(value, dict)}
        for short, values in parts.items():
            metrics.setdefault(short, {}).update(values)
    return replace(run, metrics=metrics)


def _read(root: Path, rev: str, path: str) -> str | None:
    """A git-tracked file's text in the working tree (workspace) or at a commit; None if absent."""
    if rev == WORKSPACE:
        file = root / path
        return file.read_text() if file.is_file() else None
    done = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else None


def parse_tsv(text: str, key: str) -> dict[int, float]:
    """A dvclive metric TSV (columns step, ..., key) -> {step: value}."""
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return {int(row["step"]): float(row[key]) for row in rows if row.get(key) not in (None, "")}


def load_history(root: str | Path, run: Run) -> dict[str, dict[int, float]]:
    """The finetuning history of a run: {metric: {epoch: value}} for HISTORY_KEYS, possibly empty.

    dvclive's step is the epoch (epoch 0 is the validation before training, which has no
    training loss). Falls back to the "history" saved in the workspace's models/finetuned.pt.
    """
    root = Path(root)
    history: dict[str, dict[int, float]] = {}
    for key in HISTORY_KEYS:
        text = _read(root, run.rev, f"{HISTORY_DIR}/{key}.tsv")
        if text:
            history[key] = parse_tsv(text, key)
    if not history and run.rev == WORKSPACE and (root / "models/finetuned.pt").is_file():
        import torch  # only for this fallback

        records = torch.load(root / "models/finetuned.pt", map_location="cpu", weights_only=False).get("history", [])
        for key in HISTORY_KEYS:
            values = {int(r["epoch"]): float(r[key]) for r in records if key in r and math.isfinite(float(r[key]))}
            if values:
                history[key] = values
    return history
