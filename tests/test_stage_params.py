"""Each stage's `params:` in dvc.yaml covers every value of params.yaml the stage reads.

A read that is not listed leaves `dvc status` "up to date" after that value changes (finetune
once read `split.window` and `model` unlisted, safe only through upstream outputs). Measured, not
remembered: every stage runs once, in this process, in a copy of the session's tiny pipeline,
while every attribute read on the params objects (in the stage script or anywhere in the library
it calls) is recorded. Reads made while params.yaml is loaded and validated do not count, nor
does the whole-file fingerprint a model file carries (`models.file.params_hash`), nor reads
inside worker processes (the tiny pipeline uses one worker per stage).
"""

from __future__ import annotations

import dataclasses
import os
import runpy
import sys
from pathlib import Path

import pytest
import yaml

from climbpose.core import config
from climbpose.models import file as model_file

pytestmark = pytest.mark.slow

STAGES = yaml.safe_load((Path(__file__).resolve().parents[1] / "dvc.yaml").read_text())["stages"]
ORDER = ["fetch_estimator", "synthesize", "extract", "preprocess", "ood", "split", "pretrain", "finetune", "evaluate"]


def param_classes() -> list[type]:
    return [value for value in vars(config).values() if dataclasses.is_dataclass(value) and isinstance(value, type)]


@pytest.fixture(scope="module")
def reads(tiny_pipeline, tmp_path_factory) -> dict[str, set[str]]:
    """Stage -> the params.yaml keys ('split.window', 'model') its run read."""
    repo = tiny_pipeline.copy(tmp_path_factory.mktemp("params-reads"))
    sections: dict[int, str] = {}  # id of a loaded params object -> its section ('' for the top level)
    read: set[str] = set()
    recording = [False]
    original_load = config.load_params
    original_getattribute = {cls: cls.__getattribute__ for cls in param_classes()}

    def load_params(*args, **kwargs):
        recording[0] = False
        params = original_load(*args, **kwargs)
        sections.clear()
        sections[id(params)] = ""
        for field in dataclasses.fields(params):
            value = object.__getattribute__(params, field.name)
            if dataclasses.is_dataclass(value):
                sections[id(value)] = field.name
        recording[0] = True
        return params

    def recorder(cls):
        def getattribute(self, name):
            value = original_getattribute[cls](self, name)
            # A property (frame_step) is not a key: the keys it reads are recorded as it reads them.
            if (recording[0] and not name.startswith("__") and id(self) in sections
                    and not isinstance(getattr(cls, name, None), property)):
                section = sections[id(self)]
                if not dataclasses.is_dataclass(value) and not callable(value):
                    read.add(f"{section}.{name}" if section else name)
            return value
        return getattribute

    out: dict[str, set[str]] = {}
    previous = os.getcwd()
    patch = pytest.MonkeyPatch()
    try:
        patch.setattr(config, "load_params", load_params)
        # A model file's params_hash fingerprints the whole params.yaml it was trained under: a
        # label of the file, not an input of what the stage computes.
        original_hash = model_file.params_hash

        def params_hash(params):
            recording[0], was = False, recording[0]
            try:
                return original_hash(params)
            finally:
                recording[0] = was

        patch.setattr(model_file, "params_hash", params_hash)
        for cls in original_getattribute:
            patch.setattr(cls, "__getattribute__", recorder(cls))
        os.chdir(repo.root)
        for stage in ORDER:
            read.clear()
            script = repo.root / "stages" / f"{stage}.py"
            patch.setattr(sys, "argv", [str(script)])
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as done:
                assert done.code in (None, 0), f"stage {stage} exited with {done.code}"
            out[stage] = set(read)
    finally:
        recording[0] = False
        os.chdir(previous)
        patch.undo()
    return out


def covered(key: str, listed: list[str]) -> bool:
    return any(key == entry or key.startswith(entry + ".") for entry in listed)


@pytest.mark.parametrize("stage", ORDER)
def test_every_params_value_a_stage_reads_is_listed(reads, stage):
    listed = [entry if isinstance(entry, str) else next(iter(entry)) for entry in STAGES[stage].get("params", [])]
    missing = sorted(key for key in reads[stage] if not covered(key, listed))
    assert not missing, f"dvc.yaml stage {stage} reads {', '.join(missing)} without listing them under params:"
    assert reads[stage] or stage == "fetch_estimator", f"stage {stage}: no params read were recorded"
