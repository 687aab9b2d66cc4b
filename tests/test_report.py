"""The report across runs: collecting runs, table assembly (with missing cells), labels for the
thesis' feed_targets defect, the file formats, and Figure 1, all from small fake experiment results."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from climbpose.core import keypoints as kp
from climbpose.core.contract import metric_key
from climbpose.report.experiments import Run, load_history, runs_from_exp_show
from climbpose.report.figures import finetuning_figure
from climbpose.core.model_registry import thesis_models
from climbpose.report.tables import per_keypoint_table, pck_table, row_prefix, run_tables, select_runs, verdict

ROOT = Path(__file__).resolve().parents[1]
MODEL_INDEX = {name: i + 1 for i, name in enumerate(thesis_models())}
THRESHOLDS = (0.05, 0.1, 0.2)


def fake_run(model: str, e: int, s: int, name: str = "", feed_targets: bool = False, offset: float = 0.0,
             ood: bool = False) -> Run:
    """A run whose numbers encode where they belong: model PCK = 10 x model index + e + t, identity
    = e + t (the same for every run of an experiment), filters identity + 0.5 / + 0.25; broken =
    PCK / 10 and fixed = PCK / 5 of the same row; with `ood`, metrics/ood.json holds test's + 100."""
    test, val, per_keypoint = {}, {}, {}
    prefix = row_prefix("model", feed_targets)
    for t in THRESHOLDS:
        base = e + t
        for row, value in ((prefix, 10 * MODEL_INDEX.get(model, 0) + base + offset), ("savgol", base + 0.5), ("one_euro", base + 0.25)):
            test[metric_key(f"{row}_pck", t)] = value
            test[metric_key(f"{row}_broken", t)] = value / 10
            test[metric_key(f"{row}_fixed", t)] = value / 5
        test[metric_key("identity_pck", t)] = base
        test[metric_key("identity_thr", t)] = 16 * t
    for i, (part, _) in enumerate(kp.PARTS):
        per_keypoint[metric_key(f"test_{prefix}_pck", 0.2, part)] = 10 * MODEL_INDEX.get(model, 0) + e + i / 100
        per_keypoint[metric_key("test_identity_pck", 0.2, part)] = e + i / 100
    val.update({"savgol_window_length": 5.0, "savgol_polyorder": 2.0, "identity_pck_005": 19.0 + e,
                "savgol_pck_005": 20.0, "savgol_broken_005": 1.5, "savgol_fixed_005": 2.5})
    params = {"model": model, "experiment": e, "s": s, "evaluate": {"feed_targets": feed_targets}}
    metrics = {"test": test, "val": val, "per_keypoint": per_keypoint}
    if ood:
        metrics["ood"] = {key: value + 100 for key, value in test.items()}
    return Run(name=name or f"{model}-{s}.{e}", rev="workspace", params=params, metrics=metrics)


def column(table, group: str, e: int) -> int:
    names = table.column_names()
    return names.index(f"{group} e{e}")


PCK_ROWS = ["Identity function", "Conv3D", "DeciWatch", "bi-ConvLSTM sum", "bi-ConvLSTM concat", "Savitzky-Golay", "One-Euro",
            "Estimator, sub-cell peaks", "Estimator, regressed landmarks", "Mean threshold distance"]
HARM_ROWS = PCK_ROWS[1:-1]


