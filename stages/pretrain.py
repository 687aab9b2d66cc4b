"""Stage pretrain: the selected model learns to denoise clean synthetic keypoint sequences (SPEC 1.4)."""

from __future__ import annotations

import numpy as np

from climbpose.config import load_params
from climbpose.synth import sample_keypoint_sequence
from climbpose.train.batches import NoiseSpec
from climbpose.train.checkpoint import CheckpointDir, fingerprint
from climbpose.train.data import pretraining_windows
from climbpose.train.loop import Recipe, fit
from climbpose.train.session import EpochLogger, autocast_dtype, new_model, resolve_device, save_model

# Offset so pretraining motions never reuse the seeds of the rendered videos.
SEQUENCE_SEED_OFFSET = 1_000_000


def main() -> None:
    params = load_params()
    p, h = params.pretrain, params.heatmaps
    device = resolve_device(params.train.device)
    model = new_model(params.model, params.seed, h.size, params.split.window, device)

    seeds = [int(np.random.SeedSequence([params.seed, SEQUENCE_SEED_OFFSET + i]).generate_state(1)[0]) for i in range(p.sequences)]
    sequences = [sample_keypoint_sequence(seed, p.frames) for seed in seeds]
    n_val = max(1, round(p.val_fraction * len(sequences)))
    noise = NoiseSpec.for_run(params.experiment, params.s)

    def windows(seqs: list[np.ndarray], disjoint: bool):
        return pretraining_windows(seqs, params.split.window, params.frame_step, h.size, h.c, h.sigma,
                                   noise, model.input_kind, device, disjoint=disjoint)

    train, val = windows(sequences[:-n_val], False), windows(sequences[-n_val:], True)
    print(f"pretrain {params.model}, experiment {params.experiment}, s={params.s}: {len(train)} training, {len(val)} validation windows on {device}")

    recipe = Recipe(lr=p.lr, batch_size=p.batch_size, max_epochs=p.max_epochs, windows_per_epoch=p.windows_per_epoch,
                    select_threshold=0.2, lr_patience=params.train.lr_patience,
                    stop_patience=params.train.stop_patience, lr_factor=params.train.lr_factor)
    config = {"model": params.model, "experiment": params.experiment, "s": params.s, "seed": params.seed,
              "pretrain": vars(p), "heatmaps": vars(h), "window": params.split.window, "recipe": vars(recipe)}
    logger = EpochLogger("dvclive/pretrain")
    weights, history = fit(model, train, val, recipe, CheckpointDir("checkpoints/pretrain", fingerprint(config, [])),
                           seed=params.seed, size=h.size, on_epoch=logger,
                           autocast=autocast_dtype(params.train.precision, device), desc="pretrain")
    logger.close()
    save_model("models/pretrained.pt", params.model, h.size, params.split.window, weights, history)


if __name__ == "__main__":
    main()
