"""Two CPU processes under torchrun (gloo) train to the same result as one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def run(tmp_path: Path, nproc: int) -> dict:
    out = tmp_path / f"world{nproc}.pt"
    script = [str(REPO / "tests" / "ddp_fit.py"), str(out), str(tmp_path / f"ckpt{nproc}")]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"] if nproc > 1 else [sys.executable]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(launcher + script, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(out, weights_only=False)


@pytest.mark.slow
def test_two_processes_match_one_within_tolerance(tmp_path):
    one, two = run(tmp_path, 1), run(tmp_path, 2)
    assert two["world"] == 2 and one["world"] == 1
    for key, value in one["weights"].items():
        assert torch.allclose(value, two["weights"][key], atol=1e-4, rtol=1e-3), key
    for a, b in zip(one["history"], two["history"]):
        assert a["val_pck_005"] == pytest.approx(b["val_pck_005"], abs=0.5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-3)
    # The recipe's windows per step are shared between ranks, not multiplied.
    assert [r["windows"] for r in one["history"]] == [r["windows"] for r in two["history"]] == [0, 32, 32]
