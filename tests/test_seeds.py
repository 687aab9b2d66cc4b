"""The derived seeds are part of every stored output: these values must never change."""

from __future__ import annotations

import numpy as np

from climbpose.core.seeds import OFFSETS, derived_seed, stream


def test_derived_seeds_keep_their_values():
    assert {p: derived_seed(0, p, 3) for p in OFFSETS} == {
        "video": 2613022947, "epoch": 2613022947, "ood_video": 2611493770, "pretrain_sequence": 2611493770,
        "penn_action_split": 2807336805, "brace_split": 4043076487}
    assert derived_seed(42, "ood_video", 0) == int(np.random.SeedSequence([42, 1_000_000]).generate_state(1)[0])


def test_a_stream_seeds_a_generator_like_its_entropy_list():
    drawn = np.random.default_rng(stream(5, "brace_split")).random(3)
    assert np.array_equal(drawn, np.random.default_rng([5, 2_000_002]).random(3))
