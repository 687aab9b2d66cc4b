"""One run's whole evaluation: every row scored on validation, test and the held-out domain.

`evaluate_run` computes everything the evaluate stage writes (metrics, tables, the example
frame, the inference cost) and returns it without writing anything, so the stage can write all
of its outputs together once all of them are ready.

Rows: the finetuned model, the identity function (the estimator's maps passed through), the two
classical filters with settings chosen on validation, the estimator's maps read between cells, and
the estimator's own regressed landmarks (when its output has them: BlazePose's do). With
evaluate.feed_targets the model is fed the ground-truth heatmaps (the thesis' defect,
docs/design.md#the-known-evaluation-defect): its keys become model_feed_targets_* and every table
and picture says so.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from climbpose.data.dataset import format_split_rows, load_frame_store
from climbpose.evaluate.cost import device_name, inference_cost
from climbpose.evaluate.filters import FilterModel, choose, filter_grid
from climbpose.evaluate.ood import OOD_DIR, load_ood_store, ood_rows
from climbpose.core.contract import EVAL_SPLITS, PART_THRESHOLD, THRESHOLDS, headline_keys, metric_key
from climbpose.evaluate.pck import pair_scores
from climbpose.evaluate.lapses import LapseCounts, lapse_counts, lapse_lengths
from climbpose.evaluate.cells import window_cells
from climbpose.evaluate.rows import row_metrics, score_rows, split_cells
from climbpose.core.io import atomic_dir, write_json, write_text
from climbpose.models import Identity, build_model
from climbpose.report.example_frame import example_frame, write_png
from climbpose.report.table import Table
from climbpose.report.tables import FEED_TARGETS, THESIS_MS_PER_WINDOW, lapse_table, row_prefix, run_tables
from climbpose.data.training_windows import finetuning_windows
from climbpose.models.file import load_model, resolve_device

STORE_KEYS = ("inputs", "targets", "target_cells", "present", "landmark_cells")
BATCH = 64


@dataclass
class Evaluation:
    """What one run's evaluation produced; nothing of it is written yet."""

    scores: dict[str, dict[str, float]]  # split -> every row's flat metrics
    per_keypoint: dict[str, float]
    cost: dict[str, object]
    filter_search: list[list[object]]  # every filter setting tried on validation, with its scores
    ood_windows: str  # the held-out-domain windows scored, as split-file text
    tables: list[Table]
    example_frame: np.ndarray  # RGB
    lapses: dict[str, dict[str, dict]]  # split -> row -> repairs by lapse length (LapseCounts.as_dict)


def choose_filters(params, coordinates, rate: float) -> tuple[dict, list[list]]:
    """Each filter's best settings on validation, and every candidate's scores (a CSV's rows).

    Chosen like the finetuned model's epoch (docs/design.md#training-recipe): best validation PCK at
    the first threshold, the others breaking ties, so a flat grid does not fall to its first entry
    by accident.
    """
    p, rows, chosen = params.evaluate, [], {}
    grid = filter_grid(p.savgol_windows, p.savgol_polyorders, p.one_euro_min_cutoffs, p.one_euro_betas, p.one_euro_d_cutoff)
    for kind, specs in grid.items():
        def score(spec):
            cells = window_cells(FilterModel(spec, rate), coordinates, BATCH, params.seed)
            result = pair_scores(cells.pred, cells.gt, cells.present, THRESHOLDS, p.normaliser, params.heatmaps.size).counts().result()
            return tuple(result.pck(t) for t in THRESHOLDS)
        chosen[kind], scored = choose(specs, score)
        rows += [[kind, str(spec), *(f"{v:.4f}" for v in value), int(spec == chosen[kind])] for spec, value in scored]
        print(f"{kind}: chose {chosen[kind]} of {len(specs)} settings on validation")
    return chosen, rows


FILTER_SEARCH_HEADER = ["filter", "settings", *(f"val_{metric_key('pck', t)}" for t in THRESHOLDS), "chosen"]


