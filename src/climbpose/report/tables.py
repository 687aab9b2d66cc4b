"""Result tables in the thesis' layouts, built from runs' flat metrics and written as Markdown, CSV and LaTeX.

Tables 1/2 (one per s): PCK@0.05/0.1/0.2 x experiments 1-3 for the identity function, the four
models and the classical filters, plus the mean threshold distance. Tables 3/4 (one per s):
per-part PCK@0.2, 13 rows x (row, experiment). A cell without a run is empty, never an error.

The metric keys a run writes for each row are named here (`row_prefix`) and formed by
`climbpose.evaluate.metric_key`, so the evaluate stage and these tables cannot disagree. A run made
with `evaluate.feed_targets` (the thesis' defect, SPEC 1.8) writes its model rows under
"model_feed_targets_..." and is only ever tabulated in separate, labelled tables.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence, Union

from climbpose import keypoints as kp
from climbpose.evaluate import metric_key
from climbpose.io import write_text
from climbpose.report.experiments import Run

MODELS: tuple[tuple[str, str], ...] = (
    ("conv3d", "Conv3D"), ("deciwatch", "DeciWatch"),
    ("bi_convlstm_sum", "bi-ConvLSTM sum"), ("bi_convlstm_concat", "bi-ConvLSTM concat"))
FILTERS: tuple[tuple[str, str], ...] = (("savgol", "Savitzky-Golay"), ("one_euro", "One-Euro"))
IDENTITY = ("identity", "Identity function")
EXPERIMENTS = (1, 2, 3)
THRESHOLDS = (0.05, 0.1, 0.2)
PART_THRESHOLD = 0.2
# SPEC 1.9: the thesis' inference time per window (ms).
THESIS_MS_PER_WINDOW = {"conv3d": 0.39, "deciwatch": 14.2, "bi_convlstm_sum": 10.6, "bi_convlstm_concat": 20.1}

FEED_TARGETS = "feed_targets"
FEED_TARGETS_WARNING = ("FEED_TARGETS: the models were fed the ground-truth heatmaps instead of their inputs, "
                        "the thesis' evaluation defect (SPEC 1.8). Model rows measure how well a model passes "
                        "clean targets through, not refinement; identity and filter rows are unaffected.")

Cell = Union[float, str, None]


def row_prefix(row: str, feed_targets: bool = False) -> str:
    """The metric-key prefix of a table row: 'model' becomes 'model_feed_targets' under the defect."""
    return f"model_{FEED_TARGETS}" if row == "model" and feed_targets else row


def file_suffix(feed_targets: bool) -> str:
    return f"_{FEED_TARGETS}" if feed_targets else ""


@dataclass
class Table:
    """A titled grid. `groups` spans columns with a header above `columns` (LaTeX, CSV names)."""

    name: str
    title: str
    columns: list[str]
    rows: list[str]
    values: list[list[Cell]]
    groups: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    digits: dict[str, int] = field(default_factory=dict)  # per row; default 1 (percentages)

    def text(self, row: int, col: int) -> str:
        value = self.values[row][col]
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        if isinstance(value, str):
            return value
        return f"{value:.{self.digits.get(self.rows[row], 1)}f}"

    def column_names(self) -> list[str]:
        """Flat column names: the group label joined to the column label."""
        names, groups = [], [label for label, span in self.groups for _ in range(span)]
        for i, column in enumerate(self.columns):
            names.append(f"{groups[i]} {column}".strip() if i < len(groups) else column)
        return names

    def to_markdown(self) -> str:
        lines = [f"**{self.title}**", ""] + [f"> {note}" for note in self.notes] + ([""] if self.notes else [])
        lines.append("| | " + " | ".join(self.column_names()) + " |")
        lines.append("|---|" + "---:|" * len(self.columns))
        for r, row in enumerate(self.rows):
            lines.append(f"| {row} | " + " | ".join(self.text(r, c) for c in range(len(self.columns))) + " |")
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """CSV with the title and notes as leading '# ' lines (pandas: read_csv(..., comment='#'))."""
        out = io.StringIO()
        for line in [self.title, *self.notes]:
            out.write(f"# {line}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["row", *self.column_names()])
        for r, row in enumerate(self.rows):
            writer.writerow([row, *(self.text(r, c) for c in range(len(self.columns)))])
        return out.getvalue()

    def to_latex(self) -> str:
        """A booktabs table (needs \\usepackage{booktabs})."""
        n = len(self.columns)
        lines = [f"% {self.title}", *(f"% {note}" for note in self.notes),
                 r"\begin{table}[ht]", r"\centering", f"\\caption{{{_tex(self.title)}}}",
                 f"\\begin{{tabular}}{{l{'r' * n}}}", r"\toprule"]
        if self.groups:
            lines.append(" & " + " & ".join(f"\\multicolumn{{{span}}}{{c}}{{{_tex(label)}}}" for label, span in self.groups) + r" \\")
            start, rules = 2, []
            for _, span in self.groups:
                rules.append(f"\\cmidrule(lr){{{start}-{start + span - 1}}}")
                start += span
            lines.append(" ".join(rules))
        lines.append(" & " + " & ".join(_tex(c) for c in self.columns) + r" \\")
        lines.append(r"\midrule")
        for r, row in enumerate(self.rows):
            lines.append(_tex(row) + " & " + " & ".join(_tex(self.text(r, c)) for c in range(n)) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path, formats: Sequence[str] = ("md", "csv", "tex")) -> list[Path]:
        paths = []
        for ext in formats:
            path = Path(directory) / f"{self.name}.{ext}"
            write_text(path, {"md": self.to_markdown, "csv": self.to_csv, "tex": self.to_latex}[ext]())
            paths.append(path)
        return paths


def _tex(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"), ("$", r"\$")):
        text = text.replace(char, escaped)
    return text


def _label(table_name: str, feed_targets: bool, title: str) -> tuple[str, str, list[str]]:
    """File name, title and notes of a table, carrying the feed_targets label when it applies."""
    if feed_targets:
        return f"{table_name}{file_suffix(True)}", f"[FEED_TARGETS] {title}", [FEED_TARGETS_WARNING]
    return table_name, title, []


def select_runs(runs: Iterable[Run], feed_targets: bool = False) -> tuple[dict[tuple[str, int, int], Run], list[str]]:
    """The run filling each (model, experiment, s) cell: the first one given (runs come most
    preferred first), among runs with the same feed_targets setting only. Notes name the cells
    that had several candidates. Runs of the `identity` model have the key ('identity', e, s)."""
    chosen: dict[tuple[str, int, int], Run] = {}
    others: dict[tuple[str, int, int], list[str]] = {}
    for run in runs:
        if run.feed_targets != feed_targets or run.experiment not in EXPERIMENTS or run.s not in (1, 2):
            continue
        key = (run.model, run.experiment, run.s)
        if key in chosen:
            others.setdefault(key, []).append(run.name)
        else:
            chosen[key] = run
    notes = [f"{model} {s}.{e}: used run '{chosen[(model, e, s)].name}'; also found {', '.join(names)}"
             for (model, e, s), names in others.items()]
    return chosen, notes


def _column_runs(chosen: dict[tuple[str, int, int], Run], e: int, s: int) -> list[Run]:
    """All runs of one (experiment, s) column, in table-row order: any of them can give the baseline rows."""
    return [chosen[(m, e, s)] for m, _ in (*MODELS, IDENTITY) if (m, e, s) in chosen]


class _Disagreements(dict):
    """Baseline values that differ between the runs of a column: (column, runs) -> keys; one note each."""

    def notes(self) -> list[str]:
        return [f"{where}: {len(keys)} identity/filter values differ between runs {', '.join(names)} (different data, split "
                f"or filter grids?), e.g. {keys[0]}; showing {names[0]}" for (where, names), keys in self.items()]


def _baseline(runs: list[Run], source: str, key: str, disagreements: _Disagreements, where: str) -> float | None:
    """A row every run of a column measures the same way (identity, filters, threshold distances):
    the first run's value; runs that disagree (they used different data) are recorded for a note."""
    values = [(run.name, v) for run in runs if (v := run.value(source, key)) is not None]
    if not values:
        return None
    differ = tuple(name for name, v in values if abs(v - values[0][1]) > 1e-9)
    if differ:
        disagreements.setdefault((where, (values[0][0], *differ)), []).append(key)
    return values[0][1]


