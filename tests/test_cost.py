"""Inference timing: how often the timed call runs, and what the cost record holds."""

import torch

from climbpose.evaluate.cost import device_name, inference_cost, median_seconds


def test_median_seconds_warms_up_once_then_runs_the_minimum_when_the_budget_is_spent():
    calls = []
    median_seconds(lambda: calls.append(1), budget_s=0.0, min_repeats=4)
    assert len(calls) == 1 + 4
    calls.clear()
    median_seconds(lambda: calls.append(1), budget_s=60.0, min_repeats=1, max_repeats=7)
    assert len(calls) == 1 + 7


def test_inference_cost_times_every_net_at_batch_one_and_at_the_large_batch():
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            seen.append(len(x))
            return x

    cost = inference_cost({"a": Recorder()}, {"a": (torch.zeros(1, 3), torch.zeros(8, 3))}, torch.device("cpu"))
    assert set(cost) == {"a_ms_per_window_b1", "a_windows_per_s"}
    assert set(seen) == {1, 8} and all(v > 0 for v in cost.values())
    assert device_name(torch.device("cpu")).endswith(f"({torch.get_num_threads()} threads)")
