"""params.yaml is type-checked and validated once, with one-line errors naming the key."""

from pathlib import Path

import pytest
import yaml

from climbpose.core.config import ParamsError, load_params, params_from_dict

REPO = Path(__file__).resolve().parents[1]


def repo_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_committed_params_load_and_match_defaults_where_documented():
    params = load_params(REPO / "params.yaml")
    assert params.heatmaps.size == 56 and params.heatmaps.c == 255.0
    assert (params.split.train, params.split.val, params.split.test) == (0.6, 0.2, 0.2)
    assert params.evaluate.normaliser == "torso"
    assert params.frame_step == 1


def test_experiment_3_halves_the_frame_rate():
    data = repo_params()
    data["experiment"] = 3
    assert params_from_dict(data).frame_step == 2


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("model",), "resnet", "model 'resnet' is not one of conv3d, deciwatch"),
        (("experiment",), 4, "experiment must be 1, 2 or 3"),
        (("s",), 3, "s must be 1 or 2"),
        (("heatmaps", "c"), 0, "heatmaps.c must be > 0"),
        (("finetune", "lr"), 0, "finetune.lr must be > 0"),
        (("pretrain", "lr"), -1e-3, "pretrain.lr must be > 0"),
        (("pretrain", "skip_models"), ["conv3d", "resnet"], "pretrain.skip_models: 'resnet' is not one of conv3d"),
        (("finetune", "max_epochs"), 0, "finetune.max_epochs must be >= 1"),
        (("train", "device"), "tpu", "train.device 'tpu' is not one of auto, cpu, cuda"),
        (("heatmaps", "size"), 4, "heatmaps.size must be >= 8"),
        (("split", "train"), 0.7, "must sum to 1"),
        (("split", "window"), "five", "'split.window' must be an integer"),
        (("synthesize", "frames"), 2.5, "'synthesize.frames' must be an integer"),
        (("evaluate", "feed_targets"), "yes", "'evaluate.feed_targets' must be true or false"),
        (("split", "by"), "random", "split.by 'random' is not one of frames, videos"),
        (("heatmaps", "colour"), 1, "unknown key 'heatmaps.colour'"),
        (("ood", "ground_videos"), 2, "unknown key 'ood.ground_videos'"),  # ood sets its own floor share
        (("learning_rate",), 1, "unknown key 'learning_rate'"),
    ],
)
def test_bad_values_fail_with_the_key_named(path, value, message):
    assert_rejected(path, value, message)


def assert_rejected(path: tuple[str, ...], value, message: str) -> None:
    """Set one key of the committed params to `value`; loading must fail with one line holding `message`."""
    data = repo_params()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ParamsError) as error:
        params_from_dict(data)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_heatmap_smaller_than_window_is_rejected():
    data = repo_params()
    data["heatmaps"]["size"] = 8
    data["split"]["window"] = 9
    with pytest.raises(ParamsError, match="heatmaps.size must be >= split.window"):
        params_from_dict(data)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ParamsError, match="no such file"):
        load_params(tmp_path / "absent.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)


def test_a_missing_key_is_named():
    data = repo_params()
    del data["finetune"]["lr"]
    with pytest.raises(ParamsError, match="missing key 'finetune.lr'"):
        params_from_dict(data)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("heatmaps", "c"), float("inf"), "'heatmaps.c' must be a finite number"),
        (("finetune", "lr"), float("nan"), "'finetune.lr' must be a finite number"),
        (("split", "val"), float("nan"), "'split.val' must be a finite number"),
        (("split", "block"), 4, "split.block (4) must be >= the window span (5 frames"),
        (("pretrain", "frames"), 3, "pretrain.frames (3) must be >= the window span (5 frames)"),
        (("synthesize", "frames"), 4, "synthesize.frames (4) must be >= the window span (5 frames)"),
        (("synthesize", "ground_videos"), -1, "synthesize.ground_videos must be >= 0"),
        (("heatmaps", "sigma"), 0, "heatmaps.sigma must be > 0"),
        (("finetune", "batch_size"), 0, "finetune.batch_size must be >= 1"),
        (("split", "test"), 0.0, "split.test must be in (0, 1)"),
    ],
)
def test_non_finite_values_and_lengths_that_would_fail_late(path, value, message):
    """Checked when params.yaml is read, before any stage does heavy work."""
    assert_rejected(path, value, message)


def test_experiment_3_needs_blocks_of_its_longer_span():
    data = repo_params()
    data["experiment"], data["split"]["block"] = 3, 8
    with pytest.raises(ParamsError, match=r"split.block \(8\) must be >= the window span \(9 frames"):
        params_from_dict(data)
