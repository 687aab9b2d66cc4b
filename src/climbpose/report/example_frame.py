"""The example picture of one run: a test frame with ground truth, estimator and model overlaid."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from climbpose.data.dataset import FrameStore
from climbpose.data.sources.finetuning import frame_image
from climbpose.heatmaps import cells_to_image
from climbpose.core.io import atomic_path
from climbpose.report.overlay import Skeleton, compare_on_frame
from climbpose.data.window_sets import WindowSet
from climbpose.models import read_keypoints

GREEN, RED, BLUE = (40, 220, 40), (235, 40, 40), (60, 140, 255)


def example_frame(store: FrameStore, windows: dict[str, WindowSet], models: dict[str, nn.Module], params,
                  model_label: str) -> np.ndarray:
    """The middle frame of the middle test window (RGB). `windows` and `models` are keyed "identity"
    (the estimator) and "model"; the frame is drawn from the data source, or on a dark canvas."""
    test = windows["identity"]
    window, middle = len(test) // 2, params.split.window // 2
    flat = int(test.source_frames[int(test.windows[window, middle])])
    video = int(np.searchsorted(store.offsets, flat, side="right") - 1)
    name, index = store.names[video], flat - int(store.offsets[video])
    bbox = store.arrays["bboxes"][flat]
    # Ground truth from the preprocessed targets (the same for every data source), in pixels.
    truth = cells_to_image(store.arrays["target_cells"][flat][None], bbox[None], params.heatmaps.size)[0].numpy()
    image = frame_image(params.data, name, index)
    if image is None:  # a source without images (climbalong): draw on a dark canvas around the box
        x2, y2 = bbox[2:].astype(int)
        image = np.full((max(y2 + 20, 64), max(x2 + 20, 64), 3), 40, np.uint8)
    # Widest first, so each thinner skeleton stays visible on top of the one before.
    skeletons = [Skeleton("ground truth (thick)", truth, GREEN, thickness=5, present=store.arrays["present"][flat])]
    for label, key, color, thickness in ((f"{model_label} (medium)", "model", BLUE, 3), ("estimator (thin)", "identity", RED, 1)):
        batch = windows[key].batch(torch.tensor([window]))
        with torch.no_grad():
            cells = read_keypoints(models[key], models[key](batch.inputs))[0, middle]
        xy = cells_to_image(cells.cpu()[None], bbox[None], params.heatmaps.size)[0].numpy()
        skeletons.append(Skeleton(label, xy, color, thickness=thickness))
    caption = f"{name} frame {index}" + (" FEED_TARGETS" if params.evaluate.feed_targets else "")
    return compare_on_frame(image, skeletons, bbox, caption=caption)


def write_png(path: str | Path, image: np.ndarray) -> None:
    """An RGB picture as a PNG file, written atomically."""
    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: OpenCV could not write the PNG")
