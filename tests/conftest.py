"""Shared across test modules: one run of the tiny pipeline for the whole session, and the
hypothesis profile of mutation testing."""

from __future__ import annotations

import os

import pytest
from hypothesis import Phase, settings

from tests.dvc_repo import TinyPipeline, history, make_tiny_repo, outputs

# `make mutation` runs the fast tests once per mutant: a failing example is all it needs, and
# shrinking one (seconds) would only turn caught mutants into timeouts.
settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate])
if os.environ.get("HYPOTHESIS_PROFILE") == "mutation":
    settings.load_profile("mutation")


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory) -> TinyPipeline:
    repo = make_tiny_repo(tmp_path_factory.mktemp("tiny-pipeline"))
    first = repo.dvc("repro").stdout
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "tiny pipeline results")
    return TinyPipeline(repo, first, outputs(repo.root), history(repo.root))
