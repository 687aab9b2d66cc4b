"""The model registry (`climbpose.core.model_registry`): what a registration is checked for, how
params.yaml's `model_options` reach a model and its file, and that a new model is one file plus
its registration: a toy model added to a copy of the tiny project trains and is scored by the real
`pretrain`, `finetune` and `evaluate` stages (docs/extending.md#adding-a-temporal-model).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
import yaml

from climbpose.core.config import ParamsError, params_from_dict
from climbpose.core.errors import InputError
from climbpose.core.model_registry import (ModelSpec, label_of, model_names, model_spec, register, thesis_models,
                                           unregister)
from climbpose.models import build_model
from climbpose.models.file import describe_run, load_model, save_model
from climbpose.report.experiments import Run
from climbpose.report.tables import model_rows
from tests.dvc_repo import REPO


def project_params(**changes) -> dict:
    values = yaml.safe_load((REPO / "params.yaml").read_text())
    values.update(changes)
    return values


@pytest.fixture
def toy():
    """A registered toy model (the identity class under another name) for one test."""
    spec = register(ModelSpec("toy_gain", "Toy gain", "climbpose.models.identity:Identity"))
    yield spec
    unregister(spec.name)


def test_the_thesis_models_come_first_in_its_order():
    assert thesis_models() == ("conv3d", "deciwatch", "bi_convlstm_sum", "bi_convlstm_concat")
    assert model_names()[:4] == thesis_models()
    assert label_of("bi_convlstm_sum") == "bi-ConvLSTM sum" and label_of("removed_model") == "removed_model"


@pytest.mark.parametrize("spec, message", [
    (dict(name="Toy"), "lower case"),
    (dict(factory="climbpose.models.identity.Identity"), "package.module:Class"),
    (dict(shape=("height",)), "unknown shape argument 'height'"),
    (dict(options={"width": "wide"}), "bool, int or float default"),
    (dict(options={"size": 3}, shape=("size",)), "option 'size' is also"),
])
def test_a_malformed_registration_is_refused(spec, message):
    fields = {"name": "toy", "label": "Toy", "factory": "climbpose.models.identity:Identity", **spec}
    with pytest.raises(ValueError, match=message):
        ModelSpec(**fields)


def test_a_name_is_registered_once(toy):
    with pytest.raises(ValueError, match="'toy_gain' is registered already"):
        register(ModelSpec("toy_gain", "Again", "climbpose.models.identity:Identity"))
    assert "toy_gain" in model_names()


def test_options_are_laid_over_the_defaults_with_their_types():
    spec = model_spec("conv3d_depthwise")
    assert spec.resolved_options() == {"kernel_size": 5, "trust_radius": 2}
    assert spec.resolved_options({"trust_radius": 1.0}) == {"kernel_size": 5, "trust_radius": 1}
    assert type(spec.resolved_options({"trust_radius": 1.0})["trust_radius"]) is int
    flag = ModelSpec("flag", "Flag", "climbpose.models.identity:Identity", options={"on": False, "rate": 0.5})
    assert flag.resolved_options({"rate": 1}) == {"on": False, "rate": 1.0}
    with pytest.raises(ValueError, match="model_options.flag.on must be true or false"):
        flag.resolved_options({"on": 1})
    with pytest.raises(ValueError, match="model_options.flag.rate must be a number"):
        flag.resolved_options({"rate": True})


def test_params_refuse_options_of_an_unknown_model_or_option_in_one_line():
    with pytest.raises(ParamsError, match="model_options: 'nope' is not one of conv3d, deciwatch"):
        params_from_dict(project_params(model_options={"nope": {}}))
    with pytest.raises(ParamsError, match=r"model smoothnet has no option 'depth' \(its options: width, blocks\)"):
        params_from_dict(project_params(model_options={"smoothnet": {"depth": 3}}))
    params = params_from_dict(project_params(model_options={"smoothnet": {"width": 32}}))
    assert params.options_of("smoothnet") == {"width": 32, "blocks": 2}
    assert params.options_of("conv3d") == {}


def test_the_model_file_records_the_options_and_load_model_rebuilds_with_them(tmp_path):
    params = params_from_dict(project_params(model="conv3d_depthwise",
                                             model_options={"conv3d_depthwise": {"trust_radius": 1}}))
    description = describe_run(params, "finetune", [])
    assert description["options"] == {"kernel_size": 5, "trust_radius": 1}
    trained = build_model("conv3d_depthwise", options=description["options"])
    save_model(tmp_path / "m.pt", "conv3d_depthwise", 56, 5, trained.state_dict(), [], description)
    loaded, _ = load_model(tmp_path / "m.pt", torch.device("cpu"))
    assert loaded.trust_radius == 1
    # A file from before options were recorded: built with the registered defaults.
    save_model(tmp_path / "old.pt", "conv3d_depthwise", 56, 5, trained.state_dict(), [])
    assert load_model(tmp_path / "old.pt", torch.device("cpu"))[0].trust_radius == 2


def test_a_model_file_of_an_unregistered_model_fails_in_one_line(tmp_path):
    save_model(tmp_path / "m.pt", "retired_model", 56, 5, {}, [])
    with pytest.raises(InputError, match=r"m\.pt: unknown model 'retired_model'; valid: conv3d,"):
        load_model(tmp_path / "m.pt", torch.device("cpu"))


def test_the_tables_label_a_registered_model_and_put_the_default_first(toy):
    runs = [Run("a", "workspace", {"model": "toy_gain"}), Run("b", "workspace", {"model": "deciwatch"})]
    assert model_rows(runs) == (("toy_gain", "Toy gain"), ("conv3d", "Conv3D"), ("deciwatch", "DeciWatch"),
                                ("bi_convlstm_sum", "bi-ConvLSTM sum"), ("bi_convlstm_concat", "bi-ConvLSTM concat"))


# A heatmap model with one option: every map times a learnt per-keypoint gain, starting at `gain`.
# A positive gain leaves each map's argmax where it was, so its PCK must equal the identity's.
TOY_MODEL = '''\
"""A toy temporal model: each keypoint's maps times a learnt gain."""

