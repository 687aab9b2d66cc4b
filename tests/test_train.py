"""The training loop: masked loss, the plateau rule, device batches, and exact resumption."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from climbpose.heatmaps import argmax_cells
from climbpose.data.window_sets import NoiseSpec, WindowSet
from climbpose.train.checkpoint import CheckpointDir
from climbpose.data.training_windows import pretraining_boxes, pretraining_windows
from climbpose.train import loop
from climbpose.train.loop import Recipe, TrainingError, fit, plateau
from climbpose.train.step import masked_mse
from climbpose.models.file import new_model

SIZE = 16


def test_masked_mse_ignores_absent_keypoints_in_value_and_gradient():
    output = torch.zeros(1, 1, 2, 3, 3, requires_grad=True)
    target = torch.zeros(1, 1, 2, 3, 3)
    target[0, 0, 1] = 3.0  # only the absent keypoint is wrong
    present = torch.tensor([[[True, False]]])
    loss = masked_mse(output, target, present)
    loss.backward()
    assert loss.item() == 0.0 and output.grad.abs().sum().item() == 0.0
    present[:] = True
    assert masked_mse(output, target, present).item() == pytest.approx(9.0 * 9 / 18)


def test_plateau_reduces_after_5_bad_epochs_and_stops_after_10():
    best, bad, events = 1.0, 0, []
    for epoch, loss in enumerate([0.9] + [1.0] * 10, start=1):
        best, bad, reduce, stop = plateau(best, bad, loss, lr_patience=5, stop_patience=10)
        events.append((epoch, reduce, stop))
    assert [e for e, r, _ in events if r] == [6, 11]
    assert [e for e, _, s in events if s] == [11]
    assert best == 0.9
    assert plateau(0.5, 4, 0.4, 5, 10) == (0.4, 0, False, False)


def test_pretraining_box_is_tight_box_widened_by_5_percent():
    xy = np.array([[[10.0, 20.0], [110.0, 220.0], [50.0, 50.0]]])
    box = pretraining_boxes(xy, np.ones((1, 3), bool))
    assert np.allclose(box, [[5.0, 10.0, 115.0, 230.0]])


def synthetic_sequences(n: int, frames: int, seed: int) -> list[np.ndarray]:
    """Smooth random keypoint tracks (x, y, visible) standing in for climbing motions."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = rng.uniform(50, 150, size=(1, 25, 2))
        drift = np.cumsum(rng.normal(0, 1.0, size=(frames, 1, 2)), axis=0)
        xy = base + drift + rng.normal(0, 0.3, size=(frames, 25, 2))
        out.append(np.concatenate([xy, np.ones((frames, 25, 1))], axis=-1).astype(np.float32))
    return out


def windows(kind: str, seed: int, experiment: int = 1) -> WindowSet:
    return pretraining_windows(synthetic_sequences(4, 12, seed), window=5, step=1, size=SIZE, c=255.0, sigma=1.0,
                               noise=NoiseSpec.for_run(experiment, 1), input_kind=kind, device=torch.device("cpu"))


def test_pretraining_batches_render_noisy_inputs_around_clean_targets():
    train = windows("heatmaps", 0)
    batch = train.batch(torch.arange(8), torch.Generator().manual_seed(0))
    assert batch.inputs.shape == batch.targets.shape == (8, 5, 25, SIZE, SIZE)
    assert torch.equal(argmax_cells(batch.targets), batch.target_cells)
    assert torch.allclose(batch.inputs.sum(dim=(-2, -1)), torch.full((8, 5, 25), 255.0), rtol=1e-4)
    shift = (argmax_cells(batch.inputs) - batch.target_cells).float()
    assert 1.5 < shift.abs().mean().item() < 4.0  # std 2.95 cells, clamped at the border
    again = train.batch(torch.arange(8), torch.Generator().manual_seed(0))
    assert torch.equal(again.inputs, batch.inputs)
    coords = windows("coordinates", 0).batch(torch.arange(8), torch.Generator().manual_seed(0))
    assert coords.inputs.shape == (8, 5, 25, 2) and torch.equal(coords.targets, batch.target_cells.float())


def run_fit(tmp_path, stop_after: int | None = None, epochs: int = 3):
    torch.manual_seed(0)
    model = new_model("conv3d", seed=0, size=SIZE, window=5, device=torch.device("cpu"))
    recipe = Recipe(lr=1e-3, batch_size=4, max_epochs=epochs, windows_per_epoch=12, select_threshold=0.05, validate_first=True)
    seen = []

    def on_epoch(record):
        seen.append(record)
        if stop_after is not None and record["epoch"] == stop_after and len(seen) == stop_after + 1:
            raise KeyboardInterrupt  # a kill right after the checkpoint of this epoch was written

    weights, history = fit(model, windows("heatmaps", 1), windows("heatmaps", 2), recipe,
                           CheckpointDir(tmp_path, "run"), seed=0, size=SIZE, on_epoch=on_epoch)
    return weights, history, seen


