"""Stage evaluate: PCK of the finetuned model and of the identity function on validation and test."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import torch

from climbpose.config import load_params
from climbpose.data.dataset import load_frame_store
from climbpose.heatmaps import cells_to_image
from climbpose.io import atomic_path, write_json
from climbpose.models import build_model
from climbpose.report.overlay import compare_on_frame
from climbpose.train.data import finetuning_windows
from climbpose.train.loop import evaluate_windows, predicted_cells
from climbpose.train.session import load_model, resolve_device
from climbpose.video import read_frames

VIDEOS = Path("data/synthetic/videos")
KEYPOINTS = Path("data/synthetic/keypoints")
GREEN, RED, BLUE = (40, 220, 40), (235, 40, 40), (60, 140, 255)


def save_example_frame(store, windows_by_model: dict, models: dict, params, path: Path) -> None:
    """The middle frame of the middle test window: ground truth, estimator and model overlaid."""
    test = windows_by_model["identity"]
    window = len(test) // 2
    flat = int(test.source_frames[int(test.windows[window, params.split.window // 2])])
    video = int(np.searchsorted(store.offsets, flat, side="right") - 1)
    name, index = store.names[video], flat - int(store.offsets[video])
    bbox = store.arrays["bboxes"][flat]
    image = next(itertools.islice(read_frames(VIDEOS / f"{name}.mp4"), index, None))
    with np.load(KEYPOINTS / f"{name}.npz") as annotation:
        truth = annotation["keypoints"][index]
    skeletons = [("ground truth", truth[:, :2], None, GREEN)]
    for label, key, color in (("estimator", "identity", RED), (params.model, "model", BLUE)):
        batch = windows_by_model[key].batch(torch.tensor([window]))
        with torch.no_grad():
            cells = predicted_cells(models[key], models[key](batch.inputs))[0, params.split.window // 2]
        skeletons.append((label, cells_to_image(cells.cpu()[None], bbox[None], params.heatmaps.size)[0].numpy(), None, color))
    image = compare_on_frame(image, skeletons, bbox, caption=f"{name} frame {index}")
    with atomic_path(path, suffix=".png") as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def main() -> None:
    params = load_params()
    p, h = params.evaluate, params.heatmaps
    device = resolve_device(params.train.device)
    model, _ = load_model("models/finetuned.pt", device)
    models = {"model": model, "identity": build_model("identity").to(device)}
    store = load_frame_store("data/preprocessed", keys=("inputs", "targets", "target_cells", "present", "bboxes"))
    per_keypoint = {}
    for split in ("val", "test"):
        metrics, windows = {}, {}
        for key, net in models.items():
            windows[key] = finetuning_windows(store, f"data/split/{split}.csv", params.split.window, h.c, h.sigma,
                                              net.input_kind, device, feed_targets=p.feed_targets and key == "model")
            _, result = evaluate_windows(net, windows[key], 64, params.seed, h.size,
                                         thresholds=p.thresholds, normaliser=p.normaliser)
            metrics.update({f"{key}_{name}": value for name, value in result.metrics.items()})
            per_keypoint.update({f"{split}_{key}_{name}": value for name, value in result.per_part.items() if name.startswith("pck_020")})
        write_json(f"metrics/{split}.json", metrics)
        print(split, {k: round(v, 2) for k, v in metrics.items()})
        if split == "test":
            save_example_frame(store, windows, models, params, Path("reports/example_frame.png"))
    write_json("metrics/per_keypoint.json", per_keypoint)


if __name__ == "__main__":
    main()
