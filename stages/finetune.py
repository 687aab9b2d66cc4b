"""Stage finetune: the pretrained model of the same (model, experiment, s) learns the estimator's errors."""

from __future__ import annotations

from pathlib import Path

from climbpose.config import load_params
from climbpose.data.dataset import load_frame_store
from climbpose.train.checkpoint import CheckpointDir, fingerprint
from climbpose.train.data import finetuning_windows
from climbpose.train.loop import Recipe, fit
from climbpose.train.session import EpochLogger, autocast_dtype, load_model, resolve_device, save_model
from climbpose.errors import run_stage

PRETRAINED = Path("models/pretrained.pt")
SPLIT = Path("data/split")


def main() -> None:
    params = load_params()
    p, h = params.finetune, params.heatmaps
    device = resolve_device(params.train.device)
    model, _ = load_model(PRETRAINED, device)
    store = load_frame_store("data/preprocessed", keys=("inputs", "targets", "target_cells", "present"))
    train, val = (finetuning_windows(store, SPLIT / f"{name}.csv", params.split.window, h.c, h.sigma, model.input_kind, device)
                  for name in ("train", "val"))
    print(f"finetune {params.model}: {len(train)} training, {len(val)} validation windows on {device}")

    recipe = Recipe(lr=p.lr, batch_size=p.batch_size, max_epochs=p.max_epochs, windows_per_epoch=p.windows_per_epoch,
                    select_threshold=0.05, validate_first=True, lr_patience=params.train.lr_patience,
                    stop_patience=params.train.stop_patience, lr_factor=params.train.lr_factor)
    config = {"seed": params.seed, "finetune": vars(p), "heatmaps": vars(h), "recipe": vars(recipe)}
    data_files = [PRETRAINED, *sorted(SPLIT.glob("*.csv")), *sorted(Path("data/preprocessed").glob("*.npz"))]
    logger = EpochLogger("dvclive/finetune")
    weights, history = fit(model, train, val, recipe, CheckpointDir("checkpoints/finetune", fingerprint(config, data_files)),
                           seed=params.seed, size=h.size, on_epoch=logger,
                           autocast=autocast_dtype(params.train.precision, device), desc="finetune")
    logger.close()
    save_model("models/finetuned.pt", params.model, h.size, params.split.window, weights, history)


if __name__ == "__main__":
    run_stage(main)
