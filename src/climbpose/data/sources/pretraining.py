"""The pretraining keypoint sequences of `pretrain.sources`, split into training and validation.

Each source gives (T, 25, 3) sequences of x, y, visible in pixels with NaN where it lacks a
keypoint: `synthetic` the render-free motion generator (as many sequences as
`pretrain.sequences`), `penn_action` one per video, `brace` one per segment. Sequences are cut at
frames without any keypoint and pieces too short for one window are dropped.

Validation takes about `val_fraction` of every source's sequences. For `synthetic` it is the
last ones, as always (the draws are independent). For the datasets it is whole groups (a Penn
Action video, a BRACE YouTube video with all its segments) in a seeded order, so a dancer's
moves do not sit on both sides of the split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from climbpose.core.seeds import derived_seed, stream
from climbpose.data.sources import SourceError
from climbpose.data.windows import true_runs


@dataclass
class PretrainingData:
    train: list[np.ndarray] = field(default_factory=list)
    val: list[np.ndarray] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # the dataset files read (for checkpoint fingerprints)
    counts: dict[str, int] = field(default_factory=dict)  # flat: <source>_train / <source>_val sequences


def split_at_gaps(keypoints: np.ndarray, min_length: int = 1) -> list[np.ndarray]:
    """Cut a (T, 25, 3) sequence at frames without any annotated keypoint.

    Such frames have no box to map into (the pretraining box, docs/design.md#the-pretraining-box,
    is the tight box of the annotated keypoints), so windows must not contain them. Returns the runs
    of at least `min_length` frames.
    """
    starts, lengths = true_runs(np.isfinite(keypoints[..., :2]).all(axis=-1).any(axis=-1))
    return [keypoints[a:a + n] for a, n in zip(starts, lengths) if n >= min_length]


def synthetic_sequences(seed: int, sequences: int, frames: int) -> list[np.ndarray]:
    """The motion generator's sequences, one independent seed each (adding some keeps the others)."""
    from climbpose.synth import sample_keypoint_sequence  # the generator is only needed for this source

    seeds = [derived_seed(seed, "pretrain_sequence", i) for i in range(sequences)]
    return [sample_keypoint_sequence(s, frames) for s in seeds]


def _grouped(source: str, directory: str) -> tuple[list[tuple[str, np.ndarray]], list[Path]]:
    """(group, sequence) pairs of a dataset and the files they came from."""
    if source == "penn_action":
        from climbpose.data.sources import penn_action

        files = penn_action.label_files(directory)
        return [(v.name, v.keypoints) for v in map(penn_action.load_video, files)], files
    if source == "brace":
        from climbpose.data.sources import brace

        files = brace.segment_files(directory)
        return [(s.video_id, s.keypoints) for s in map(brace.load_segment, files)], files
    raise ValueError(f"unknown pretraining source {source!r}")  # a bug: config validates sources


def _split_groups(groups: list[str], val_fraction: float, rng: np.random.Generator) -> set[str]:
    """Groups for validation: in a seeded order until they hold val_fraction of the sequences."""
    names, sizes = np.unique(np.asarray(groups), return_counts=True)
    if len(names) < 2:
        raise SourceError(f"pretraining needs at least 2 videos per dataset source, got {len(names)}")
    target = max(1, round(val_fraction * len(groups)))
    chosen, held = set(), 0
    for i in rng.permutation(len(names)):
        if held >= target or len(chosen) == len(names) - 1:
            break  # always leave training at least one group
        chosen.add(str(names[i]))
        held += int(sizes[i])
    return chosen


def pretraining_data(sources: tuple[str, ...], seed: int, val_fraction: float, min_length: int,
                     synthetic: tuple[int, int] = (0, 0), dirs: dict[str, str] | None = None) -> PretrainingData:
    """Training and validation sequences of every source, in the order of `sources`.

    synthetic: (sequences, frames) of the motion generator; dirs: source -> dataset folder.
    min_length: the window span, the shortest piece worth keeping.
    """
    out = PretrainingData()
    dirs = dirs or {}
    for source in sources:
        if source == "synthetic":
            sequences = synthetic_sequences(seed, *synthetic)
            n_val = max(1, round(val_fraction * len(sequences)))
            train, val = sequences[:-n_val], sequences[-n_val:]
        else:
            pairs, files = _grouped(source, dirs[source])
            out.files += files
            # A stream per dataset: listing the sources in another order keeps each dataset's split.
            rng = np.random.default_rng(stream(seed, f"{source}_split"))
            held = _split_groups([g for g, _ in pairs], val_fraction, rng)
            pieces = [(g, piece) for g, seq in pairs for piece in split_at_gaps(seq, min_length)]
            train = [p for g, p in pieces if g not in held]
            val = [p for g, p in pieces if g in held]
        out.train += train
        out.val += val
        out.counts[f"{source}_train"], out.counts[f"{source}_val"] = len(train), len(val)
    if not out.train or not out.val:
        raise SourceError(f"pretraining has {len(out.train)} training and {len(out.val)} validation sequences; both need some")
    return out
