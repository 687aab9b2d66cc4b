"""Result tables in the thesis' layouts, built from runs' flat metrics and written as Markdown, CSV and LaTeX.

Tables 1/2 (one per s): PCK@0.05/0.1/0.2 x experiments 1-3 on test (or validation) and on the
held-out-domain test set (ood) for the identity function, the four models and the classical filters,
plus the mean threshold distance; under it, in the same columns, the keypoints each model and filter
breaks and fixes against the identity function (climbpose.evaluate.harm). Tables 3/4 (one per s):
per-part PCK@0.2, 13 rows x (row, experiment). A cell without a run is empty, never an error (runs
made before the ood test set existed leave its columns empty).

The metric keys a run writes for each row are named here (`row_prefix`) and formed by
`climbpose.evaluate.metric_key`, so the evaluate stage and these tables cannot disagree. A run made
with `evaluate.feed_targets` (the thesis' defect, docs/design.md#the-known-evaluation-defect) writes
its model rows under "model_feed_targets_..." and is only ever tabulated in separate, labelled
tables.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from climbpose.core import keypoints as kp
from climbpose.core.model_registry import label_of, thesis_models
from climbpose.core.contract import PART_THRESHOLD, THRESHOLDS, metric_key, parse_metric_key
from climbpose.evaluate.harm import BROKEN, FIXED
from climbpose.report.experiments import Run
from climbpose.report.table import Cell, Table

# The untrained baselines beside the models: two classical filters; the estimator's own maps read
# between cells (the sub-cell peak, `climbpose.heatmaps.subcell_peaks`) with no temporal model, which
# shows how much of a model that reads sub-cell peaks owes to the reading alone; and the estimator's
# regressed landmarks (what a MediaPipe user gets), absent where the estimator output has none.
FILTERS: tuple[tuple[str, str], ...] = (("savgol", "Savitzky-Golay"), ("one_euro", "One-Euro"),
                                        ("subcells", "Estimator, sub-cell peaks"),
                                        ("landmarks", "Estimator, regressed landmarks"))
SUBCELLS = "subcells"
IDENTITY = ("identity", "Identity function")
EXPERIMENTS = (1, 2, 3)
OOD = "ood"  # the held-out-domain test set: metrics/ood.json, keys as in metrics/test.json
SPLIT_LABELS = {"val": "Validation", "test": "Test", OOD: "Held-out domain (ood)"}
THR_ROW = "Mean threshold distance"
HARM_NOTE = ("broken / fixed: scored keypoints (% of those PCK counts) the row gets wrong that the identity function "
             "gets right / right that it gets wrong, at the same threshold; PCK(row) - PCK(identity) = fixed - broken.")
# docs/design.md#the-thesis-timings: the thesis' inference time per window (ms).
THESIS_MS_PER_WINDOW = {"conv3d": 0.39, "deciwatch": 14.2, "bi_convlstm_sum": 10.6, "bi_convlstm_concat": 20.1}

FEED_TARGETS = "feed_targets"
FEED_TARGETS_WARNING = ("FEED_TARGETS: the models were fed the ground-truth heatmaps instead of their inputs, "
                        "the thesis' evaluation defect (docs/design.md#the-known-evaluation-defect). "
                        "Model rows measure how well a model passes "
                        "clean targets through, not refinement; identity and filter rows are unaffected.")


def row_prefix(row: str, feed_targets: bool = False) -> str:
    """The metric-key prefix of a table row: 'model' becomes 'model_feed_targets' under the defect."""
    return f"model_{FEED_TARGETS}" if row == "model" and feed_targets else row


def file_suffix(feed_targets: bool) -> str:
    return f"_{FEED_TARGETS}" if feed_targets else ""


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


def model_rows(runs: Iterable[Run]) -> tuple[tuple[str, str], ...]:
    """The model rows of the tables: the first run's model (runs come default first,
    `report.command.default_first`), the other models beyond the thesis' in the order their runs
    come, then the thesis' four in its order, run or not, so the thesis' tables keep their shape.
    The identity model is the baseline row, not here."""
    ran = [run.model for run in runs if run.model != IDENTITY[0]]
    thesis = list(thesis_models())
    names = dict.fromkeys([*ran[:1], *(m for m in ran if m not in thesis), *thesis])
    return tuple((name, label_of(name)) for name in names)


def _column_runs(chosen: dict[tuple[str, int, int], Run], e: int, s: int) -> list[Run]:
    """All runs of one (experiment, s) column, in the order they were chosen: any of them can give
    the baseline rows."""
    return [run for (_, run_e, run_s), run in chosen.items() if (run_e, run_s) == (e, s)]


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
    """The filter settings chosen on validation in a column, e.g. 'window_length=5, polyorder=2':
    the filter's keys that are not scores (a score's key ends in a threshold)."""
    for run in runs:
        found = {k[len(kind) + 1:]: v for k, v in run.metrics.get("val", {}).items()
                 if k.startswith(f"{kind}_") and parse_metric_key(k) is None}
        if found:
            return ", ".join(f"{k}={v:g}" for k, v in found.items() if isinstance(v, (int, float)))
    return ""


def pck_table(runs: Sequence[Run], s: int, number: int, split: str = "test", feed_targets: bool = False) -> Table:
    """Table 1 (s=1) / 2 (s=2): columns (split, then ood) x PCK@t x experiment; a PCK section with
    rows identity, models, filters and the mean threshold distance, then a broken and a fixed
    section with the models and filters."""
    chosen, notes = select_runs(runs, feed_targets)
    disagreements = _Disagreements()
    model_prefix = row_prefix("model", feed_targets)
    models = model_rows(runs)
    lines = ([("pck", row, label) for row, label in (IDENTITY, *models, *FILTERS)] + [("thr", IDENTITY[0], THR_ROW)]
             + [(measure, row, label) for measure in (BROKEN, FIXED) for row, label in (*models, *FILTERS)])
    splits = (split, OOD)

    def cell(measure: str, row: str, source: str, t: float, e: int) -> float | None:
        if row in dict(models):
            run = chosen.get((row, e, s))
            return run.value(source, metric_key(f"{model_prefix}_{measure}", t)) if run else None
        where = f"{s}.{e}" + (f" {OOD}" if source == OOD else "")
        return _baseline(_column_runs(chosen, e, s), source, metric_key(f"{row}_{measure}", t), disagreements, where)

    values: list[list[Cell]] = [[cell(measure, row, source, t, e) for source in splits for t in THRESHOLDS for e in EXPERIMENTS]
                                for measure, row, _ in lines]
    notes += disagreements.notes()
    for kind, label in FILTERS:
        settings = "; ".join(f"{s}.{e}: {text}" for e in EXPERIMENTS if (text := _filter_settings(_column_runs(chosen, e, s), kind)))
        if settings:
            notes.append(f"{label} settings chosen on validation PCK@0.05: {settings}")
    harm_rows = len(models) + len(FILTERS)
    name, title, label_notes = _label(
        f"table{number}_pck_s{s}{'' if split == 'test' else '_' + split}", feed_targets,
        f"Table {number}: {split} and held-out-domain ({OOD}) PCK (%), s={s}, experiments 1-3, with the keypoints each "
        f"row breaks and fixes against the identity function; mean threshold distance in heatmap cells")
    return Table(name=name, title=title, columns=[f"e{e}" for _ in splits for _ in THRESHOLDS for e in EXPERIMENTS],
                 rows=[label for _, _, label in lines], values=values,
                 groups=[(f"{source} @{t:g}", len(EXPERIMENTS)) for source in splits for t in THRESHOLDS],
                 notes=label_notes + notes + [HARM_NOTE], digits={THR_ROW: 2},
                 sections=[("PCK (%)", sum(1 for measure, _, _ in lines if measure in ("pck", "thr"))),
                           (f"{BROKEN.capitalize()} (%)", harm_rows), (f"{FIXED.capitalize()} (%)", harm_rows)])


def per_keypoint_table(runs: Sequence[Run], s: int, number: int, split: str = "test", feed_targets: bool = False) -> Table:
    """Table 3 (s=1) / 4 (s=2): per-part PCK@0.2, 13 rows x (identity, models, filters) x experiment."""
    chosen, notes = select_runs(runs, feed_targets)
    disagreements = _Disagreements()
    models = model_rows(runs)
    groups = [IDENTITY, *models, *FILTERS]
    values: list[list[Cell]] = [[] for _ in kp.PARTS]
    for row, _ in groups:
        for e in EXPERIMENTS:
            column = _column_runs(chosen, e, s)
            for p, (part, _) in enumerate(kp.PARTS):
                if row in dict(models):
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
    models = model_rows(runs)
    for model, _ in models:
        run = next((r for r in runs if r.model == model and r.value("cost", "model_ms_per_window_b1") is not None), None)
        cost = run.metrics["cost"] if run else {}
        values.append([THESIS_MS_PER_WINDOW.get(model), run.value("cost", "model_ms_per_window_b1") if run else None,
                       run.value("cost", "model_windows_per_s") if run else None,
                       str(cost.get("batch_size", "")), str(cost.get("device", "")), run.name if run else ""])
    return Table(name="inference_cost",
                 title="Inference cost per window: the thesis (docs/design.md#the-thesis-timings) and this pipeline's runs",
                 columns=columns, rows=[label for _, label in models], values=values,
                 notes=["Wall times depend on the machine; the thesis' numbers come from its own GPU."],
                 digits={label: 2 for _, label in models})


ROWS_SENTENCE = ("Rows: the identity function is the frozen estimator alone (its heatmaps passed through unchanged "
                 "and read at their maximum cell), the baseline every other row is compared with; {model} is the "
                 "temporal model refining it; Savitzky-Golay and One-Euro smooth the estimator's keypoint tracks "
                 "(settings chosen on validation); 'Estimator, sub-cell peaks' reads the estimator's maps between "
                 "cells, with no model (a gain it also gives is not the model's); 'Estimator, regressed landmarks' "
                 "are the keypoints the estimator regresses besides its maps (what a MediaPipe user gets).")
PCK_SENTENCE = ("PCK@x is the percentage of scored keypoints (visible in the ground truth) whose estimate lies within "
                "x times the {normaliser} of the ground truth; the mean threshold distance is that radius averaged over "
                "the frames, in heatmap cells (the person box's side is {size} cells).")
NORMALISER_WORDS = {"torso": "torso size (mean shoulder-to-hip length, left and right)", "bbox": "heatmap grid's side"}


def _thresholds_text(values: list[float]) -> str:
    text = [f"{t:g}" for t in values]
    return text[0] if len(text) == 1 else f"{', '.join(text[:-1])} and {text[-1]}"


# A model whose PCK stays within this many points of the sub-cell reading at every threshold has
# learnt nothing worth a model: the gap is that of a few dozen keypoints on these test sets, less
# than what two seeds of the same run differ by.
NOTHING_LEARNT_POINTS = 0.5


def _gains(pck_of, row: str, reference: str) -> list[float] | None:
    """row - reference PCK at each threshold, in points; None when either is missing anywhere."""
    pairs = [(pck_of(row, t), pck_of(reference, t)) for t in THRESHOLDS]
    return None if any(a is None or b is None for a, b in pairs) else [a - b for a, b in pairs]


def _signed(gains: list[float]) -> str:
    return " / ".join(f"{g:+.1f}" if round(g, 1) != 0 else "0.0" for g in gains)


def verdict(metrics: dict, per_keypoint: dict, split: str, model_prefix: str, model_label: str) -> str:
    """One line on a split: the model's PCK gain at PCK@0.05 / 0.1 / 0.2 over the estimator (the
    identity function, read at its argmax cells) and over the estimator's maps read between cells (no
    model, the strongest free reading: a gain it also gives is not the model's), saying so when the
    model adds nothing beyond it; the other baselines that beat it; and the body parts where it is
    below the estimator at PCK@0.2."""
    def pck_of(row: str, t: float) -> float | None:
        return _number(metrics.get(metric_key(f"{row}_pck", t)))

    over_identity = _gains(pck_of, model_prefix, IDENTITY[0])
    if over_identity is None:
        return f"{SPLIT_LABELS[split]}: no scores for {model_label}."
    at = "/".join(f"{t:g}" for t in THRESHOLDS)
    if all(round(g, 1) == 0 for g in over_identity):
        clauses = [f"ties the estimator at every threshold (PCK@{at})"]
    else:
        clauses = [f"PCK@{at} {_signed(over_identity)} points against the estimator"]
    over_subcells = _gains(pck_of, model_prefix, SUBCELLS)
    if over_subcells is not None:
        text = f"{_signed(over_subcells)} against its maps read between cells (no model)"
        if all(g < NOTHING_LEARNT_POINTS for g in over_subcells):
            text += (f": nothing learnt beyond that reading (under {NOTHING_LEARNT_POINTS:g} points above it "
                     "at every threshold)")
        clauses.append(text)
    for row, label in FILTERS:
        gains = _gains(pck_of, model_prefix, row) if row != SUBCELLS else None
        if losing := [t for t, g in zip(THRESHOLDS, gains or ()) if g < 0]:
            clauses.append(f"loses to {label} at PCK@{_thresholds_text(losing)}")

    def part_pck(row: str, part: str) -> float | None:
        return _number(per_keypoint.get(metric_key(f"{split}_{row}_pck", PART_THRESHOLD, part)))

    below = [part.lower() for part, _ in kp.PARTS if (m := part_pck(model_prefix, part)) is not None
             and (i := part_pck(IDENTITY[0], part)) is not None and m < i]
    if below:
        clauses.append(f"is below the estimator at PCK@{PART_THRESHOLD:g} on: {', '.join(below)}")
    return f"{SPLIT_LABELS[split]}: {model_label} " + "; ".join(clauses) + "."


def run_verdicts(runs: Sequence[Run], splits: Sequence[str] = ("test", OOD)) -> Table:
    """One verdict line per run and split (`verdict`), honest runs only, in the order given: what
    `climbpose report` prints and writes as verdicts.md, so every model that ran is judged against
    the estimator and its sub-cell reading, not only the thesis' four that Tables 1-4 hold."""
    lines: list[list[Cell]] = []
    names: list[str] = []
    for run in runs:
        if run.feed_targets:
            continue
        names.append(f"{run.name} ({run.model} {run.label})")
        lines.append([verdict(run.metrics.get(split, {}), run.metrics.get("per_keypoint", {}), split, "model", run.model)
                      for split in splits])
    return Table(name="verdicts", title="Every run against the estimator and against its maps read between cells",
                 columns=[SPLIT_LABELS[split] for split in splits], rows=names, values=lines,
                 intro=["Gains are PCK points at PCK@0.05 / 0.1 / 0.2. The estimator is the identity function (its "
                        "maps read at their argmax cell); its maps read between cells need no model, so a gain that "
                        "reading also gives is not the model's."])


