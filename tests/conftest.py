"""Fixtures shared across test modules: one run of the tiny pipeline for the whole session."""

from __future__ import annotations

import pytest

from tests.dvc_repo import TinyPipeline, history, make_tiny_repo, outputs


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory) -> TinyPipeline:
    repo = make_tiny_repo(tmp_path_factory.mktemp("tiny-pipeline"))
    first = repo.dvc("repro").stdout
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "tiny pipeline results")
    return TinyPipeline(repo, first, outputs(repo.root), history(repo.root))
