"""The `report` command: the thesis' Tables 1-4 and Figure 1 across every DVC experiment.

    climbpose report                  # HEAD, its experiments and the workspace
    climbpose report --all-commits    # experiments of every commit
    climbpose report --split val      # the same tables on validation

Not a DVC stage: it reads all experiments, not one workspace's outputs. Run it in the project
root. Writes into reports/: table{1,2}_pck_s{1,2} (test, or validation, beside the held-out
domain, with what each row breaks and fixes), table{3,4}_per_keypoint_s{1,2} (.md, .csv, .tex),
inference_cost (.md, .csv, .tex), verdicts (every run against the estimator and its sub-cell reading,
also printed), figure1_finetuning (.png, .pdf), runs.csv. Runs made with
evaluate.feed_targets only appear in separate tables named *_feed_targets.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from climbpose.core.errors import InputError
from climbpose.core.io import write_text
from climbpose.report.experiments import collect_runs, load_history, runs_from_exp_show
from climbpose.report.figures import finetuning_figure
from climbpose.report.table import Table
from climbpose.report.tables import cost_table, per_keypoint_table, pck_table, run_verdicts, select_runs


def build_tables(runs, split: str = "test") -> list[Table]:
    """Every table of the report: honest ones always (empty cells where runs are missing), and
    feed_targets ones only when such runs exist."""
    tables = []
    for feed_targets in (False, True):
        if feed_targets and not any(run.feed_targets for run in runs):
            continue
        for s in (1, 2):
            tables.append(pck_table(runs, s, number=s, split=split, feed_targets=feed_targets))
        for s in (1, 2):
            tables.append(per_keypoint_table(runs, s, number=2 + s, split=split, feed_targets=feed_targets))
    tables.append(cost_table([run for run in runs if not run.feed_targets] + [run for run in runs if run.feed_targets]))
    tables.append(run_verdicts(runs))
    return tables


def runs_csv(runs) -> str:
    """One line per run found: its name, revision, cell (model, experiment, s) and what it holds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "rev", "model", "experiment", "s", "feed_targets", "has_test_metrics", "has_ood_metrics", "run"])
    for run in runs:
        writer.writerow([run.name, run.rev, run.model, run.experiment, run.s, int(run.feed_targets), int("test" in run.metrics),
                         int("ood" in run.metrics), run.label])
    return out.getvalue()


def write_report(runs, out: Path, root: Path, split: str = "test") -> list[Path]:
    """Write runs.csv, every table and Figure 1 into `out`; return the paths written."""
    written = [out / "runs.csv"]
    write_text(written[0], runs_csv(runs))
    for table in build_tables(runs, split):
        paths = table.write(out)
        written += paths
        print("wrote", ", ".join(str(p) for p in paths))
        for note in table.notes:
            print("  note:", note)
        if table.name == "verdicts":
            for row, line in zip(table.rows, table.values):
                print(f"{row}:", *(f"  {text}" for text in line), sep="\n")
    # Figure 1 from the honest runs that fill the tables (one per model and s).
    chosen, _ = select_runs(runs, feed_targets=False)
    entries = [(run, load_history(root, run)) for run in chosen.values() if run.model != "identity"]
    figure = [out / "figure1_finetuning.png", out / "figure1_finetuning.pdf"]
    finetuning_figure(entries, figure)
    print("wrote", ", ".join(str(p) for p in figure), f"({sum(1 for _, h in entries if h)} runs with a history)")
    return written + figure


def default_first(runs: list, params_file: Path) -> list:
    """The runs of the project's default model (params.yaml's `model`) first, the rest as they came."""
    import yaml

    try:
        default = yaml.safe_load(params_file.read_text()).get("model") if params_file.is_file() else None
    except (OSError, yaml.YAMLError, AttributeError):
        default = None
    return sorted(runs, key=lambda run: run.model != default)


def describe_model_file(path: str | Path) -> str:
    """The one-line label of a model file (`models.file.model_label`), read without building the model."""
    from climbpose.models.file import model_label, read_model_file

    if not Path(path).is_file():
        raise InputError(f"{path}: no such model file")
    try:
        return model_label(read_model_file(path))
    except Exception as e:  # a foreign or damaged file, whatever torch says about it
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path}: cannot read as a climbpose model file ({reason})") from None


def run(args: argparse.Namespace) -> int:
    """Run `report` from parsed arguments; a user error prints one line to stderr and returns 1."""
    root = Path(".")
    try:
        if args.model:
            print(f"{args.model}: {describe_model_file(args.model)}")
            return 0
        if args.from_json:
            try:
                runs = runs_from_exp_show(json.loads(Path(args.from_json).read_text()))
            except (OSError, ValueError) as e:
                raise InputError(f"{args.from_json}: cannot read as `dvc exp show --json` output ({e})") from None
        else:
            if not (root / "dvc.yaml").is_file():
                raise InputError("no dvc.yaml here: run `climbpose report` in the project's root folder")
            runs = collect_runs(root, all_commits=args.all_commits)
        runs = default_first(runs, root / "params.yaml")
        print(f"{len(runs)} runs: " + ", ".join(
            f"{r.name} ({r.model} {r.label}{', feed_targets' if r.feed_targets else ''})" for r in runs))
        write_report(runs, Path(args.out), root, args.split)
    except (InputError, OSError) as e:
        print(f"climbpose report: error: {e}", file=sys.stderr)
        return 1
    return 0