import torch
from torch import nn


class ToyGain(nn.Module):
    input_kind = "heatmaps"

    def __init__(self, num_keypoints: int = 25, gain: float = 1.0) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.full((num_keypoints, 1, 1), float(gain)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain
'''
TOY_REGISTRATION = ('\nregister(ModelSpec("toy_gain", "Toy gain", "climbpose.models.toy_gain:ToyGain", ("num_keypoints",),\n'
                    '                   options={"gain": 1.0}))\n')


def test_a_new_model_is_one_file_and_a_registration(tiny_pipeline, tmp_path):
    repo = tiny_pipeline.copy(tmp_path)
    package = repo.root / "src" / "climbpose"
    (package / "models" / "toy_gain.py").write_text(TOY_MODEL)
    with open(package / "core" / "model_registry.py", "a") as registry:
        registry.write(TOY_REGISTRATION)
    values = yaml.safe_load((repo.root / "params.yaml").read_text())
    values["model"] = "toy_gain"
    values["model_options"]["toy_gain"] = {"gain": 2.0}
    values["pretrain"]["skip_models"] = ["toy_gain"]  # pretrained.pt then holds the initial weights
    values["finetune"]["max_epochs"] = 1
    (repo.root / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))

    for stage in ("pretrain", "finetune", "evaluate"):
        result = subprocess.run([sys.executable, f"stages/{stage}.py"], cwd=repo.root, capture_output=True, text=True,
                                env={**repo.env, "PYTHONPATH": "src"}, timeout=300)
        assert result.returncode == 0, f"{stage}: {result.stderr[-2000:]}"

    initial = torch.load(repo.root / "models" / "pretrained.pt", weights_only=True)["state_dict"]["gain"]
    assert torch.all(initial == 2.0)  # the option reached the constructor
    payload = torch.load(repo.root / "models" / "finetuned.pt", weights_only=True)
    assert payload["model"] == "toy_gain" and payload["options"] == {"gain": 2.0}
    assert [record["epoch"] for record in payload["history"]][-1] == 1  # it trained one epoch
    assert payload["history"][-1]["train_loss"] > 0
    test = repo.metrics("test")
    for t in ("005", "010", "020"):
        assert test[f"model_pck_{t}"] == test[f"identity_pck_{t}"]
    assert (repo.root / "reports" / "evaluation" / "results.md").read_text().count("toy_gain") >= 1