def test_pck_table_places_every_cell_and_leaves_missing_runs_empty():
    runs = [fake_run("conv3d", 1, 1), fake_run("deciwatch", 2, 1), fake_run("bi_convlstm_sum", 3, 2)]
    table = pck_table(runs, s=1, number=1)
    assert table.name == "table1_pck_s1" and len(table.columns) == 18  # (test, ood) x 3 thresholds x 3 experiments
    assert table.rows == PCK_ROWS + HARM_ROWS + HARM_ROWS
    assert table.sections == [("PCK (%)", 10), ("Broken (%)", 8), ("Fixed (%)", 8)]
    c11, c12, c13 = (column(table, "test @0.05", e) for e in (1, 2, 3))
    assert table.values[1][c11] == pytest.approx(11.05)  # conv3d, s=1 e=1
    assert table.values[2][c12] == pytest.approx(22.05)  # deciwatch, s=1 e=2
    assert table.values[1][c12] is None and table.values[3][c13] is None  # no such run (the s=2 one is elsewhere)
    assert table.values[0][c11] == pytest.approx(1.05) and table.values[5][c12] == pytest.approx(2.55)
    assert table.values[0][c13] is None  # no run at all in column 1.3: even the identity cell is empty
    assert table.text(9, column(table, "test @0.2", 1)) == "3.20"  # threshold distance, two decimals
    # Broken / fixed of the same rows and columns: PCK / 10 and / 5; the filters' from any run of the column.
    assert table.values[10][c11] == pytest.approx(1.105) and table.values[18 + 1][c12] == pytest.approx(4.41)
    assert table.values[10 + 4][c11] == pytest.approx(0.155) and table.values[18 + 5][c11] == pytest.approx(0.26)
    assert table.values[10][c12] is None and table.values[18][c13] is None
    assert all(v is None for row in table.values for v in row[9:])  # no run has ood metrics: its columns are blank
    markdown = table.to_markdown()
    assert "| Conv3D | 11.1 |" in markdown  # 11.05 rounds half-even in formatting
    assert markdown.index("### PCK (%)") < markdown.index("### Broken (%)") < markdown.index("### Fixed (%)")
    rows = list(csv.reader(line for line in io.StringIO(table.to_csv()) if not line.startswith("#")))
    assert rows[0][:3] == ["section", "row", "test @0.05 e1"] and rows[4][2:] == [""] * 18  # bi-ConvLSTM sum: empty at s=1
    assert rows[11][:2] == ["Broken (%)", "Conv3D"] and rows[11][2] == "1.1"
    notes = " ".join(table.notes)
    assert "Savitzky-Golay settings chosen on validation PCK@0.05: 1.1: window_length=5, polyorder=2;" in notes
    assert "broken" not in notes.split("settings chosen")[1].split(".")[0]  # scores are not settings
    assert "fixed - broken" in notes
    other = pck_table(runs, s=2, number=2)
    assert other.values[3][column(other, "test @0.05", 3)] == pytest.approx(33.05)


def test_pck_table_has_ood_columns_beside_test_and_blanks_for_runs_without_it():
    runs = [fake_run("conv3d", 1, 1, ood=True), fake_run("deciwatch", 1, 1)]  # deciwatch: an older run, no ood
    table = pck_table(runs, s=1, number=1)
    test, ood = column(table, "test @0.1", 1), column(table, "ood @0.1", 1)
    assert table.values[1][test] == pytest.approx(11.1) and table.values[1][ood] == pytest.approx(111.1)
    assert table.values[2][test] == pytest.approx(21.1) and table.values[2][ood] is None
    assert table.values[0][ood] == pytest.approx(101.1)  # identity from the run that has it
    assert table.values[9][ood] == pytest.approx(101.6)  # threshold distance: 16 x 0.1 + 100
    assert table.values[10][ood] == pytest.approx(11.1 / 10 + 100) and table.values[18][ood] == pytest.approx(11.1 / 5 + 100)
    assert table.values[11][ood] is None
    assert not any("differ between runs" in note for note in table.notes)


def test_table_with_no_runs_at_all_is_empty_not_an_error():
    for table in (pck_table([], 1, 1), per_keypoint_table([], 2, 4)):
        assert all(table.text(r, c) == "" for r in range(len(table.rows)) for c in range(len(table.columns)))
        assert table.to_latex().count(r"\\") == len(table.rows) + 1 + bool(table.groups) + len(table.sections)


def test_the_first_run_of_a_cell_wins_and_the_others_are_noted():
    runs = [fake_run("conv3d", 1, 1, name="newest", offset=0.5), fake_run("conv3d", 1, 1, name="older")]
    chosen, notes = select_runs(runs)
    assert chosen[("conv3d", 1, 1)].name == "newest"
    assert notes and "newest" in notes[0] and "older" in notes[0]
    table = pck_table(runs, 1, 1)
    assert table.values[1][0] == pytest.approx(11.55)


def test_baseline_rows_note_when_runs_of_a_column_disagree():
    a, b = fake_run("conv3d", 1, 1), fake_run("deciwatch", 1, 1)
    b.metrics["test"]["identity_pck_005"] = 99.0
    table = pck_table([a, b], 1, 1)
    assert table.values[0][0] == pytest.approx(1.05)
    assert any("1 identity/filter values differ between runs conv3d-1.1, deciwatch-1.1" in note and "identity_pck_005" in note
               for note in table.notes)


