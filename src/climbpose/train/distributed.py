"""Several processes (one per GPU) inside one training stage, through torchrun and DDP.

With `train.nproc` > 1 a training stage re-launches itself under `torch.distributed.run`.
Every rank draws the same shuffled batch of `batch_size` windows and trains on its own slice
of it; DistributedDataParallel averages the gradients, so one step sees the same windows as a
single process would (the recipe's batch 16 stays batch 16 in total). Every rank validates on
the whole validation set, so all ranks take identical lr and stopping decisions; only rank 0
logs and writes files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist

from climbpose.data.window_sets import Batch


@dataclass(frozen=True)
class Rank:
    index: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.index == 0


SINGLE = Rank()


def launched() -> bool:
    """True inside a process started by torchrun with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "LOCAL_RANK" in os.environ


def relaunch(nproc: int) -> int:
    """Run this very script again under torchrun with `nproc` processes; return its exit status."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *sys.argv]
    return subprocess.call(command)


def setup(device: torch.device) -> tuple[Rank, torch.device]:
    """Join the process group when launched by torchrun; each rank gets its own GPU."""
    if not launched():
        return SINGLE, device
    local = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Rank(dist.get_rank(), dist.get_world_size()), device


def shard(batch: Batch, rank: Rank) -> Batch:
    """This rank's slice of a batch (every rank drew the same full batch)."""
    if rank.world == 1:
        return batch
    pick = slice(rank.index, None, rank.world)
    return Batch(batch.inputs[pick], batch.targets[pick], batch.target_cells[pick], batch.present[pick])


def mean_over_ranks(total: float, count: int, rank: Rank, device: torch.device) -> tuple[float, int]:
    """Sum a (total, count) pair over all ranks (for the epoch's mean training loss)."""
    if rank.world == 1:
        return total, count
    pair = torch.tensor([total, float(count)], dtype=torch.float64, device=device)
    dist.all_reduce(pair)
    return float(pair[0]), int(pair[1])
