"""The training recipe (docs/design.md#training-recipe) as one plain loop: Adam, MSE, plateau lr,
early stop, best epoch.

The lr drops by `lr_factor` after every `lr_patience` epochs without a new best validation loss;
training stops after `stop_patience` such epochs or at `max_epochs`. The kept weights are those
of the epoch with the best validation PCK at `select_threshold`; with `validate_first` the
untrained weights are scored as epoch 0 and kept when nothing beats them. After every epoch the
whole state goes to a checkpoint, so a killed run resumes where it stopped and ends identically.
"""

from __future__ import annotations

import copy
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from climbpose.core.errors import InputError
from climbpose.core.contract import THRESHOLDS, metric_key
from climbpose.core.seeds import derived_seed
from climbpose.evaluate.pck import PCKResult, pair_scores
from climbpose.evaluate.cells import window_cells
from climbpose.data.window_sets import WindowSet
from climbpose.train.checkpoint import CheckpointDir
from climbpose.train.distributed import SINGLE, Rank, mean_over_ranks, shard
from climbpose.train.step import compiled, masked_mse, new_optimiser, train_step

# Training losses are read back to the host once per this many batches, not after every step: a
# read is a device sync, and at GPU speed one per step would leave the GPU idle between launches.
READ_BACK_EVERY = 32


class TrainingError(InputError):
    """Training cannot go on: a non-finite loss, or out of GPU memory. The message names the
    epoch and batch and the parameter to change; stages print it as one line and exit 1."""


# torch >= 2.5 names it torch.OutOfMemoryError; torch.cuda.OutOfMemoryError is the same class.
OutOfMemory = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


@contextmanager
def _memory_hint(desc: str, batch_size: int, where: str) -> Iterator[None]:
    """Turn running out of GPU memory into a one-line TrainingError that names the batch size."""
    try:
        yield
    except OutOfMemory:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise TrainingError(f"{desc}: out of GPU memory {where} with batch size {batch_size}; "
                            f"set a smaller {desc}.batch_size in params.yaml") from None


@dataclass(frozen=True)
class Recipe:
    lr: float
    batch_size: int
    max_epochs: int
    windows_per_epoch: int  # 0: every training window in every epoch
    select_threshold: float
    validate_first: bool = False
    lr_patience: int = 5
    stop_patience: int = 10
    lr_factor: float = 0.1


def plateau(best_loss: float, bad_epochs: int, val_loss: float, lr_patience: int,
            stop_patience: int) -> tuple[float, int, bool, bool]:
    """One epoch of the plateau rule: returns (best loss, epochs without a new best, reduce lr?, stop?).

    The lr is reduced after every `lr_patience` epochs without a new best validation loss, and
    training stops after `stop_patience` of them (docs/design.md#training-recipe: 5 and 10).
    """
    if val_loss < best_loss:
        return val_loss, 0, False, False
    bad_epochs += 1
    return best_loss, bad_epochs, bad_epochs % lr_patience == 0, bad_epochs >= stop_patience


@torch.no_grad()
def evaluate_windows(model: nn.Module, windows: WindowSet, batch_size: int, seed: int, size: int,
                     autocast: torch.dtype | None = None, thresholds: tuple[float, ...] = THRESHOLDS,
                     normaliser: str = "torso") -> tuple[float, PCKResult]:
    """Mean loss and PCK over every frame of every window, through the evaluation's own scoring
    loop (`climbpose.evaluate.rows.window_cells`); any input noise comes from a fixed seed."""
    cells = window_cells(model, windows, batch_size, seed, autocast, loss=masked_mse)
    scores = pair_scores(cells.pred, cells.gt, cells.present, thresholds=thresholds, normaliser=normaliser, box_size=size)
    return cells.loss, scores.counts().result()


def _validate(model: nn.Module, val: WindowSet, recipe: "Recipe", seed: int, size: int,
              autocast: torch.dtype | None) -> tuple[float, dict[str, float]]:
    """Validation loss and PCK@0.05/0.1/0.2, the numbers that drive the schedule and selection."""
    loss, result = evaluate_windows(model, val, recipe.batch_size, seed, size, autocast)
    return loss, {metric_key("pck", t): result.pck(t) for t in THRESHOLDS}


