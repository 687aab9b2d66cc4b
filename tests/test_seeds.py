"""The derived seeds are part of every stored output: these values must never change."""

from __future__ import annotations

import numpy as np

from climbpose.core.seeds import OFFSETS, derived_seed, stream

# Purposes whose seeds feed the synthetic body and motion generator (synth.simulate).
MOTION_PURPOSES = ("video", "ood_video", "pretrain_sequence", "ground_video")


def test_derived_seeds_keep_their_values():
    assert {p: derived_seed(0, p, 3) for p in OFFSETS} == {
        "video": 2613022947, "epoch": 2613022947, "ood_video": 2611493770, "penn_action_split": 2807336805,
        "brace_split": 4043076487, "pretrain_sequence": 1523810751, "ground_video": 90631517}
    assert derived_seed(42, "ood_video", 0) == int(np.random.SeedSequence([42, 1_000_000]).generate_state(1)[0])


def test_no_two_motion_streams_share_a_seed():
    # A held-out video drawn from the same seed as a pretraining motion would show the pretrained
    # model the test set's bodies and moves; the ranges must stay apart for any realistic count.
    seeds = {p: {derived_seed(0, p, i) for i in range(2_000)} for p in MOTION_PURPOSES}
    for a in MOTION_PURPOSES:
        for b in MOTION_PURPOSES:
            if a < b:
                assert not seeds[a] & seeds[b], (a, b)


def test_a_stream_seeds_a_generator_like_its_entropy_list():
    drawn = np.random.default_rng(stream(5, "brace_split")).random(3)
    assert np.array_equal(drawn, np.random.default_rng([5, 2_000_002]).random(3))
