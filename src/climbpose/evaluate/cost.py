"""What a model costs to run: forward-pass time per window and throughput on one device.

Imports torch and the standard library only, so the benchmarks can name devices the same way on a
machine that has nothing else.
"""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model name with the number of threads torch uses."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu} ({torch.get_num_threads()} threads)"


def median_seconds(call: Callable[[], object], budget_s: float, min_repeats: int = 3, max_repeats: int = 50) -> float:
    """Median wall time of `call` after one warm-up, repeated until the budget (at least min_repeats)."""
    call()
    times, started = [], time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - started < budget_s):
        begin = time.perf_counter()
        call()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


@torch.no_grad()
def inference_cost(nets: dict[str, nn.Module], inputs: dict[str, tuple[torch.Tensor, torch.Tensor]],
                   device: torch.device) -> dict[str, float]:
    """Forward-pass time per window at batch 1 (ms) and throughput of a large batch (windows/s).

    `inputs[key]` is (one window, a large batch) already on the device; no gradients, and the GPU
    is synchronised before each clock read.
    """
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    cost = {}
    for key, net in nets.items():
        single, large = inputs[key]

        def run(x: torch.Tensor) -> None:
            net(x)
            sync()
        # Short budgets: this runs in every evaluate; a slow model on a CPU gets its minimum repeats.
        cost[f"{key}_ms_per_window_b1"] = 1000 * median_seconds(lambda: run(single), budget_s=1.0, min_repeats=5)
        cost[f"{key}_windows_per_s"] = len(large) / median_seconds(lambda: run(large), budget_s=2.0, min_repeats=2,
                                                                   max_repeats=10)
    return cost
