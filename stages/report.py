"""Report across runs: the thesis' Tables 1-4 and Figure 1 from every DVC experiment and the workspace.

Not a DVC stage (it reads all experiments, not one workspace's outputs). Run it in the project root:

    python stages/report.py                 # HEAD, its experiments and the workspace
    python stages/report.py --all-commits   # experiments of every commit
    python stages/report.py --split val     # the same tables on validation

Writes into reports/: table{1,2}_pck_s{1,2} (test, or validation, beside the held-out domain, with
what each row breaks and fixes), table{3,4}_per_keypoint_s{1,2} (.md, .csv, .tex),
inference_cost (.md, .csv, .tex), figure1_finetuning (.png, .pdf), runs.csv. Runs made with
evaluate.feed_targets only appear in separate tables named *_feed_targets.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

from climbpose.io import write_text
from climbpose.report.experiments import collect_runs, load_history, runs_from_exp_show
from climbpose.report.figures import finetuning_figure
from climbpose.report.tables import cost_table, per_keypoint_table, pck_table, select_runs


def build_tables(runs, split: str = "test") -> list:
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
    return tables


def runs_csv(runs) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "rev", "model", "experiment", "s", "feed_targets", "has_test_metrics", "has_ood_metrics", "run"])
    for run in runs:
        writer.writerow([run.name, run.rev, run.model, run.experiment, run.s, int(run.feed_targets), int("test" in run.metrics),
                         int("ood" in run.metrics), run.label])
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--split", choices=("test", "val"), default="test", help="which split the tables show")
    parser.add_argument("--all-commits", action="store_true", help="include experiments of every commit, not only HEAD")
    parser.add_argument("--from-json", help="read saved `dvc exp show --json` output instead of asking DVC")
    args = parser.parse_args()

    root = Path(".")
    runs = (runs_from_exp_show(json.loads(Path(args.from_json).read_text())) if args.from_json
            else collect_runs(root, all_commits=args.all_commits))
    out = Path(args.out)
    print(f"{len(runs)} runs: " + ", ".join(f"{r.name} ({r.model} {r.label}{', feed_targets' if r.feed_targets else ''})" for r in runs))
    write_text(out / "runs.csv", runs_csv(runs))
    for table in build_tables(runs, args.split):
        paths = table.write(out)
        print("wrote", ", ".join(str(p) for p in paths))
        for note in table.notes:
            print("  note:", note)

    # Figure 1 from the honest runs that fill the tables (one per model and s.e).
    chosen, _ = select_runs(runs, feed_targets=False)
    entries = [(run, load_history(root, run)) for run in chosen.values() if run.model != "identity"]
    figure = [out / "figure1_finetuning.png", out / "figure1_finetuning.pdf"]
    finetuning_figure(entries, figure)
    print("wrote", ", ".join(str(p) for p in figure), f"({sum(1 for _, h in entries if h)} runs with a history)")


if __name__ == "__main__":
    main()