def _filter_settings(runs: list[Run], kind: str) -> str:
    """The filter settings chosen on validation in a column, e.g. 'window_length=5, polyorder=2'."""
    for run in runs:
        found = {k[len(kind) + 1:]: v for k, v in run.metrics.get("val", {}).items() if k.startswith(f"{kind}_") and "pck" not in k}
        if found:
            return ", ".join(f"{k}={v:g}" for k, v in found.items() if isinstance(v, (int, float)))
    return ""


def pck_table(runs: Sequence[Run], s: int, number: int, split: str = "test", feed_targets: bool = False) -> Table:
    """Table 1 (s=1) / 2 (s=2): rows identity, models, filters, mean threshold distance;
    columns PCK@t x experiment."""
    chosen, notes = select_runs(runs, feed_targets)
    disagreements = _Disagreements()
    rows = [(IDENTITY[0], IDENTITY[1]), *MODELS, *FILTERS]
    values: list[list[Cell]] = [[] for _ in range(len(rows) + 1)]
    for t in THRESHOLDS:
        for e in EXPERIMENTS:
            column = _column_runs(chosen, e, s)
            for r, (row, _) in enumerate(rows):
                if row in dict(MODELS):
                    run = chosen.get((row, e, s))
                    values[r].append(run.value(split, metric_key(f"{row_prefix('model', feed_targets)}_pck", t)) if run else None)
                else:
                    values[r].append(_baseline(column, split, metric_key(f"{row}_pck", t), disagreements, f"{s}.{e}"))
            values[-1].append(_baseline(column, split, metric_key("identity_thr", t), disagreements, f"{s}.{e}"))
    notes += disagreements.notes()
    for kind, label in FILTERS:
        settings = "; ".join(f"{s}.{e}: {text}" for e in EXPERIMENTS if (text := _filter_settings(_column_runs(chosen, e, s), kind)))
        if settings:
            notes.append(f"{label} settings chosen on validation PCK@0.05: {settings}")
    name, title, label_notes = _label(f"table{number}_pck_s{s}{'' if split == 'test' else '_' + split}", feed_targets,
                                      f"Table {number}: {split} PCK (%), s={s}, experiments 1-3; last row: mean threshold distance (heatmap cells)")
    thr_row = "Mean threshold distance"
    return Table(name=name, title=title, columns=[f"e{e}" for _ in THRESHOLDS for e in EXPERIMENTS],
                 rows=[label for _, label in rows] + [thr_row], values=values,
                 groups=[(f"PCK@{t:g}", len(EXPERIMENTS)) for t in THRESHOLDS],
                 notes=label_notes + notes, digits={thr_row: 2})


