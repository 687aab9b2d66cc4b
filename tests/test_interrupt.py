"""A killed `dvc repro` picks up where it stopped and ends with the metrics of an uninterrupted run.

On a copy of the session's tiny pipeline (tests/conftest.py): its uninterrupted `dvc repro` gives
the reference. Then `dvc repro` is killed (SIGTERM to its whole process group, as a job scheduler
does) while `extract` has written some videos' files, and again (SIGINT, as Ctrl-C does) while
`finetune` is past its first epoch; neither leaves a partial output or a temporary behind, the
second run extracts only the videos the first had not finished, and a last `dvc repro` resumes
finetuning from its checkpoint. Every metrics/*.json, reports/data/*.json and the evaluation's scores.json must then be
byte-identical to the reference (on the CPU everything is deterministic; wall times live in
reports/, not metrics/), and so must the finetuning history apart from its time columns.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.dvc_repo import BIN, DvcRepo, history, outputs
from tests.processes import terminal_sigint

pytestmark = pytest.mark.slow


def repro_killed(repo: DvcRepo, when, sig: int, timeout: float = 180) -> str:
    """Run `dvc repro`; once `when()` holds, send `sig` to its process group. Returns the output."""
    proc = subprocess.Popen([str(BIN / "dvc"), "repro"], cwd=repo.root, env=repo.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=terminal_sigint)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not when():
        assert time.monotonic() < deadline, "".join(lines)[-3000:]
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before the moment to kill it:\n" + "".join(lines)[-3000:]
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    output = "".join(lines)
    assert proc.returncode != 0, output[-3000:]
    return output


def leftovers(root: Path) -> list[Path]:
    """Hidden temporaries of atomic writes (climbpose.core.io) anywhere in the outputs."""
    return [p for folder in ("data", "models", "checkpoints", "metrics") for p in (root / folder).rglob(".*")
            if ".partial-" in p.name or p.suffix in (".npz", ".pt", ".json", ".mp4")]


def test_killed_extract_and_finetune_resume_to_the_uninterrupted_metrics(tiny_pipeline, tmp_path):
    repo = tiny_pipeline.copy(tmp_path)
    reference, reference_history = tiny_pipeline.outputs, tiny_pipeline.history
    assert {"reports/data/extract.json", "reports/data/preprocess.json", "reports/data/split.json", "metrics/val.json",
            "metrics/test.json", "reports/evaluation/scores.json"} <= set(reference)

    # Forget extract's output and the finetuning state, and DVC's cache (which would restore
    # them), so that both stages run again as on a first run; pretraining is kept.
    for path in ("data/extracted", "checkpoints/finetune", "models/finetuned.pt", ".dvc/cache"):
        target = repo.root / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()

    data, parts = repo.root / "data", repo.root / "checkpoints" / "extract"
    out = repro_killed(repo, lambda: any(parts.glob("*/*.done.json")), signal.SIGTERM)
    assert "Running stage 'extract'" in out and "Running stage 'preprocess'" not in out
    assert not (data / "extracted").exists()  # some videos were done, but no partial folder became the output
    assert not leftovers(repo.root)

    checkpoint = repo.root / "checkpoints" / "finetune" / "last.pt"
    out = repro_killed(repo, checkpoint.is_file, signal.SIGINT)
    assert re.search(r"resuming: [12] of 3 videos were extracted by an earlier, interrupted run", out), out[-3000:]
    assert not parts.exists()  # removed once data/extracted was complete
    assert "Running stage 'finetune'" in out and "finetune epoch 4" not in out
    assert checkpoint.is_file() and not (repo.root / "models" / "finetuned.pt").exists()
    assert not leftovers(repo.root)

    last = repo.dvc("repro")
    assert "resuming after epoch" in last.stdout
    assert "Running stage 'pretrain'" not in last.stdout and "Running stage 'extract'" not in last.stdout
    assert outputs(repo.root) == reference
    assert history(repo.root) == reference_history
    assert not leftovers(repo.root)