def test_feed_targets_runs_never_enter_honest_tables_and_are_labelled():
    honest = fake_run("conv3d", 1, 1)
    defect = fake_run("deciwatch", 1, 1, feed_targets=True)
    defect.metrics["test"]["model_pck_005"] = 99.9  # even a stray honest-looking key is not read
    table = pck_table([honest, defect], 1, 1)
    assert table.values[2][0] is None and "FEED_TARGETS" not in table.to_markdown()
    labelled = pck_table([honest, defect], 1, 1, feed_targets=True)
    assert labelled.name == "table1_pck_s1_feed_targets"
    assert labelled.values[2][0] == pytest.approx(21.05) and labelled.values[1][0] is None
    for text in (labelled.to_markdown(), labelled.to_csv(), labelled.to_latex()):
        assert "FEED_TARGETS" in text.splitlines()[0] and "the-known-evaluation-defect" in text
    parts = per_keypoint_table([honest, defect], 1, 3, feed_targets=True)
    assert parts.name.endswith("_feed_targets") and parts.title.startswith("[FEED_TARGETS]")


def test_per_keypoint_table_has_13_part_rows_by_row_and_experiment():
    runs = [fake_run("conv3d", 2, 1), fake_run("bi_convlstm_concat", 3, 1)]
    table = per_keypoint_table(runs, 1, 3)
    assert table.name == "table3_per_keypoint_s1" and len(table.rows) == 13 and len(table.columns) == 27
    assert table.rows[6] == "Index finger"
    assert table.values[6][column(table, "Conv3D", 2)] == pytest.approx(12.06)
    assert table.values[12][column(table, "bi-ConvLSTM concat", 3)] == pytest.approx(43.12)
    assert table.values[0][column(table, "Identity function", 2)] == pytest.approx(2.0)
    assert table.values[0][column(table, "DeciWatch", 2)] is None


def test_latex_is_escaped_and_grouped():
    tex = pck_table([fake_run("conv3d", 1, 1)], 1, 1).to_latex()
    assert r"\multicolumn{3}{c}{test @0.05}" in tex and r"\cmidrule(lr){2-4}" in tex and r"\cmidrule(lr){17-19}" in tex
    assert r"\multicolumn{19}{l}{\textit{Broken (\%)}} \\" in tex
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))  # comments may keep raw text
    assert r"\begin{tabular}{l" + "r" * 18 + "}" in body and "_" not in body.replace(r"\_", "") and r"(\%)" in body


def test_run_tables_of_the_evaluate_stage_say_feed_targets_in_name_and_header():
    val = {"identity_pck_005": 20.0, "model_feed_targets_pck_005": 95.0, "savgol_pck_005": 21.0}
    results, parts = run_tables(val, val, {}, "conv3d", feed_targets=True, normaliser="torso", size=56)
    assert results.name == "results_feed_targets" and parts.name == "per_keypoint_feed_targets"
    assert "conv3d (fed targets)" in results.rows and results.values[1][0] == 95.0
    assert results.to_csv().startswith("# [FEED_TARGETS]")
    honest, _ = run_tables({"model_pck_005": 30.0}, {}, {}, "conv3d", feed_targets=False, normaliser="torso", size=56)
    assert honest.name == "results" and honest.values[1][0] == 30.0 and honest.values[5 + 1][0] is None
    assert [label for label, _ in honest.sections] == ["Validation", "Test"]