def per_keypoint_table(runs: Sequence[Run], s: int, number: int, split: str = "test", feed_targets: bool = False) -> Table:
    """Table 3 (s=1) / 4 (s=2): per-part PCK@0.2, 13 rows x (identity, models, filters) x experiment."""
    chosen, notes = select_runs(runs, feed_targets)
    disagreements = _Disagreements()
    groups = [IDENTITY, *MODELS, *FILTERS]
    values: list[list[Cell]] = [[] for _ in kp.PARTS]
    for row, _ in groups:
        for e in EXPERIMENTS:
            column = _column_runs(chosen, e, s)
            for p, (part, _) in enumerate(kp.PARTS):
                if row in dict(MODELS):
                    run = chosen.get((row, e, s))
                    key = metric_key(f"{split}_{row_prefix('model', feed_targets)}_pck", PART_THRESHOLD, part)
                    values[p].append(run.value("per_keypoint", key) if run else None)
                else:
                    key = metric_key(f"{split}_{row}_pck", PART_THRESHOLD, part)
                    values[p].append(_baseline(column, "per_keypoint", key, disagreements, f"{s}.{e}"))
    notes += disagreements.notes()
    name, title, label_notes = _label(f"table{number}_per_keypoint_s{s}{'' if split == 'test' else '_' + split}", feed_targets,
                                      f"Table {number}: {split} PCK@{PART_THRESHOLD:g} (%) per body part, s={s}, experiments 1-3")
    return Table(name=name, title=title, columns=[f"e{e}" for _ in groups for e in EXPERIMENTS],
                 rows=[part for part, _ in kp.PARTS], values=values,
                 groups=[(label, len(EXPERIMENTS)) for _, label in groups], notes=label_notes + notes)


