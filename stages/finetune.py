"""Stage finetune: the pretrained model of the same (model, experiment, s) learns the estimator's errors.

Reads params.yaml (seed, finetune, heatmaps, train), models/pretrained.pt, data/preprocessed and
data/split. Writes models/finetuned.pt (weights and how they were made), dvclive/finetune (the
per-epoch curves) and checkpoints/finetune (resumable; removed when training completes).
"""

from __future__ import annotations

from pathlib import Path

from climbpose.core.config import load_params
from climbpose.core.contract import FINETUNE_SELECT_THRESHOLD
from climbpose.data.dataset import load_frame_store
from climbpose.core.errors import run_stage
from climbpose.data.training_windows import finetuning_windows
from climbpose.train.session import TrainingRun
from climbpose.models.file import load_model

PRETRAINED = Path("models/pretrained.pt")
SPLIT = Path("data/split")


def main() -> None:
    params = load_params()
    run = TrainingRun.start(params)
    h = params.heatmaps
    model, _ = load_model(PRETRAINED, run.device)
    store = load_frame_store("data/preprocessed", keys=("inputs", "targets", "target_cells", "present"))
    train, val = (finetuning_windows(store, SPLIT / f"{name}.csv", params.split.window, h.c, h.sigma, model.input_kind, run.device)
                  for name in ("train", "val"))
    print(f"finetune {params.model}: {len(train)} training, {len(val)} validation windows on {run.device}")
    # Selection by validation PCK@0.05, and the pretrained weights scored as epoch 0
    # (docs/design.md#training-recipe).
    recipe = run.recipe(params.finetune, select_threshold=FINETUNE_SELECT_THRESHOLD, validate_first=True)
    config = {"seed": params.seed, "finetune": vars(params.finetune), "heatmaps": vars(h)}
    data_files = [PRETRAINED, *sorted(SPLIT.glob("*.csv")), *sorted(Path("data/preprocessed").glob("*.npz"))]
    run.train("finetune", model, train, val, recipe, config, data_files, out="models/finetuned.pt")


if __name__ == "__main__":
    run_stage(main, __doc__)