def test_killed_and_resumed_training_equals_uninterrupted(tmp_path):
    straight_weights, straight_history, _ = run_fit(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        run_fit(tmp_path / "killed", stop_after=2)
    weights, history, replayed = run_fit(tmp_path / "killed")
    assert [r["epoch"] for r in replayed] == [0, 1, 2, 3]  # the logger sees the whole history again
    assert np.array_equal(timeless(history), timeless(straight_history), equal_nan=True)
    assert all(torch.equal(weights[k], straight_weights[k]) for k in weights)


def timeless(history: list[dict]) -> np.ndarray:
    """The history without its wall-clock columns, which differ between any two runs."""
    return np.array([[float(v) for k, v in r.items() if k not in ("seconds", "windows_per_s")] for r in history])


def test_a_checkpoint_of_another_configuration_is_not_resumed(tmp_path):
    run_fit(tmp_path, epochs=1)
    state = CheckpointDir(tmp_path, "other run").load()
    assert state is None
    assert CheckpointDir(tmp_path, "run").load()["epoch"] == 1


def test_non_finite_loss_names_epoch_and_batch(tmp_path):
    model = new_model("conv3d", seed=0, size=SIZE, window=5, device=torch.device("cpu"))
    with torch.no_grad():
        model.conv.weight.fill_(float("nan"))
    recipe = Recipe(lr=1e-3, batch_size=4, max_epochs=1, windows_per_epoch=8, select_threshold=0.2)
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, batch 0"):
        fit(model, windows("heatmaps", 1), windows("heatmaps", 2), recipe, CheckpointDir(tmp_path, "x"), seed=0, size=SIZE)


class FailsAtCall(torch.nn.Module):
    """Conv3D whose output turns to NaN from its `failing`-th training call on."""

    def __init__(self, failing: int) -> None:
        super().__init__()
        self.inner = new_model("conv3d", seed=0, size=SIZE, window=5, device=torch.device("cpu"))
        self.input_kind, self.failing, self.calls = "heatmaps", failing, 0

    def forward(self, x):
        self.calls += self.training
        out = self.inner(x)
        return out * float("nan") if self.training and self.calls > self.failing else out


def test_a_non_finite_loss_after_the_first_read_back_still_names_its_batch(tmp_path, monkeypatch):
    # Losses are read back in groups of READ_BACK_EVERY steps: the error must still name the batch.
    monkeypatch.setattr(loop, "READ_BACK_EVERY", 4)
    recipe = Recipe(lr=1e-3, batch_size=1, max_epochs=1, windows_per_epoch=0, select_threshold=0.2)
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, batch 6;"):
        fit(FailsAtCall(failing=6), windows("heatmaps", 1), windows("heatmaps", 2), recipe,
            CheckpointDir(tmp_path, "x"), seed=0, size=SIZE)


def test_compiled_training_matches_eager_training(tmp_path):
    def train(compile_model: bool):
        model = new_model("conv3d", seed=0, size=SIZE, window=5, device=torch.device("cpu"))
        recipe = Recipe(lr=1e-3, batch_size=4, max_epochs=2, windows_per_epoch=12, select_threshold=0.2)
        return fit(model, windows("heatmaps", 1), windows("heatmaps", 2), recipe,
                   CheckpointDir(tmp_path / str(compile_model), "run"), seed=0, size=SIZE, compile_model=compile_model)

    (eager_weights, eager_history), (weights, history) = train(False), train(True)
    assert np.allclose(timeless(history), timeless(eager_history), rtol=1e-4, equal_nan=True)
    assert set(weights) == set(eager_weights)  # the plain model's keys, no compile wrapper prefix
    assert all(torch.allclose(weights[k], eager_weights[k], atol=1e-5) for k in weights)


def test_zero_epochs_keep_the_initial_weights_and_validate_once(tmp_path):
    """pretrain.max_epochs 0: the model goes to finetuning as initialised (conv3d_depthwise: the identity)."""
    model = new_model("conv3d_depthwise", seed=0, size=SIZE, window=5, device=torch.device("cpu"))
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    recipe = Recipe(lr=1e-3, batch_size=4, max_epochs=0, windows_per_epoch=8, select_threshold=0.2)
    weights, history = fit(model, windows("heatmaps", 1), windows("heatmaps", 2), recipe, CheckpointDir(tmp_path, "x"),
                           seed=0, size=SIZE)
    assert [r["epoch"] for r in history] == [0] and history[0]["windows"] == 0
    assert all(torch.equal(weights[k], initial[k]) for k in initial)


def test_only_pretraining_may_have_zero_epochs():
    from climbpose.core.config import ParamsError, _check_budget

    _check_budget("pretrain", 0, 0, 16, 1e-3)
    with pytest.raises(ParamsError, match="finetune.max_epochs must be >= 1"):
        _check_budget("finetune", 0, 0, 16, 1e-3)
