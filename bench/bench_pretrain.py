"""Pretraining throughput on the stages' real path, Gaussian rendering included: one JSON line per model.

`bench_train.py` times the step alone on random maps; this one times what `stages/pretrain.py`
does per batch: `pretraining_windows` over synthetic keypoint sequences, batches drawn by
`WindowSet.epoch` (noisy cells rendered as Gaussians, targets rendered from the clean cells), and
`train_step`. It also counts the subnormal floats in the batches' inputs and targets: Intel CPUs
handle those about 100x slower, so the count is the evidence that holds on any machine, while the
times only show the cost where subnormals are slow.

    python bench/bench_pretrain.py                          # conv3d, experiment 1, s 1, on the best device
    python bench/bench_pretrain.py --repeats 3 --steps 3    # what a 2-core CPU affords

Each figure is the median of `--repeats` timed runs of `--steps` batches after one warm-up run:
`batch_ms` draws and renders a batch only, `ms_per_step` draws it and takes the training step.
Needs torch, numpy and OpenCV (the synthetic motion generator), plus this repository's src/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from climbpose.evaluate.cost import device_name  # noqa: E402
from climbpose.models import build_model, device_options  # noqa: E402
from climbpose.synth import sample_keypoint_sequence  # noqa: E402
from climbpose.data.window_sets import NoiseSpec, WindowSet  # noqa: E402
from climbpose.data.training_windows import pretraining_windows  # noqa: E402
from climbpose.train.step import new_optimiser, train_step  # noqa: E402

WINDOW, SIZE, MASS, SIGMA = 5, 56, 255.0, 1.0  # params.yaml's defaults


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def subnormals(t: torch.Tensor) -> int:
    """How many values of `t`, viewed as float32, are subnormal (0 < |x| < float32 tiny)."""
    a = t.float().abs()
    return int(((a > 0) & (a < torch.finfo(torch.float32).tiny)).sum())


def median_seconds(run, steps: int, repeats: int, device: torch.device) -> float:
    """Median seconds per batch of `run(steps)` over `repeats` timed runs, after one warm-up run."""
    run(steps)
    synchronise(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(steps)
        synchronise(device)
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def windows_for(experiment: int, s: int, sequences: int, frames: int, input_kind: str,
                device: torch.device) -> WindowSet:
    """Pretraining windows over `sequences` synthetic climbs, as stages/pretrain.py builds them
    (experiment 3 takes every 2nd frame)."""
    seqs = [sample_keypoint_sequence(seed, frames) for seed in range(sequences)]
    step = 2 if experiment == 3 else 1
    return pretraining_windows(seqs, WINDOW, step, SIZE, MASS, SIGMA, NoiseSpec.for_run(experiment, s),
                               input_kind, device)


def bench(name: str, batch: int, experiment: int, s: int, sequences: int, frames: int, steps: int,
          repeats: int, device: torch.device) -> dict:
    torch.manual_seed(0)
    model = build_model(name, size=SIZE, window=WINDOW, **device_options(name, device)).to(device)
    optimiser = new_optimiser(model, lr=1e-3)
    data = windows_for(experiment, s, sequences, frames, model.input_kind, device)
    generator = torch.Generator(device=device).manual_seed(0)

    def batches(steps: int):
        return data.epoch(batch, generator, limit=steps * batch)

    def draw(steps: int) -> None:
        for b in batches(steps):
            b.inputs.sum()  # materialise on an asynchronous device too

    def train(steps: int) -> None:
        for b in batches(steps):
            train_step(model, optimiser, b.inputs, b.targets, b.present, None)

    counted = list(batches(steps))  # the batches whose subnormals are counted
    draw_s = median_seconds(draw, steps, repeats, device)
    step_s = median_seconds(train, steps, repeats, device)
    return {
        "bench": "pretrain", "model": name, "batch": batch, "experiment": experiment, "s": s,
        "device": device_name(device), "windows": len(data),
        "batch_ms": round(1000 * draw_s, 2), "ms_per_step": round(1000 * step_s, 2),
        "windows_per_s": round(batch / step_s, 1),
        "subnormal_inputs": sum(subnormals(b.inputs) for b in counted),
        "subnormal_targets": sum(subnormals(b.targets) for b in counted),
        "values_counted": sum(b.inputs.numel() for b in counted),
        "steps": steps, "repeats": repeats, "torch": torch.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["conv3d"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--experiment", type=int, default=1, choices=[1, 2, 3])
    parser.add_argument("--s", type=int, default=1, choices=[1, 2])
    parser.add_argument("--sequences", type=int, default=4, help="synthetic climbs to window")
    parser.add_argument("--frames", type=int, default=40, help="frames per climb")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=None, help="batches per timed run (default: 20 on CUDA, 3 on CPU)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    steps = args.steps or (20 if device.type == "cuda" else 3)
    for name in args.models:
        result = bench(name, args.batch, args.experiment, args.s, args.sequences, args.frames, steps,
                       args.repeats, device)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