def test_run_tables_put_broken_and_fixed_beside_pck_and_add_the_held_out_domain():
    def split(base: float) -> dict:
        metrics = {}
        for i, t in enumerate(THRESHOLDS):
            metrics[metric_key("identity_pck", t)] = base + i
            metrics[metric_key("identity_thr", t)] = 0.8 * 2 ** i
            for row, extra in (("model", 5.0), ("savgol", 1.0), ("one_euro", 0.5), ("subcells", 2.0)):
                metrics[metric_key(f"{row}_pck", t)] = base + i + extra
                metrics[metric_key(f"{row}_broken", t)] = extra / 2
                metrics[metric_key(f"{row}_fixed", t)] = extra * 1.5
        return metrics
    per_keypoint = {metric_key(f"{s}_model_pck", 0.2, part): 50.0 + n for n, s in enumerate(("val", "test", "ood")) for part, _ in kp.PARTS}
    results, parts = run_tables(split(10), split(20), per_keypoint, "conv3d", feed_targets=False, ood=split(30),
                                    normaliser="torso", size=56)
    assert results.columns == ["PCK@0.05", "broken@0.05", "fixed@0.05", "PCK@0.1", "broken@0.1", "fixed@0.1",
                               "PCK@0.2", "broken@0.2", "fixed@0.2"]
    assert results.sections == [("Validation", 7), ("Test", 7), ("Held-out domain (ood)", 7)]
    assert results.rows[14:] == ["Identity function", "conv3d", "Savitzky-Golay", "One-Euro", "Estimator, sub-cell peaks",
                                 "Estimator, regressed landmarks", "Mean threshold distance"]
    assert results.values[15] == [35.0, 2.5, 7.5, 36.0, 2.5, 7.5, 37.0, 2.5, 7.5]  # ood, model
    assert results.values[18] == [32.0, 1.0, 3.0, 33.0, 1.0, 3.0, 34.0, 1.0, 3.0]  # ood, the sub-cell baseline
    assert results.values[19] == [None] * 9  # no landmarks in these metrics: an empty row, not an error
    assert results.values[14][:3] == [30.0, None, None]  # the identity function is the reference
    assert results.values[20] == [0.8, None, None, 1.6, None, None, 3.2, None, None]
    markdown = results.to_markdown()
    assert "### Held-out domain (ood)" in markdown and "| conv3d | 35.0 | 2.5 | 7.5 |" in markdown
    assert "fixed - broken" in markdown
    assert [label for label, _ in parts.groups] == ["validation", "test", "held-out domain (ood)"]
    assert parts.values[0][parts.column_names().index("held-out domain (ood) conv3d")] == 52.0


def test_verdict_gives_gains_over_the_estimator_and_its_sub_cell_reading():
    def metrics(model: tuple[float, ...], subcells: tuple[float, ...]) -> dict:
        out = {}
        for t, m, sub, ident in zip(THRESHOLDS, model, subcells, (20.0, 60.0, 80.0)):
            out.update({metric_key("model_pck", t): m, metric_key("subcells_pck", t): sub, metric_key("identity_pck", t): ident,
                        metric_key("one_euro_pck", t): ident})
        return out

    learnt = verdict(metrics((35.0, 64.0, 81.0), (30.0, 62.0, 80.6)), {}, "test", "model", "conv3d_depthwise")
    assert learnt == ("Test: conv3d_depthwise PCK@0.05/0.1/0.2 +15.0 / +4.0 / +1.0 points against the estimator; "
                      "+5.0 / +2.0 / +0.4 against its maps read between cells (no model).")
    # Within half a point of the free reading everywhere (or below it): said so, whatever the gain over the argmax.
    nothing = verdict(metrics((30.4, 61.0, 81.0), (30.0, 62.0, 80.6)), {}, "ood", "model", "lapse_selector")
    assert nothing == ("Held-out domain (ood): lapse_selector PCK@0.05/0.1/0.2 +10.4 / +1.0 / +1.0 points against the "
                       "estimator; +0.4 / -1.0 / +0.4 against its maps read between cells (no model): nothing learnt "
                       "beyond that reading (under 0.5 points above it at every threshold).")
    below = verdict(metrics((19.0, 61.0, 80.0), (30.0, 62.0, 80.6)), {}, "test", "model", "m")
    assert "-1.0 / +1.0 / 0.0 points against the estimator" in below and "loses to One-Euro at PCK@0.05." in below


def test_the_report_judges_every_run_with_the_default_model_first(tmp_path):
    from climbpose.report.command import default_first
    from climbpose.report.tables import run_verdicts

    runs = [fake_run("deciwatch", 1, 1, ood=True), fake_run("conv3d_depthwise", 1, 1, ood=True),
            fake_run("conv3d", 1, 1, feed_targets=True)]
    (tmp_path / "params.yaml").write_text("model: conv3d_depthwise\n")
    ordered = default_first(runs, tmp_path / "params.yaml")
    assert [run.model for run in ordered] == ["conv3d_depthwise", "deciwatch", "conv3d"]
    table = run_verdicts(ordered)
    assert table.rows == ["conv3d_depthwise-1.1 (conv3d_depthwise 1.1)", "deciwatch-1.1 (deciwatch 1.1)"]  # not the defect run
    # deciwatch (model index 2): 20 points above the identity function at every threshold, no sub-cell row here.
    assert table.values[1][0] == "Test: deciwatch PCK@0.05/0.1/0.2 +20.0 / +20.0 / +20.0 points against the estimator."
    assert table.values[1][1].startswith("Held-out domain (ood): deciwatch")
    assert default_first(runs, tmp_path / "missing.yaml") == runs


