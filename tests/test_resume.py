"""Finished parts of interrupted work: reused only for the same fingerprint and the same input."""

import os
from pathlib import Path

from climbpose.core.resume import PartsDir, fingerprint


def test_a_part_counts_as_finished_only_with_its_note_and_an_unchanged_source(tmp_path):
    source = tmp_path / "video.mp4"
    source.write_bytes(b"frames")
    parts = PartsDir(tmp_path / "parts", "a" * 64)
    part = parts.path / "video.npz"
    assert parts.finished(part, source) is None
    part.write_bytes(b"heatmaps")
    assert parts.finished(part, source) is None  # written, but the run was killed before the note
    parts.mark_finished(part, source, {"frames": 3})
    assert parts.finished(part, source) == {"frames": 3}
    os.utime(source, ns=(0, 0))  # the video was replaced since
    assert parts.finished(part, source) is None


def test_opening_the_parts_of_one_fingerprint_drops_those_of_any_other(tmp_path):
    old = PartsDir(tmp_path / "parts", "old-settings")
    (old.path / "video.npz").write_bytes(b"heatmaps")
    new = PartsDir(tmp_path / "parts", "new-settings")
    assert not old.path.exists() and new.path.is_dir()
    new.remove()
    assert not (tmp_path / "parts").exists()


def test_fingerprint_changes_with_the_config_the_files_and_the_code(tmp_path):
    weights = tmp_path / "model.tflite"
    weights.write_bytes(b"one")
    code = tmp_path / "step.py"
    code.write_text("x = 1\n")
    base = fingerprint({"size": 56}, [weights], [code])
    assert base == fingerprint({"size": 56}, [weights], [code])
    assert base != fingerprint({"size": 64}, [weights], [code])
    code.write_text("x = 2\n")
    assert base != fingerprint({"size": 56}, [weights], [code])
    code.write_text("x = 1\n")
    weights.write_bytes(b"two")
    assert base != fingerprint({"size": 56}, [weights], [code])


def test_training_fingerprints_hash_what_training_runs_not_the_whole_package():
    from climbpose.core.imports import closure

    repo = Path(__file__).resolve().parents[1]
    package = repo / "src" / "climbpose"
    pretrain = closure(repo / "stages" / "pretrain.py")
    # A fix to PCK (it selects the kept epoch) changes the pretraining fingerprint ...
    assert package / "evaluate" / "pck.py" in pretrain and package / "train" / "loop.py" in pretrain
    # ... a table layout or the predict command does not.
    assert package / "report" / "tables.py" not in pretrain
    assert not any(package / "predict" in path.parents for path in pretrain)
