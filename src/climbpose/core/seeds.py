"""The random streams derived from params.yaml's `seed`, named by what they are for.

A derived stream is `np.random.SeedSequence([seed, OFFSETS[purpose] + index])`, where `index`
numbers the items of one purpose (videos, sequences, epochs). Each item has a stream of its own,
so adding videos or epochs leaves the existing ones as they were.

    purpose             offset      index       drawn by
    video               0           video i     synthesize stage, one rendered video each
    epoch               0           epoch e     training: epoch e's window order and input noise,
                                                epoch 0 the validation noise (train.loop)
    ood_video           1_000_000   video i     ood stage, one held-out-domain video each
    penn_action_split   2_000_001   0           pretraining's Penn Action train/val groups
    brace_split         2_000_002   0           pretraining's BRACE train/val groups
    pretrain_sequence   3_000_000   sequence i  pretraining's synthetic motions
    ground_video        4_000_000   video i     synthesize stage's videos of people on the floor

The offsets are frozen: every rendered video, split and trained weight is reproduced from them
byte for byte, so none may change without a reason and a new purpose takes an offset no other
range reaches. `video` and `epoch` share one (video e's seed is epoch e's, but they feed unrelated
generators). Pretraining's synthetic motion has had its own range since it was found sharing the
held-out videos' (motion i and held-out video i drew the same bodies and moves, so a pretrained
model had seen the test set's motion): every stream that feeds the motion generator now starts
from a seed no other one uses.

Uses of `seed` itself, not derived here: the split stage's block assignment
(`np.random.default_rng(seed)`, data.split), a model's initial weights (`torch.manual_seed(seed)`)
and the evaluate stage's batches (a torch generator seeded with `seed`).
Inside one video the generator splits the video's seed into its own streams (synth.generate).
"""

from __future__ import annotations

import numpy as np

OFFSETS: dict[str, int] = {
    "video": 0,
    "epoch": 0,
    "ood_video": 1_000_000,
    "penn_action_split": 2_000_001,
    "brace_split": 2_000_002,
    "pretrain_sequence": 3_000_000,
    "ground_video": 4_000_000,
}


def stream(seed: int, purpose: str, index: int = 0) -> np.random.SeedSequence:
    """The seed sequence of item `index` of `purpose` (a key of OFFSETS)."""
    return np.random.SeedSequence([seed, OFFSETS[purpose] + index])


def derived_seed(seed: int, purpose: str, index: int = 0) -> int:
    """`stream(...)` as one 32-bit integer, for code that takes an integer seed."""
    return int(stream(seed, purpose, index).generate_state(1)[0])