def exp_show_json() -> list[dict]:
    def state(rev, params, metrics, timestamp=None, name=None):
        return {"rev": rev, "name": name, "error": None, "experiments": None,
                "data": {"rev": rev, "timestamp": timestamp, "params": {"params.yaml": {"data": params}},
                         "metrics": {path: {"data": data} for path, data in metrics.items()}}}
    p = {"model": "conv3d", "experiment": 1, "s": 1, "evaluate": {"feed_targets": False}}
    head = state("a" * 40, p, {"metrics/test.json": {"model_pck_005": 30.0}}, "2024-01-01T00:00:00", "main")
    head["experiments"] = [
        {"name": "old-exp", "executor": None, "revs": [state("b" * 40, {**p, "model": "deciwatch"}, {"metrics/test.json": {"model_pck_005": 31.0}}, "2024-01-02T00:00:00", "old-exp")]},
        {"name": "new-exp", "executor": None, "revs": [state("c" * 40, {**p, "model": "deciwatch"}, {"metrics/test.json": {"model_pck_005": 32.0}}, "2024-01-03T00:00:00", "new-exp")]},
        {"name": "queued", "executor": {"state": "queued"}, "revs": [{"rev": "d" * 40, "name": "queued", "data": None, "error": None}]},
        {"name": "failed", "executor": {"state": "failed"}, "revs": [state("e" * 40, {**p, "s": 2}, {}, "2024-01-04T00:00:00", "failed")]},
    ]
    workspace = state("workspace", p, {"metrics/test.json": {"model_pck_005": 30.0}})  # same as HEAD
    return [workspace, head]


def test_runs_from_exp_show_orders_fresh_first_and_drops_a_workspace_equal_to_a_commit():
    runs = runs_from_exp_show(exp_show_json())
    assert [r.name for r in runs] == ["failed", "new-exp", "old-exp", "main"]
    assert runs[0].metrics == {} and runs[1].value("test", "model_pck_005") == 32.0
    table = pck_table(runs, 1, 1)
    assert table.values[2][0] == 32.0 and table.values[1][0] == 30.0  # deciwatch from new-exp; conv3d from HEAD
    changed = exp_show_json()
    changed[0]["data"]["metrics"]["metrics/test.json"]["data"]["model_pck_005"] = 40.0
    assert runs_from_exp_show(changed)[0].name == "workspace"


def write_history(root: Path, lr_reduced_at: int = 3) -> None:
    folder = root / "dvclive/finetune/plots/metrics"
    folder.mkdir(parents=True)
    for key, values in {"train_loss": {e: 1.0 / e for e in range(1, 6)}, "val_loss": {e: 1.2 / (e + 1) for e in range(6)},
                        "val_pck_005": {e: 20.0 + e for e in range(6)}, "lr_reduced": {e: int(e == lr_reduced_at) for e in range(1, 6)}}.items():
        (folder / f"{key}.tsv").write_text(f"timestamp\tstep\t{key}\n" + "".join(f"0\t{e}\t{v}\n" for e, v in values.items()))