def run_tables(val: dict, test: dict, per_keypoint: dict, model: str, feed_targets: bool, ood: dict | None = None,
               context: str = "", *, normaliser: str, size: int) -> list[Table]:
    """The evaluate stage's tables for one run: a section per split (validation, test and, when
    given, the held-out domain) with PCK and each row's broken / fixed keypoints beside it at every
    threshold, and per-part PCK@0.2. Each starts with what its rows and numbers are (`context`: where
    the frames come from) and a verdict line per split."""
    model_label = f"{model} (fed targets)" if feed_targets else model
    model_prefix = row_prefix("model", feed_targets)
    rows = [(IDENTITY[0], IDENTITY[1]), (model_prefix, model_label), *FILTERS]
    splits = [("val", val), ("test", test)] + ([(OOD, ood)] if ood is not None else [])
    measures = ("pck", BROKEN, FIXED)
    intro = [ROWS_SENTENCE.format(model=model_label),
             PCK_SENTENCE.format(normaliser=NORMALISER_WORDS.get(normaliser, normaliser), size=size),
             *([context] if context else [])]
    verdicts = [f"Verdict, {verdict(metrics, per_keypoint, split, model_prefix, model_label)}" for split, metrics in splits]
    values: list[list[Cell]] = []
    for _, metrics in splits:
        # The identity function is the reference: it has no broken / fixed keys, so its cells stay empty.
        values += [[_number(metrics.get(metric_key(f"{prefix}_{m}", t))) for t in THRESHOLDS for m in measures] for prefix, _ in rows]
        values.append([_number(metrics.get(metric_key("identity_thr", t))) if m == "pck" else None for t in THRESHOLDS for m in measures])
    name, title, notes = _label("results", feed_targets, f"PCK (%) of {model_label} and the baselines, and the keypoints "
                                                         f"each breaks and fixes against the identity function")
    results = Table(name=name, title=title, columns=[f"{m if m != 'pck' else 'PCK'}@{t:g}" for t in THRESHOLDS for m in measures],
                    rows=[label for _ in splits for label in [*(label for _, label in rows), THR_ROW]], values=values,
                    notes=notes + verdicts + [HARM_NOTE, f"{THR_ROW}: heatmap cells (not %), in the PCK columns."],
                    digits={THR_ROW: 2}, sections=[(SPLIT_LABELS[split], len(rows) + 1) for split, _ in splits], intro=intro)
    parts: list[list[Cell]] = [[_number(per_keypoint.get(metric_key(f"{split}_{prefix}_pck", PART_THRESHOLD, part)))
                                for split, _ in splits for prefix, _ in rows] for part, _ in kp.PARTS]
    name, title, notes = _label("per_keypoint", feed_targets,
                                f"PCK@{PART_THRESHOLD:g} (%) per body part on {', '.join(SPLIT_LABELS[x].lower() for x, _ in splits)}")
    per_part = Table(name=name, title=title, columns=[label for _ in splits for _, label in rows],
                     rows=[part for part, _ in kp.PARTS], values=parts,
                     groups=[(SPLIT_LABELS[split].lower(), len(rows)) for split, _ in splits], notes=notes,
                     intro=intro[:1] + [f"Each cell: PCK@{PART_THRESHOLD:g} of that body part's keypoints (left and right "
                                        "together), in %.", *intro[2:]])
    return [results, per_part]


