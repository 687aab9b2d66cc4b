"""Stage pretrain: the selected model learns to denoise clean keypoint sequences (docs/design.md#pretraining).

The sequences come from `pretrain.sources`: the synthetic motion generator, Penn Action and
BRACE, in any combination (`climbpose.data.sources.pretraining`).

Reads params.yaml (model, experiment, s, seed, pretrain, heatmaps, split.window, train) and the
folders of the chosen sources. Writes models/pretrained.pt, dvclive/pretrain (per-epoch curves)
and checkpoints/pretrain (resumable; removed when training completes).
"""

from __future__ import annotations

import dataclasses
import numpy as np

from climbpose.core.config import load_params
from climbpose.core.contract import PRETRAIN_SELECT_THRESHOLD
from climbpose.data.sources.pretraining import pretraining_data
from climbpose.data.windows import window_span
from climbpose.core.errors import run_stage
from climbpose.data.window_sets import NoiseSpec
from climbpose.data.training_windows import pretraining_windows
from climbpose.train.session import TrainingRun
from climbpose.models.file import new_model


def main() -> None:
    params = load_params()
    run = TrainingRun.start(params)
    p, h, device = params.pretrain, params.heatmaps, run.device
    model = new_model(params.model, params.seed, h.size, params.split.window, device, params.options_of(params.model))

    data = pretraining_data(p.sources, params.seed, p.val_fraction, window_span(params.split.window, params.frame_step),
                            synthetic=(p.sequences, p.frames), dirs={"penn_action": p.penn_action_dir, "brace": p.brace_dir})
    noise = NoiseSpec.for_run(params.experiment, params.s)

    def windows(seqs: list[np.ndarray], disjoint: bool):
        return pretraining_windows(seqs, params.split.window, params.frame_step, h.size, h.c, h.sigma,
                                   noise, model.input_kind, device, disjoint=disjoint)

    train, val = windows(data.train, False), windows(data.val, True)
    print(f"pretrain {params.model}, experiment {params.experiment}, s={params.s}: {len(train)} training, {len(val)} validation windows on {device}")
    print("pretraining sequences: " + ", ".join(f"{k} {v}" for k, v in data.counts.items()))

    # Selection by validation PCK@0.2 (docs/design.md#training-recipe).
    recipe = run.recipe(p, select_threshold=PRETRAIN_SELECT_THRESHOLD)
    if params.model in p.skip_models:
        # Validated once and saved as initialised: finetuning starts from there
        # (docs/design.md#input-noise-and-the-three-experiments).
        print(f"pretrain: {params.model} is in pretrain.skip_models: no pretraining epochs")
        recipe = dataclasses.replace(recipe, max_epochs=0)
    config = {"model": params.model, "experiment": params.experiment, "s": params.s, "seed": params.seed,
              "pretrain": vars(p), "heatmaps": vars(h), "window": params.split.window}
    run.train("pretrain", model, train, val, recipe, config, data.files, out="models/pretrained.pt")


if __name__ == "__main__":
    run_stage(main, __doc__)
