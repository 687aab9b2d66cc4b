"""Known answers for the contract between stages: threshold and metric keys, their parsing, the
headline keys, and the names params.yaml may hold agreeing with the registries."""

import pytest

from climbpose.core import contract
from climbpose.core.contract import headline_keys, metric_key, parse_metric_key, threshold_key


@pytest.mark.parametrize("threshold, key", [(0.05, "005"), (0.1, "010"), (0.2, "020"), (1.0, "100"), (0.025, "002p5")])
def test_threshold_keys(threshold, key):
    assert threshold_key(threshold) == key


def test_metric_keys_and_their_parsing_round_trip():
    assert metric_key("model_pck", 0.2) == "model_pck_020"
    assert metric_key("val_identity_pck", 0.2, "Index finger") == "val_identity_pck_020_index_finger"
    assert parse_metric_key("model_pck_020") == ("model_pck", 0.2, None)
    assert parse_metric_key("val_identity_pck_020_index_finger") == ("val_identity_pck", 0.2, "index_finger")
    assert parse_metric_key("one_euro_broken_002p5") == ("one_euro_broken", 0.025, None)
    # Settings and counts carry no threshold.
    assert parse_metric_key("savgol_window_length") is None and parse_metric_key("model_frames_scored") is None
    for t in (0.05, 0.1, 0.2, 0.025, 0.5):
        assert parse_metric_key(metric_key("x_thr", t))[1] == pytest.approx(t)


def test_headline_keys_are_ten_per_split():
    assert headline_keys() == ["model_pck_005", "model_pck_010", "model_pck_020", "identity_pck_005",
                               "identity_pck_010", "identity_pck_020", "subcells_pck_005", "subcells_pck_010",
                               "subcells_pck_020", "model_broken_020"]
    assert headline_keys("model_feed_targets")[0] == "model_feed_targets_pck_005"


def test_names_agree_with_the_registries():
    from climbpose.estimator.base import ESTIMATOR_CLASSES
    from climbpose.estimator.make import make_estimator
    from climbpose.core.model_registry import model_names, model_spec
    from climbpose.models import build_model

    for name in model_names():
        assert isinstance(build_model(name, size=8, window=5), model_spec(name).model_class())
    with pytest.raises(ValueError):
        make_estimator("no-such-estimator")  # fills the registry
    assert set(ESTIMATOR_CLASSES) == set(contract.ESTIMATORS)
    assert contract.FINETUNE_SELECT_THRESHOLD in contract.THRESHOLDS and contract.PRETRAIN_SELECT_THRESHOLD in contract.THRESHOLDS