def lapse_table(lapses: dict[str, dict], model_labels: dict[str, str]) -> Table:
    """What each row repairs by the length of the estimator's lapse (`climbpose.evaluate.lapses`):
    per split, the estimator's wrong keypoints at PCK@0.2 in lapses of 1-2, 3-9 and 10+ frames, how
    many of each the row fixes, and how many right ones it breaks. `lapses`: split -> row prefix ->
    LapseCounts (or its `as_dict`); `model_labels`: row prefix -> label for rows that are not baselines."""
    from climbpose.evaluate.lapses import LAPSE_BUCKETS, LAPSE_THRESHOLD, bucket_label

    labels = {**model_labels, **dict(FILTERS)}
    splits = [split for split in SPLIT_LABELS if split in lapses]
    names = [row for row in labels if any(row in lapses[split] for split in splits)]

    def field(counts, key):
        return counts[key] if isinstance(counts, dict) else getattr(counts, key)

    def share(part: int, whole: int) -> str:
        return f"{part} ({100.0 * part / whole:.1f}%)" if whole else str(part)

    # Every row of a split is scored on the same pairs, so any row's `wrong` counts are the estimator's.
    first = {split: next(iter(lapses[split].values()), None) for split in splits}
    values: list[list[Cell]] = [[str(field(first[split], "wrong")[b]) if first[split] is not None else None
                                 for split in splits for b in range(len(LAPSE_BUCKETS))],
                                [share(field(first[split], "swapped")[b], field(first[split], "wrong")[b])
                                 if first[split] is not None else None for split in splits for b in range(len(LAPSE_BUCKETS))]]
    for row in names:
        line: list[Cell] = []
        for split in splits:
            counts = lapses[split].get(row)
            line += [share(field(counts, "fixed")[b], field(counts, "wrong")[b]) if counts is not None else None
                     for b in range(len(LAPSE_BUCKETS))]
        values.append(line)
    broken_rows = [[str(field(lapses[split][row], "broken")) if row in lapses[split] else None for split in splits]
                   for row in names]
    columns = [bucket_label(b) for _ in splits for b in LAPSE_BUCKETS]
    at = f"PCK@{LAPSE_THRESHOLD:g}"
    return Table(
        name="lapses", title=f"Repairs by lapse length at {at}: of the keypoints the estimator has wrong, how many each row fixes",
        columns=columns, rows=["Estimator wrong (keypoints)", "of them, its left/right counterpart right",
                               *(labels[row] for row in names)], values=values,
        groups=[(SPLIT_LABELS[split], len(LAPSE_BUCKETS)) for split in splits],
        intro=[f"A lapse is a run of consecutive frames of one video in which the estimator (the identity function, "
               f"read at its argmax cell) has a keypoint wrong at {at}; its length is counted over the whole video. "
               "Time can only repair a lapse from neighbouring frames that are right: a lapse of a frame or two "
               "between right frames, not one that lasts for seconds.",
               "First row: the estimator's wrong scored keypoints in lapses of each length. Second: how many of those "
               "are left/right swaps, where the estimator's estimate of the keypoint's counterpart (the right wrist "
               "for the left wrist) is right. Other rows: how many of those wrong keypoints the row gets right (and "
               "the share of them)."],
        notes=[f"Keypoints the estimator has right at {at} and the row breaks: "
               + "; ".join(f"{labels[row]}: " + ", ".join(f"{SPLIT_LABELS[split].lower()} {b}" for split, b in zip(splits, line) if b)
                           for row, line in zip(names, broken_rows))])


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None
