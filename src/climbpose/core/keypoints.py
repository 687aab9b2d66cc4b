"""The 25-keypoint layout of the project (docs/design.md#keypoints) and how it relates to BlazePose's 33."""

from __future__ import annotations

NAMES: tuple[str, ...] = (
    "nose",
    "left_ear", "right_ear",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
K = len(NAMES)
INDEX = {name: i for i, name in enumerate(NAMES)}


def _counterpart(name: str) -> str:
    for side, other in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(side):
            return other + name[len(side):]
    return name


# Each keypoint's left/right counterpart (the nose its own): what a left/right swap of the estimator exchanges.
MIRROR: tuple[int, ...] = tuple(INDEX[_counterpart(name)] for name in NAMES)

# BlazePose's 33 landmarks without the six eye points and the two mouth points.
BLAZEPOSE_CHANNELS: tuple[int, ...] = (0, 7, 8, *range(11, 33))

# Rows of the per-part tables: each left/right pair is averaged into one row.
PARTS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("Nose", (0,)),
    ("Ear", (1, 2)),
    ("Shoulder", (3, 4)),
    ("Elbow", (5, 6)),
    ("Wrist", (7, 8)),
    ("Pinky", (9, 10)),
    ("Index finger", (11, 12)),
    ("Thumb", (13, 14)),
    ("Hip", (15, 16)),
    ("Knee", (17, 18)),
    ("Ankle", (19, 20)),
    ("Heel", (21, 22)),
    ("Foot", (23, 24)),
)

# Keypoints that define the torso diameter used to normalise PCK (docs/design.md#pck).
LEFT_SHOULDER, RIGHT_SHOULDER = INDEX["left_shoulder"], INDEX["right_shoulder"]
LEFT_HIP, RIGHT_HIP = INDEX["left_hip"], INDEX["right_hip"]

# Bones for drawing skeletons.
EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2),
    (3, 4), (3, 15), (4, 16), (15, 16),
    (3, 5), (5, 7), (7, 9), (7, 11), (7, 13), (9, 11),
    (4, 6), (6, 8), (8, 10), (8, 12), (8, 14), (10, 12),
    (15, 17), (17, 19), (19, 21), (19, 23), (21, 23),
    (16, 18), (18, 20), (20, 22), (20, 24), (22, 24),
)

assert K == 25 and len(BLAZEPOSE_CHANNELS) == K
