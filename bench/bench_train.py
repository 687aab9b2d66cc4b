"""Training throughput of the temporal models: one JSON line per (model, batch, precision, compile).

Needs only torch and numpy (plus this repository's src/), so it runs on a bare GPU box:

    python bench/bench_train.py                      # every model, batch 16, on the best device
    python bench/bench_train.py --models conv3d --batch 16 256 --precision fp32 bf16
    python bench/bench_train.py --compile off on --profile    # with torch.compile, and where time goes

Each measurement is a full Adam step (forward, MSE, backward, update) on windows gathered by index
from heatmaps that live on the device, as the training stages do; the figure is the median of
`--repeats` timed runs of `--steps` steps after warm-up. A matrix multiply of the same device is
timed in the same run as a reference, so numbers from a shared machine can be compared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from climbpose.evaluate.cost import device_name  # noqa: E402
from climbpose.models import build_model, device_options  # noqa: E402
from climbpose.train.step import compiled, new_optimiser, train_step  # noqa: E402

HEATMAP_MODELS = ("conv3d", "bi_convlstm_sum", "bi_convlstm_concat")


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, steps: int, repeats: int, device: torch.device) -> float:
    """Median seconds per call of `fn` over `repeats` runs of `steps` calls, after one warm-up run."""
    for _ in range(steps):
        fn()
    synchronise(device)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        synchronise(device)
        runs.append((time.perf_counter() - start) / steps)
    return statistics.median(runs)


def reference_matmul(device: torch.device, repeats: int) -> float:
    """TFLOP/s of a 2048^2 fp32 matrix product: a yardstick for the machine's state."""
    a = torch.randn(2048, 2048, device=device)
    seconds = timed(lambda: a @ a, steps=3, repeats=repeats, device=device)
    return 2 * 2048**3 / seconds / 1e12


def bench_model(name: str, batch: int, precision: str, device: torch.device, steps: int, repeats: int,
                compile_model: bool = False, frames: int = 2048, size: int = 56,
                window: int = 5) -> tuple[dict, Callable[[], None]]:
    """One (model, batch, precision, compile) measurement, and the step it timed (for profiling)."""
    torch.manual_seed(0)
    model = build_model(name, size=size, window=window, **device_options(name, device)).to(device)
    optimiser = new_optimiser(model, lr=1e-4)
    trained = compiled(model, single_gpu=device.type == "cuda") if compile_model else model
    # Device-resident frames and a gather by index, as the training stages do.
    if model.input_kind == "heatmaps":
        inputs = torch.rand(frames, 25, size, size, device=device).to(torch.float16)
        targets = torch.rand(frames, 25, size, size, device=device).to(torch.float16)
    else:
        inputs = torch.rand(frames, 25, 2, device=device) * size
        targets = inputs + torch.randn_like(inputs)
    present = torch.ones(batch, window, 25, dtype=torch.bool, device=device)
    starts = torch.randint(0, frames - window, (4096,), device=device)
    offsets = torch.arange(window, device=device)
    autocast = torch.bfloat16 if precision == "bf16" else None
    cursor = [0]

    def step() -> None:
        rows = starts[(cursor[0] + torch.arange(batch, device=device)) % len(starts)]
        cursor[0] += batch
        index = rows[:, None] + offsets[None, :]
        train_step(trained, optimiser, inputs[index].float(), targets[index].float(), present, autocast)

    # The first step alone: with torch.compile it includes compiling (and CUDA graph capture).
    started = time.perf_counter()
    step()
    synchronise(device)
    first_step_s = time.perf_counter() - started
    seconds = timed(step, steps, repeats, device)
    result = {"bench": "train", "model": name, "batch": batch, "precision": precision,
              "compile": compile_model, "device": device_name(device),
              "windows_per_s": round(batch / seconds, 1), "ms_per_step": round(1000 * seconds, 2),
              "first_step_s": round(first_step_s, 2), "steps": steps, "repeats": repeats, "torch": torch.__version__}
    return result, step


def profile(step, device: torch.device, steps: int, top: int = 12) -> dict:
    """Where one step's time goes: the `top` operators by self time on the device (CPU on a CPU)."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        synchronise(device)
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = sorted(prof.key_averages(), key=lambda e: getattr(e, key), reverse=True)[:top]
    return {"bench": "train_profile", "sort": key, "steps": steps,
            "ops": [{"name": e.key, "calls": e.count, "us_per_step": round(getattr(e, key) / steps, 1)} for e in events]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["conv3d", "deciwatch", "bi_convlstm_sum", "bi_convlstm_concat"])
    parser.add_argument("--batch", nargs="+", type=int, default=[16])
    parser.add_argument("--precision", nargs="+", default=None, help="fp32 and/or bf16 (default: fp32 on CPU, both on CUDA)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=None, help="steps per timed run (default: 20 on CUDA, 3 on CPU)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", nargs="+", choices=["off", "on"], default=["off"],
                        help="torch.compile the step (CUDA graphs on a GPU): off, on or both")
    parser.add_argument("--profile", action="store_true", help="also print each run's top operators by device time")
    args = parser.parse_args()
    device = torch.device(args.device)
    precisions = args.precision or (["fp32", "bf16"] if device.type == "cuda" else ["fp32"])
    steps = args.steps or (20 if device.type == "cuda" else 3)
    print(json.dumps({"bench": "reference_matmul_fp32", "device": device_name(device),
                      "tflops": round(reference_matmul(device, args.repeats), 3)}), flush=True)
    for name in args.models:
        for batch in args.batch:
            for precision in precisions:
                for compile_model in args.compile:
                    # The ConvLSTMs run ~2 windows/s on a 2-core CPU: keep CPU runs short.
                    n = 1 if device.type == "cpu" and name.startswith("bi_convlstm") else steps
                    result, step = bench_model(name, batch, precision, device, n, args.repeats, compile_model == "on")
                    print(json.dumps(result), flush=True)
                    if args.profile:
                        print(json.dumps({**profile(step, device, n), "model": name, "batch": batch,
                                          "precision": precision, "compile": compile_model == "on"}), flush=True)


if __name__ == "__main__":
    main()