def fit(
    model: nn.Module,
    train: WindowSet,
    val: WindowSet,
    recipe: Recipe,
    checkpoint: CheckpointDir,
    seed: int,
    size: int,
    on_epoch: Callable[[dict[str, Any]], None] = lambda record: None,
    autocast: torch.dtype | None = None,
    desc: str = "train",
    rank: Rank = SINGLE,
    compile_model: bool = False,
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Train `model` by the recipe; return the selected weights and the per-epoch history.

    `on_epoch` receives every epoch's record, including those replayed from a checkpoint,
    so a logger rebuilt after a restart ends up identical to an uninterrupted one. Under
    torchrun (`rank.world` > 1) each rank trains on its slice of every batch; only rank 0
    writes the checkpoint. `compile_model` runs the training steps through `torch.compile`
    (with CUDA graphs on a single GPU); validation and the saved weights use `model` itself.
    """
    validation_seed = derived_seed(seed, "epoch", 0)  # training epochs count from 1, so 0 is free for validation
    if recipe.max_epochs == 0 or not any(p.requires_grad for p in model.parameters()):
        # Nothing to learn (the identity function) or no epochs asked for (a model that starts where
        # the next stage should begin): one validation, recorded as epoch 0, and the weights as they are.
        with _memory_hint(desc, recipe.batch_size, "in validation"):
            val_loss, val_pck = _validate(model, val, recipe, validation_seed, size, autocast)
        record = _record(0, math.nan, val_loss, val_pck, recipe.lr, 0, 0.0, 0)
        on_epoch(record)
        return copy.deepcopy(model.state_dict()), [record]
    optimiser = new_optimiser(model, recipe.lr)
    trained = DistributedDataParallel(model) if rank.world > 1 else model
    if compile_model:
        trained = compiled(trained, single_gpu=train.device.type == "cuda" and rank.world == 1)
    select_key = metric_key("pck", recipe.select_threshold)
    state = checkpoint.load()
    if state is None:
        state = {"epoch": 0, "history": [], "best_loss": math.inf, "best_score": -math.inf,
                 "best_weights": None, "bad_epochs": 0, "stopped": False}
        if recipe.validate_first:
            with _memory_hint(desc, recipe.batch_size, "in validation before epoch 1"):
                val_loss, val_pck = _validate(model, val, recipe, validation_seed, size, autocast)
            record = _record(0, math.nan, val_loss, val_pck, recipe.lr, 0, 0.0, 0)
            state.update(history=[record], best_loss=val_loss, best_score=val_pck[select_key],
                         best_weights=copy.deepcopy(model.state_dict()), best_epoch=0)
    else:
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        torch.set_rng_state(state["torch_rng"])
        print(f"resuming after epoch {state['epoch']} from {checkpoint.path}")
    for record in state["history"]:
        on_epoch(record)

    while not state["stopped"] and state["epoch"] < recipe.max_epochs:
        epoch = state["epoch"] + 1
        generator = torch.Generator(device=train.device).manual_seed(derived_seed(seed, "epoch", epoch))
        model.train()
        started, loss_sum, seen, pending = time.perf_counter(), 0.0, 0, []
        total = min(len(train), recipe.windows_per_epoch or len(train))
        bar = tqdm(train.epoch(recipe.batch_size, generator, recipe.windows_per_epoch),
                   total=math.ceil(total / recipe.batch_size), desc=f"{desc} epoch {epoch}", unit="batch", leave=False, disable=None)
        for index, batch in enumerate(bar):
            if len(batch.inputs) < rank.world:
                continue  # a last batch too small to give every rank a window
            part = shard(batch, rank)
            with _memory_hint(desc, recipe.batch_size, f"at epoch {epoch}, batch {index}"):
                loss = train_step(trained, optimiser, part.inputs, part.targets, part.present, autocast)
                pending.append((index, len(part.inputs), loss))
            if len(pending) == READ_BACK_EVERY:
                loss_sum, seen = _read_back(pending, loss_sum, seen, bar, desc, epoch)
        loss_sum, seen = _read_back(pending, loss_sum, seen, bar, desc, epoch)
        loss_sum, seen = mean_over_ranks(loss_sum, seen, rank, train.device)
        seconds = time.perf_counter() - started
        with _memory_hint(desc, recipe.batch_size, f"in validation after epoch {epoch}"):
            val_loss, val_pck = _validate(model, val, recipe, validation_seed, size, autocast)

        state["best_loss"], state["bad_epochs"], lr_reduced, state["stopped"] = plateau(
            state["best_loss"], state["bad_epochs"], val_loss, recipe.lr_patience, recipe.stop_patience)
        if lr_reduced:
            for group in optimiser.param_groups:
                group["lr"] *= recipe.lr_factor
        if val_pck[select_key] > state["best_score"]:
            state.update(best_score=val_pck[select_key], best_weights=copy.deepcopy(model.state_dict()), best_epoch=epoch)

        record = _record(epoch, loss_sum / max(seen, 1), val_loss, val_pck, optimiser.param_groups[0]["lr"],
                         int(lr_reduced), seconds, seen)
        state["history"].append(record)
        state["epoch"] = epoch
        if rank.main:
            checkpoint.save({**state, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                             "torch_rng": torch.get_rng_state()})
        on_epoch(record)
        if rank.main:
            print(f"{desc} epoch {epoch}: " + ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch"))
    return state["best_weights"], state["history"]


def _record(epoch: int, train_loss: float, val_loss: float, val_pck: dict[str, float], lr: float,
            lr_reduced: int, seconds: float, windows: int) -> dict[str, Any]:
    """One row of the per-epoch history (the keys of the training plots)."""
    return {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
            **{f"val_{key}": value for key, value in val_pck.items()}, "lr": lr, "lr_reduced": lr_reduced,
            "windows": windows, "seconds": seconds, "windows_per_s": windows / seconds if seconds > 0 else 0.0}


def _read_back(pending: list[tuple[int, int, torch.Tensor]], loss_sum: float, seen: int, bar: tqdm,
               desc: str, epoch: int) -> tuple[float, int]:
    """Add the pending (batch index, windows, loss) steps to the running sum in one host transfer;
    a non-finite loss is a TrainingError naming its batch. Empties `pending`."""
    if not pending:
        return loss_sum, seen
    losses = torch.stack([loss for _, _, loss in pending]).cpu().tolist()
    for (index, windows, _), loss in zip(pending, losses):
        if not math.isfinite(loss):
            raise TrainingError(f"{desc}: loss became {loss} at epoch {epoch}, batch {index}; "
                                f"try a smaller {desc}.lr, or check the input data")
        loss_sum += loss * windows
        seen += windows
    bar.set_postfix(loss=f"{losses[-1]:.4g}")
    pending.clear()
    return loss_sum, seen
