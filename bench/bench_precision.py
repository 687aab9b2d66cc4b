"""Does bf16 autocast cost accuracy? Pretrain each model in fp32 and in bf16 from the same seeds
and compare the selected epoch's validation PCK with the spread between seeds.

    python bench/bench_precision.py                                 # conv3d and deciwatch, seeds 0 1
    python bench/bench_precision.py --models conv3d --epochs 10 --windows 3200

One JSON line per run (model, seed, precision, validation PCK@0.05/0.1/0.2, seconds), then one per
model: the largest |bf16 - fp32| over seeds and thresholds beside the largest |seed a - seed b| in
fp32, the noise it has to stay within. The training is the stages' own (`climbpose.train.loop.fit`)
on synthetic motion sequences; the CPU runs bf16 autocast too, so the numerics can be checked
without a GPU (the training stages themselves train in fp32 on the CPU).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from climbpose.data.sources.pretraining import pretraining_data  # noqa: E402
from climbpose.data.windows import window_span  # noqa: E402
from climbpose.core.contract import metric_key  # noqa: E402
from climbpose.evaluate.cost import device_name  # noqa: E402
from climbpose.data.window_sets import NoiseSpec  # noqa: E402
from climbpose.train.checkpoint import CheckpointDir  # noqa: E402
from climbpose.data.training_windows import pretraining_windows  # noqa: E402
from climbpose.train.loop import THRESHOLDS, Recipe, fit  # noqa: E402
from climbpose.models.file import new_model  # noqa: E402

SIZE, WINDOW, C, SIGMA = 56, 5, 255.0, 1.0  # params.yaml's heatmaps and split.window
KEYS = [f"val_{metric_key('pck', t)}" for t in THRESHOLDS]


def pretrain_once(name: str, seed: int, precision: str, args: argparse.Namespace, device: torch.device) -> dict:
    data = pretraining_data(("synthetic",), seed, 0.2, window_span(WINDOW, 1), synthetic=(args.sequences, 90))
    model = new_model(name, seed, SIZE, WINDOW, device)
    noise = NoiseSpec.for_run(experiment=1, s=1)
    train, val = (pretraining_windows(seqs, WINDOW, 1, SIZE, C, SIGMA, noise, model.input_kind, device, disjoint=disjoint)
                  for seqs, disjoint in ((data.train, False), (data.val, True)))
    recipe = Recipe(lr=1e-3, batch_size=16, max_epochs=args.epochs, windows_per_epoch=args.windows, select_threshold=0.2)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        _, history = fit(model, train, val, recipe, CheckpointDir(scratch, "bench"), seed=seed, size=SIZE,
                         autocast=torch.bfloat16 if precision == "bf16" else None, desc="pretrain")
    best = max(history, key=lambda record: record["val_pck_020"])
    return {"bench": "precision", "model": name, "seed": seed, "precision": precision, "device": device_name(device),
            "epochs": args.epochs, "windows_per_epoch": args.windows, **{key: round(best[key], 2) for key in KEYS},
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["conv3d", "deciwatch"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--windows", type=int, default=480, help="training windows per epoch (0: all)")
    parser.add_argument("--sequences", type=int, default=24, help="synthetic motion sequences of 90 frames")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    for name in args.models:
        runs = {}
        for seed, precision in itertools.product(args.seeds, ("fp32", "bf16")):
            runs[seed, precision] = pretrain_once(name, seed, precision, args, device)
            print(json.dumps(runs[seed, precision]), flush=True)
        bf16_gap = max(abs(runs[s, "bf16"][k] - runs[s, "fp32"][k]) for s in args.seeds for k in KEYS)
        seed_gap = max(abs(runs[a, "fp32"][k] - runs[b, "fp32"][k])
                       for a, b in itertools.combinations(args.seeds, 2) for k in KEYS) if len(args.seeds) > 1 else None
        print(json.dumps({"bench": "precision_summary", "model": name, "device": device_name(device),
                          "max_abs_bf16_minus_fp32": round(bf16_gap, 2),
                          "max_abs_between_seeds_fp32": None if seed_gap is None else round(seed_gap, 2),
                          "within_seed_noise": None if seed_gap is None else bf16_gap <= seed_gap}), flush=True)


if __name__ == "__main__":
    main()
