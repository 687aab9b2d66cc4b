#!/bin/sh
# The GPU measurements of docs/performance.md#on-a-gpu-built-not-yet-measured, in one run on a GPU box, from the
# repository root. bench_train.py needs only torch and numpy; bench_precision.py also imports
# tqdm and PyYAML (pip install tqdm pyyaml, or the wheels from requirements.txt).
# Prints JSON lines; stops at the first failure.
set -eu
PYTHON=${PYTHON:-python}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# Every model at the recipe's batch 16: fp32 and bf16, eager and compiled, with the top GPU ops.
"$PYTHON" bench/bench_train.py --batch 16 --precision fp32 bf16 --compile off on --profile
# How Conv3D's rate grows with the batch: what batch 16 leaves of the GPU unused.
"$PYTHON" bench/bench_train.py --models conv3d --batch 64 256 1024 --precision bf16 --compile off on
# bf16 against fp32 from the same seeds, beside the seed-to-seed spread.
"$PYTHON" bench/bench_precision.py --epochs 5 --windows 3200
