"""Stage evaluate: PCK of the finetuned model, the identity function and two classical filters on
validation and test, the run's tables, an example frame, and the inference cost on this device.

metrics/{val,test,per_keypoint}.json hold only deterministic numbers (identical for identical params
on the CPU); wall times go to reports/inference_cost.json. With evaluate.feed_targets the model is
fed the ground-truth heatmaps (the thesis' defect, SPEC 1.8): its keys become model_feed_targets_*
and every table and picture says so.
"""

from __future__ import annotations

import csv
import io
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from climbpose.config import load_params
from climbpose.data.dataset import load_frame_store
from climbpose.data.sources.finetuning import frame_image
from climbpose.evaluate import metric_key
from climbpose.evaluate.filters import FilterModel, choose, filter_grid
from climbpose.heatmaps import cells_to_image
from climbpose.io import atomic_path, write_json, write_text
from climbpose.models import build_model
from climbpose.report.overlay import compare_on_frame
from climbpose.report.tables import FEED_TARGETS, THESIS_MS_PER_WINDOW, row_prefix, run_tables
from climbpose.train.data import finetuning_windows
from climbpose.train.loop import evaluate_windows, predicted_cells
from climbpose.train.session import load_model, resolve_device

RUN_REPORTS = Path("reports/evaluation")
GREEN, RED, BLUE = (40, 220, 40), (235, 40, 40), (60, 140, 255)
BATCH = 64
# Filters are chosen like the finetuned model's epoch (SPEC 1.5): best validation PCK@0.05, with
# PCK@0.1 and @0.2 breaking ties, so a flat grid does not fall to its first entry by accident.
SELECT_THRESHOLDS = (0.05, 0.1, 0.2)