def test_history_and_figure_from_the_workspace(tmp_path):
    write_history(tmp_path)
    history = load_history(tmp_path, fake_run("conv3d", 1, 1))
    assert history["train_loss"][1] == 1.0 and 0 not in history["train_loss"] and history["val_pck_005"][0] == 20.0
    assert [e for e, flag in history["lr_reduced"].items() if flag] == [3]
    paths = [tmp_path / "figure.png", tmp_path / "figure.pdf"]
    # conv3d has two runs, the other three models none: their panels say so instead of failing.
    finetuning_figure([(fake_run("conv3d", 1, 1), history), (fake_run("conv3d", 3, 2), history)], paths)
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"
    # One row of panels per model (13 x 3 inches each at 120 dpi): the thesis' four here, and a
    # fifth, first, for another model that ran.
    assert png_size(paths[0]) == (1560, 4 * 360)
    finetuning_figure([(fake_run("conv3d_depthwise", 1, 1), history), (fake_run("conv3d", 1, 1), history)], paths[:1])
    assert png_size(paths[0]) == (1560, 5 * 360)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header chunk."""
    header = path.read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def test_report_command_writes_every_table_and_the_figure(tmp_path):
    source = tmp_path / "exp_show.json"
    entries = exp_show_json()
    defect = json.loads(json.dumps(entries[1]["experiments"][1]))
    defect["name"] = "defect"
    defect["revs"][0]["data"]["params"]["params.yaml"]["data"]["evaluate"]["feed_targets"] = True
    entries[1]["experiments"].append(defect)
    source.write_text(json.dumps(entries))
    done = subprocess.run([sys.executable, "-m", "climbpose", "report", "--from-json", str(source), "--out", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    for stem in ("table1_pck_s1", "table2_pck_s2", "table3_per_keypoint_s1", "table4_per_keypoint_s2", "inference_cost",
                 "table1_pck_s1_feed_targets", "table4_per_keypoint_s2_feed_targets"):
        assert {f"{stem}.md", f"{stem}.csv", f"{stem}.tex"} <= set(names), stem
    assert {"figure1_finetuning.png", "figure1_finetuning.pdf", "runs.csv"} <= set(names)
    assert "32.0" in (tmp_path / "out/table1_pck_s1.md").read_text()
    assert "has_ood_metrics" in (tmp_path / "out/runs.csv").read_text()


def test_report_outside_a_project_is_one_line_and_version_is_the_package_s(tmp_path):
    import climbpose

    done = subprocess.run([sys.executable, "-m", "climbpose", "report"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("climbpose report: error: no dvc.yaml here")
    assert not (tmp_path / "reports").exists()
    version = subprocess.run([sys.executable, "-m", "climbpose", "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"climbpose {climbpose.__version__}"


def test_full_scores_are_read_from_each_runs_commit(tmp_path):
    from climbpose.report.experiments import SCORES_FILE, with_scores

    git = lambda *args: subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    git("init", "-q")
    scores = tmp_path / SCORES_FILE
    scores.parent.mkdir(parents=True)
    scores.write_text(json.dumps({"test": {"model_pck_005": 40.0, "savgol_pck_005": 33.0},
                                  "per_keypoint": {"test_model_pck_020_nose": 90.0}}))
    git("add", "-A")
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "run")
    rev = git("rev-parse", "HEAD").strip()
    scores.write_text(json.dumps({"test": {"savgol_pck_005": 1.0}}))  # the working tree moved on
    run = with_scores(tmp_path, Run("exp", rev, {"model": "conv3d"}, {"test": {"model_pck_005": 40.0}}))
    assert run.value("test", "savgol_pck_005") == 33.0 and run.value("test", "model_pck_005") == 40.0
    assert run.value("per_keypoint", "test_model_pck_020_nose") == 90.0
    assert run.value("cost", "model_windows_per_s") is None  # no cost file at that commit: left empty
    workspace = with_scores(tmp_path, Run("workspace", "workspace", {"model": "conv3d"}))
    assert workspace.value("test", "savgol_pck_005") == 1.0


def test_every_model_that_ran_has_rows_the_first_run_s_first():
    from climbpose.report.tables import cost_table

    runs = [fake_run("conv3d_depthwise", 1, 1, offset=50.0), fake_run("conv3d", 1, 1), fake_run("smoothnet", 1, 1, offset=60.0)]
    table = pck_table(runs, 1, 1)
    labels = ["Depthwise Conv3D", "SmoothNet", "Conv3D", "DeciWatch", "bi-ConvLSTM sum", "bi-ConvLSTM concat"]
    assert table.rows[:7] == ["Identity function", *labels]
    assert [table.values[row][0] for row in (1, 2, 3, 4)] == pytest.approx([51.05, 61.05, 11.05, None], nan_ok=True)
    # The broken and fixed sections hold the same model rows, then the filters.
    broken = table.rows.index("Depthwise Conv3D", 7)
    assert table.values[broken][0] == pytest.approx(5.105)
    assert per_keypoint_table(runs, 1, 3).groups[1:4] == [(labels[0], 3), (labels[1], 3), (labels[2], 3)]
    assert cost_table(runs).rows == labels