def cost_table(runs: Sequence[Run]) -> Table:
    """Inference cost per model (the first run of each model that measured it) beside the thesis' ms/window."""
    columns = ["thesis ms/window", "ms/window (batch 1)", "windows/s", "batch", "device", "run"]
    values: list[list[Cell]] = []
    for model, _ in MODELS:
        run = next((r for r in runs if r.model == model and r.value("cost", "model_ms_per_window_b1") is not None), None)
        cost = run.metrics["cost"] if run else {}
        values.append([THESIS_MS_PER_WINDOW[model], run.value("cost", "model_ms_per_window_b1") if run else None,
                       run.value("cost", "model_windows_per_s") if run else None,
                       str(cost.get("batch_size", "")), str(cost.get("device", "")), run.name if run else ""])
    return Table(name="inference_cost", title="Inference cost per window: the thesis (SPEC 1.9) and this pipeline's runs",
                 columns=columns, rows=[label for _, label in MODELS], values=values,
                 notes=["Wall times depend on the machine; the thesis' numbers come from its own GPU."],
                 digits={label: 2 for _, label in MODELS})


def run_tables(val: dict, test: dict, per_keypoint: dict, model: str, feed_targets: bool) -> list[Table]:
    """The evaluate stage's tables for one run: PCK on validation and test, and per-part PCK@0.2."""
    model_label = f"{model} (fed targets)" if feed_targets else model
    rows = [(IDENTITY[0], IDENTITY[1]), (row_prefix("model", feed_targets), model_label), *FILTERS]
    thr_row = "Mean threshold distance"
    values: list[list[Cell]] = [[] for _ in range(len(rows) + 1)]
    for metrics in (val, test):
        for t in THRESHOLDS:
            for r, (prefix, _) in enumerate(rows):
                values[r].append(_number(metrics.get(metric_key(f"{prefix}_pck", t))))
            values[-1].append(_number(metrics.get(metric_key("identity_thr", t))))
    name, title, notes = _label("results", feed_targets, f"PCK (%) of {model_label} and the baselines on validation and test")
    results = Table(name=name, title=title, columns=[f"PCK@{t:g}" for _ in ("val", "test") for t in THRESHOLDS],
                    rows=[label for _, label in rows] + [thr_row], values=values,
                    groups=[("validation", len(THRESHOLDS)), ("test", len(THRESHOLDS))], notes=notes, digits={thr_row: 2})
    parts: list[list[Cell]] = [[_number(per_keypoint.get(metric_key(f"{split}_{prefix}_pck", PART_THRESHOLD, part)))
                                for split in ("val", "test") for prefix, _ in rows] for part, _ in kp.PARTS]
    name, title, notes = _label("per_keypoint", feed_targets, f"PCK@{PART_THRESHOLD:g} (%) per body part on validation and test")
    per_part = Table(name=name, title=title, columns=[label for _ in ("val", "test") for _, label in rows],
                     rows=[part for part, _ in kp.PARTS], values=parts,
                     groups=[("validation", len(rows)), ("test", len(rows))], notes=notes)
    return [results, per_part]


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None