def save_example_frame(store, windows_by_model: dict, models: dict, params, model_label: str, path: Path) -> None:
    """The middle frame of the middle test window: ground truth, estimator and model overlaid."""
    test = windows_by_model["identity"]
    window = len(test) // 2
    flat = int(test.source_frames[int(test.windows[window, params.split.window // 2])])
    video = int(np.searchsorted(store.offsets, flat, side="right") - 1)
    name, index = store.names[video], flat - int(store.offsets[video])
    bbox = store.arrays["bboxes"][flat]
    # Ground truth from the preprocessed targets (the same for every data source), in pixels.
    truth = cells_to_image(store.arrays["target_cells"][flat][None], bbox[None], params.heatmaps.size)[0].numpy()
    image = frame_image(params.data, name, index)
    if image is None:  # a source without images (climbalong): draw on a dark canvas around the box
        x2, y2 = bbox[2:].astype(int)
        image = np.full((max(y2 + 20, 64), max(x2 + 20, 64), 3), 40, np.uint8)
    skeletons = [("ground truth", truth, store.arrays["present"][flat], GREEN)]
    for label, key, color in (("estimator", "identity", RED), (model_label, "model", BLUE)):
        batch = windows_by_model[key].batch(torch.tensor([window]))
        with torch.no_grad():
            cells = predicted_cells(models[key], models[key](batch.inputs))[0, params.split.window // 2]
        skeletons.append((label, cells_to_image(cells.cpu()[None], bbox[None], params.heatmaps.size)[0].numpy(), None, color))
    caption = f"{name} frame {index}" + (" FEED_TARGETS" if params.evaluate.feed_targets else "")
    image = compare_on_frame(image, skeletons, bbox, caption=caption)
    with atomic_path(path, suffix=".png") as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def choose_filters(params, coordinates, rate: float) -> tuple[dict, list[list]]:
    """Each filter's best settings on validation, and every candidate's scores (a CSV's rows)."""
    p, rows, chosen = params.evaluate, [], {}
    grid = filter_grid(p.savgol_windows, p.savgol_polyorders, p.one_euro_min_cutoffs, p.one_euro_betas, p.one_euro_d_cutoff)
    for kind, specs in grid.items():
        def score(spec):
            _, result = evaluate_windows(FilterModel(spec, rate), coordinates, BATCH, params.seed, params.heatmaps.size,
                                         thresholds=SELECT_THRESHOLDS, normaliser=p.normaliser)
            return tuple(result.pck(t) for t in SELECT_THRESHOLDS)
        chosen[kind], scored = choose(specs, score)
        rows += [[kind, str(spec), *(f"{v:.4f}" for v in value), int(spec == chosen[kind])] for spec, value in scored]
        print(f"{kind}: chose {chosen[kind]} of {len(specs)} settings on validation")
    return chosen, rows


def _median_seconds(call, budget_s: float, min_repeats: int = 3, max_repeats: int = 50) -> float:
    """Median wall time of `call` after one warm-up, repeated until the budget (at least min_repeats)."""
    call()
    times, started = [], time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - started < budget_s):
        begin = time.perf_counter()
        call()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu} ({torch.get_num_threads()} threads)"


@torch.no_grad()
def inference_cost(nets: dict, windows: dict, device: torch.device, batch_size: int) -> dict:
    """Forward-pass time per window at batch 1 (ms) and throughput at `batch_size` (windows/s):
    inputs already on the device, no gradients, the GPU synchronised before each clock read."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    cost = {}
    for key, net in nets.items():
        data = windows[key]
        single = data.batch(torch.tensor([0], device=data.device)).inputs
        large = data.batch(torch.arange(batch_size, device=data.device) % len(data)).inputs

        def run(x):
            net(x)
            sync()
        # Short budgets: this runs in every evaluate; a slow model on a CPU gets its minimum repeats.
        cost[f"{key}_ms_per_window_b1"] = 1000 * _median_seconds(lambda: run(single), budget_s=1.0, min_repeats=5)
        cost[f"{key}_windows_per_s"] = batch_size / _median_seconds(lambda: run(large), budget_s=2.0, min_repeats=2, max_repeats=10)
    return cost


def main() -> None:
    params = load_params()
    p, h = params.evaluate, params.heatmaps
    device = resolve_device(params.train.device)
    model, _ = load_model("models/finetuned.pt", device)
    models = {"model": model, "identity": build_model("identity").to(device)}
    prefixes = {key: row_prefix(key, p.feed_targets) for key in models}
    model_label = f"{params.model} (fed targets)" if p.feed_targets else params.model
    rate = 1.0 / params.frame_step  # samples per video frame: experiment 3's windows skip every other frame
    store = load_frame_store("data/preprocessed", keys=("inputs", "targets", "target_cells", "present", "bboxes"))
    metrics_by_split, per_keypoint, filters, search = {}, {}, {}, []
    for split in ("val", "test"):
        metrics, windows = {}, {}
        csv_path = f"data/split/{split}.csv"
        for key, net in models.items():
            windows[key] = finetuning_windows(store, csv_path, params.split.window, h.c, h.sigma, net.input_kind, device,
                                              feed_targets=p.feed_targets and key == "model")
        # The filters smooth the estimator's argmax trajectories: never fed targets.
        windows["filters"] = finetuning_windows(store, csv_path, params.split.window, h.c, h.sigma, "coordinates", device)
        if split == "val":
            filters, search = choose_filters(params, windows["filters"], rate)
        nets = {prefixes["model"]: (models["model"], "model"), "identity": (models["identity"], "identity"),
                **{kind: (FilterModel(spec, rate), "filters") for kind, spec in filters.items()}}
        for prefix, (net, source) in nets.items():
            _, result = evaluate_windows(net, windows[source], BATCH, params.seed, h.size, thresholds=p.thresholds, normaliser=p.normaliser)
            # Threshold distances and counts depend on the ground truth only: the filters repeat none of them.
            keep = result.metrics if source != "filters" else {k: v for k, v in result.metrics.items() if k.startswith("pck_")}
            metrics.update({f"{prefix}_{name}": value for name, value in keep.items()})
            per_keypoint.update({f"{split}_{prefix}_{name}": value for name, value in result.per_part.items()
                                 if name.startswith(metric_key("pck", 0.2))})
        if split == "val":
            for spec in filters.values():
                metrics.update(spec.metrics())
        metrics_by_split[split] = metrics
        write_json(f"metrics/{split}.json", metrics)
        print(split, {k: round(v, 2) for k, v in metrics.items()})
        if split == "test":
            save_example_frame(store, windows, models, params, model_label, Path("reports/example_frame.png"))
            cost = {}
            if p.cost_batch_size:  # 0 skips the timing; the file still exists, as DVC expects
                timed = {"model": models["model"], **{kind: nets[kind][0] for kind in filters}}
                cost = inference_cost(timed, {"model": windows["model"], **{kind: windows["filters"] for kind in filters}},
                                      device, p.cost_batch_size)
                print("inference cost", {k: round(v, 3) for k, v in cost.items()})
            write_json("reports/inference_cost.json", {
                "model": params.model, "device": device_name(device), "batch_size": p.cost_batch_size,
                FEED_TARGETS: int(p.feed_targets), **cost, "thesis_ms_per_window": THESIS_MS_PER_WINDOW.get(params.model)})
    write_json("metrics/per_keypoint.json", per_keypoint)

    # The run's own tables; reports/evaluation is rewritten whole, so a feed_targets run leaves no honest-looking file behind.
    for old in RUN_REPORTS.glob("*") if RUN_REPORTS.is_dir() else ():
        old.unlink()
    for table in run_tables(metrics_by_split["val"], metrics_by_split["test"], per_keypoint, params.model, p.feed_targets):
        table.write(RUN_REPORTS, formats=("md", "csv"))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [["filter", "settings", *(f"val_{metric_key('pck', t)}" for t in SELECT_THRESHOLDS), "chosen"], *search])
    write_text(RUN_REPORTS / "filter_search.csv", out.getvalue())


if __name__ == "__main__":
    main()
