"""The default model's speed against its arithmetic: one JSON line per (path, use).

    python bench/bench_depthwise.py                  # 1 thread, batch 16, CPU
    python bench/bench_depthwise.py --threads 2 --batch 16 64

`conv3d_depthwise` keeps each output map only inside the trust region around its input peak, so
three paths compute the same function (tested equal in tests/test_per_keypoint_models.py):

* `local` (what `forward` runs): only the kept cells, (2r+1)^2 of each map;
* `stacked`: the full convolution as one grouped Conv2d over the frames stacked as channels;
* `conv3d`: the full convolution through PyTorch's grouped Conv3d (the reference);
* `stacked_maxpool`: `stacked` with the trust region drawn by max-pooling one-hot peaks, which is
  how the model computed it before the `local` path: the baseline, timed in the same run;
* `flip_depthwise`: the default model whole, its swap gate's features and decision in front of the
  `local` path (in training it refines the window as given and swapped, so twice the cells).

Each use is timed as the median of `--repeats` runs: `inference` (eval mode, no autograd) and
`train` (the training stages' Adam step with the masked MSE). Beside windows/s each line gives
the multiply-adds per second achieved, counted two ways (`full_conv_gmacs`: the full convolution's
K*T*H*W*k^3 per window, what the full paths execute; `kept_cells_gmacs`: the K*T*(2r+1)^2*k^3 the
output needs), and `peak_gmacs_estimate`, the machine's fp32 peak for the threads used: clock x
SIMD lanes x 2 FMA units per core (an estimate from /proc/cpuinfo, not a measurement).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from climbpose.models import build_model  # noqa: E402
from climbpose.train.step import new_optimiser, train_step  # noqa: E402


def peak_gmacs_per_core() -> dict:
    """fp32 multiply-adds per second of one core, from the clock and the widest vector unit."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", text)
    flag_line = re.search(r"flags\s*:\s*(.*)", text)
    flags = set(flag_line.group(1).split()) if flag_line else set()
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    ghz = float(mhz.group(1)) / 1000 if mhz else float("nan")
    model = re.search(r"model name\s*:\s*(.*)", text)
    return {"cpu": model.group(1).strip() if model else "unknown", "ghz": round(ghz, 2), "fp32_lanes": lanes,
            "fma_units_assumed": 2, "gmacs": round(ghz * lanes * 2, 1)}


def pooled_trust_region(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The trust region as first computed: a (2r+1) max-pool of each map's one-hot argmax."""
    flat = x.flatten(-2)
    one_hot = torch.zeros_like(flat).scatter_(-1, flat.argmax(dim=-1, keepdim=True), 1.0).view_as(x)
    r = model.trust_radius
    return F.max_pool2d(one_hot.flatten(0, 2)[:, None], 2 * r + 1, stride=1, padding=r).view_as(x)


def paths(model: torch.nn.Module) -> dict:
    def stacked_maxpool(x: torch.Tensor) -> torch.Tensor:
        model.trust_region = lambda maps: pooled_trust_region(model, maps)  # this call only
        try:
            return model.forward_stacked(x)
        finally:
            del model.trust_region
    flip = build_model("flip_depthwise", size=56, window=5)  # as registered: the default's 3x3x3 kernels
    with torch.no_grad():
        flip.refine.conv.weight.add_(0.01 * torch.randn_like(flip.refine.conv.weight))
    return {"local": model.forward, "stacked": model.forward_stacked, "conv3d": model.forward_conv3d,
            "stacked_maxpool": stacked_maxpool, "flip_depthwise": flip}


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", nargs="+", type=int, default=[16])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--uses", nargs="+", choices=["inference", "train"], default=["inference", "train"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    peak = peak_gmacs_per_core()
    print(json.dumps({"bench": "machine", **peak, "threads": args.threads, "torch": torch.__version__}), flush=True)

    torch.manual_seed(0)
    T, K, size = 5, 25, 56
    model = build_model("conv3d_depthwise", size=size, window=T)
    with torch.no_grad():  # trained-looking weights: a small correction on top of the identity
        model.conv.weight.add_(0.01 * torch.randn_like(model.conv.weight))
    k, r = model.kernel_size, model.trust_radius
    full_macs = K * T * size * size * k**3
    kept_macs = K * T * (2 * r + 1) ** 2 * k**3
    for batch in args.batch:
        x = torch.rand(batch, T, K, size, size)
        target = torch.rand(batch, T, K, size, size)
        present = torch.ones(batch, T, K, dtype=torch.bool)
        for use in args.uses:
            for name, forward in paths(model).items():
                whole = forward if isinstance(forward, torch.nn.Module) else None  # a model, not a path
                if use == "inference":
                    (whole or model).eval()

                    def run() -> None:
                        with torch.no_grad():
                            forward(x)
                elif whole is not None:
                    whole.train()
                    optimiser = new_optimiser(whole, lr=0.0)

                    def run() -> None:
                        train_step(whole, optimiser, x, target, present, None)
                else:
                    model.train()
                    optimiser = new_optimiser(model, lr=0.0)  # lr 0: time the step, keep the weights

                    def run() -> None:
                        model.forward = forward  # train_step calls model(x)
                        try:
                            train_step(model, optimiser, x, target, present, None)
                        finally:
                            del model.forward
                seconds = median_seconds(run, args.repeats)
                windows_per_s = batch / seconds
                print(json.dumps({
                    "bench": "depthwise", "use": use, "path": name, "batch": batch, "threads": args.threads,
                    "ms_per_batch": round(1000 * seconds, 2), "windows_per_s": round(windows_per_s, 1),
                    "full_conv_gmacs": round(windows_per_s * full_macs / 1e9, 2),
                    "kept_cells_gmacs": round(windows_per_s * kept_macs / 1e9, 3),
                    "peak_gmacs_estimate": round(peak["gmacs"] * args.threads, 1), "repeats": args.repeats,
                }), flush=True)


if __name__ == "__main__":
    main()