def _timing_inputs(windows, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One window and a batch of `batch_size` windows (repeating when there are fewer), on the device."""
    rows = torch.arange(batch_size, device=windows.device) % len(windows)
    return windows.batch(rows[:1]).inputs, windows.batch(rows).inputs


def evaluate_run(params, model_path: str | Path = "models/finetuned.pt", preprocessed: str | Path = "data/preprocessed",
                 split_dir: str | Path = "data/split", ood_dir: str | Path = OOD_DIR) -> Evaluation:
    """Score the model file and the baselines on validation, test and the held-out domain."""
    p, h = params.evaluate, params.heatmaps
    device = resolve_device(params.train.device)
    model, _ = load_model(model_path, device)
    models = {"model": model, "identity": build_model("identity").to(device)}
    prefixes = {key: row_prefix(key, p.feed_targets) for key in models}
    model_label = f"{params.model} (fed targets)" if p.feed_targets else params.model
    rate = 1.0 / params.frame_step  # samples per video frame: experiment 3's windows skip every other frame
    store = load_frame_store(preprocessed, keys=(*STORE_KEYS, "bboxes"))
    ood = load_ood_store(ood_dir, keys=STORE_KEYS)  # before the long work: a missing test set fails at once
    ood_split = ood_rows(ood, params.split.window, params.frame_step)
    sources = {"val": (store, Path(split_dir) / "val.csv"), "test": (store, Path(split_dir) / "test.csv"),
               "ood": (ood, ood_split)}

    scores, per_keypoint, filters, search, cost, picture, lapses = {}, {}, {}, [], {}, None, {}
    lengths_of: dict[int, np.ndarray] = {}  # per store: every frame's lapse lengths, computed once

    def lengths(frames) -> np.ndarray:
        if id(frames) not in lengths_of:
            lengths_of[id(frames)] = lapse_lengths(frames, p.normaliser, h.size)
        return lengths_of[id(frames)]

    for split, (frames, rows) in sources.items():
        def windows_of(kind: str, feed_targets: bool = False):
            return finetuning_windows(frames, rows, params.split.window, h.c, h.sigma, kind, device, feed_targets=feed_targets)
        windows = {key: windows_of(net.input_kind, p.feed_targets and key == "model") for key, net in models.items()}
        # The filters smooth the estimator's argmax trajectories, the sub-cell baseline reads its peaks: never fed targets.
        windows["filters"], windows["subcells"] = windows_of("coordinates"), windows_of("subcells")
        landmarks = has_landmarks(frames)
        if split == "val":
            filters, search = choose_filters(params, windows["filters"], rate)
        nets = {prefixes["model"]: (models["model"], "model"), "identity": (models["identity"], "identity"),
                **{kind: (FilterModel(spec, rate), "filters") for kind, spec in filters.items()},
                "subcells": (Identity("subcells"), "subcells")}
        if landmarks:
            windows["landmarks"] = windows_of("landmarks")
            nets["landmarks"] = (Identity("landmarks"), "landmarks")
        cells = split_cells({prefix: (net, windows[source]) for prefix, (net, source) in nets.items()}, BATCH, params.seed)
        metrics, parts = row_metrics(score_rows(cells, "identity", THRESHOLDS, p.normaliser, h.size),
                                     full=(prefixes["model"], "identity"), part_threshold=PART_THRESHOLD)
        lapses[split] = split_lapses(cells, windows["identity"], lengths(frames), p.normaliser, h.size)
        per_keypoint.update({f"{split}_{key}": value for key, value in parts.items()})
        if split == "val":
            for spec in filters.values():
                metrics.update(spec.metrics())
        scores[split] = metrics
        print(split, {k: round(v, 2) for k, v in metrics.items() if "_pck_" in k})
        if split == "test":  # the example frame and the inference cost stay on test
            picture = example_frame(store, windows, models, params, model_label)
            if p.cost_batch_size:  # 0 skips the timing
                timed = {"model": models["model"], **{kind: nets[kind][0] for kind in filters}}
                timing = {"model": windows["model"], **{kind: windows["filters"] for kind in filters}}
                cost = inference_cost(timed, {key: _timing_inputs(data, p.cost_batch_size) for key, data in timing.items()}, device)
    cost = {"model": params.model, "device": device_name(device), "batch_size": p.cost_batch_size,
            FEED_TARGETS: int(p.feed_targets), **cost, "thesis_ms_per_window": THESIS_MS_PER_WINDOW.get(params.model)}
    tables = run_tables(scores["val"], scores["test"], per_keypoint, params.model, p.feed_targets, ood=scores["ood"],
                        context=evaluation_context(params, store.names, ood.names), normaliser=p.normaliser, size=h.size)
    tables.append(lapse_table(lapses, {prefixes["model"]: model_label}))
    return Evaluation(scores, per_keypoint, cost, search, format_split_rows(ood.names, ood_split), tables, picture,
                      {split: {row: counts.as_dict() for row, counts in rows.items()} for split, rows in lapses.items()})


def split_lapses(cells, identity_windows, lengths: np.ndarray, normaliser: str, size: int) -> dict[str, LapseCounts]:
    """Every row's repairs by lapse length on one split (`climbpose.evaluate.lapses`): the lapse of
    each scored pair is looked up at its frame of the source store."""
    frames = identity_windows.source_frames[identity_windows.windows.cpu().numpy()].reshape(-1)
    reference = cells["identity"]
    return lapse_counts(lengths[frames], reference.pred, {row: c.pred for row, c in cells.items() if row != "identity"},
                        reference.gt, reference.present, normaliser, size)


def has_landmarks(store) -> bool:
    """Whether the estimator output behind a store had regressed landmarks (BlazePose's do; a source
    without them, such as ClimbAlong's delivery, leaves `landmark_cells` all NaN and gets no row)."""
    return bool(np.isfinite(store.arrays["landmark_cells"]).any())


def evaluation_context(params, names: tuple[str, ...], ood_names: tuple[str, ...]) -> str:
    """The sentence under each run table that says where its frames come from."""
    if params.split.by == "frames":
        where = (f"from the same {len(names)} videos as the training windows, in blocks of {params.split.block} frames "
                 "that no training window touches (split.by: frames)")
    else:
        where = f"from videos no training window comes from ({len(names)} videos in all; split.by: videos)"
    return (f"Validation and test windows come {where}; the held-out domain's {len(ood_names)} videos come from a "
            "rendering domain no training video comes from.")


def headline(scores: dict[str, float], model_prefix: str = "model") -> dict[str, float]:
    """The few numbers `dvc metrics show` prints per split (`contract.headline_keys`)."""
    return {key: scores[key] for key in headline_keys(model_prefix) if key in scores}


def write_evaluation(result: Evaluation, params, metrics_dir: str | Path = "metrics",
                     reports: str | Path = "reports") -> None:
    """Write every output of the evaluate stage (see stages/evaluate.py); the run's report folder is
    replaced whole, so a feed_targets run leaves no honest-looking file behind."""
    model_prefix = row_prefix("model", params.evaluate.feed_targets)
    search = io.StringIO()
    csv.writer(search, lineterminator="\n").writerows([FILTER_SEARCH_HEADER, *result.filter_search])
    with atomic_dir(Path(reports) / "evaluation") as folder:
        write_json(folder / "scores.json", {**result.scores, "per_keypoint": result.per_keypoint})
        write_json(folder / "inference_cost.json", result.cost)
        write_json(folder / "lapses.json", result.lapses)
        write_text(folder / "filter_search.csv", search.getvalue())
        write_text(folder / "ood_windows.csv", result.ood_windows)
        for table in result.tables:
            table.write(folder, formats=("md", "csv"))
    write_png(Path(reports) / "example_frame.png", result.example_frame)
    for split in EVAL_SPLITS:
        write_json(Path(metrics_dir) / f"{split}.json", headline(result.scores[split], model_prefix))
