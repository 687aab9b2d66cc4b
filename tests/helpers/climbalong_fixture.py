"""A small dataset in ClimbAlong's delivery format, made from the synthetic climber's keypoints.

    python tests/helpers/climbalong_fixture.py OUT_DIR [--videos 6] [--frames 120] [--seed 0]

writes OUT_DIR/inputs/<video>.npz (bboxes, heatmaps as raw logits: negative background, a bump
near each keypoint, a few frames of pure noise) and OUT_DIR/targets/<video>.npz (keypoints
x, y, visibility; (0, 0, 0) where not annotated). Video 1 is cut at an empty box in its middle;
the last video has only 20 annotated keypoints in its first frame, so the thesis' 23-keypoint
rule skips it. No estimator, nothing rendered: a few seconds for the whole folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from climbpose.core.io import save_npz
from climbpose.core.keypoints import K
from climbpose.synth import sample_keypoint_sequence


def heatmap_logits(cells: np.ndarray, size: int, rng: np.random.Generator, noise_frames: np.ndarray) -> np.ndarray:
    """(T, K, 2) float cells (x, y) -> (T, K, size, size) float32 logits, background -4."""
    grid = np.arange(size, dtype=np.float32)
    dx = grid[None, None, None, :] - cells[..., 0, None, None]
    dy = grid[None, None, :, None] - cells[..., 1, None, None]
    maps = (9.0 * np.exp(-(dx**2 + dy**2) / (2 * 1.5**2)) - 4.0).astype(np.float32)
    maps[noise_frames] = rng.normal(-1.0, 1.0, maps[noise_frames].shape).astype(np.float32)
    return maps


def make_video(seed: int, frames: int, size: int = 56, noise_frames: int = 3, empty_at: int | None = None,
               first_frame_annotated: int = K, shape_with_person_axis: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Arrays of one video: {"inputs": {...}, "targets": {...}} in ClimbAlong's format."""
    rng = np.random.default_rng(seed)
    truth = sample_keypoint_sequence(seed, frames)  # (T, 25, 3) pixels x, y and visible 0/1
    xy = truth[..., :2]
    low, high = xy.min(axis=1), xy.max(axis=1)
    centre, side = (low + high) / 2, (high - low).max(axis=1, keepdims=True) * 1.2
    centre = centre + rng.normal(0, 4, centre.shape)  # the delivered box jitters around the climber
    boxes = np.concatenate([centre - side / 2, centre + side / 2], axis=1).astype(np.float32)
    cells = (xy - boxes[:, None, :2]) * size / (boxes[:, None, 2:] - boxes[:, None, :2])
    cells = np.clip(cells + rng.normal(0, 1.5, cells.shape), 0, size - 1)  # estimator error
    bad = rng.choice(frames, size=min(noise_frames, frames), replace=False)
    heatmaps = heatmap_logits(cells.astype(np.float32), size, rng, bad)
    if empty_at is not None:
        boxes[empty_at] = 0.0
        heatmaps[empty_at] = 0.0
    # ClimbAlong's visibility: 1 seen, 0 placed but hidden; (0, 0, 0) marks "not annotated".
    keypoints = np.concatenate([xy, truth[..., 2:]], axis=-1).astype(np.float32)
    unannotated = rng.random((frames, K)) < 0.02
    unannotated[0] = False
    unannotated[0, rng.choice(K, size=K - first_frame_annotated, replace=False)] = True
    keypoints[unannotated] = 0.0
    if shape_with_person_axis:
        keypoints = keypoints[:, None]
    return {"inputs": {"bboxes": boxes, "heatmaps": heatmaps}, "targets": {"keypoints": keypoints}}


def write_climbalong_dataset(out: str | Path, videos: int = 6, frames: int = 120, seed: int = 0, size: int = 56) -> list[str]:
    """Write a ClimbAlong-format folder; returns the video names. Video 1 has an empty box in its
    middle, the last video fails the 23-keypoint rule (with at least 3 videos)."""
    out = Path(out)
    names = []
    for i in range(videos):
        name = f"climb_{i:02d}"
        arrays = make_video(
            seed * 1000 + i, frames + 7 * (i % 3), size,
            empty_at=(frames // 2 if i == 1 else None),
            first_frame_annotated=(20 if i == videos - 1 and videos >= 3 else K),
            shape_with_person_axis=(i % 2 == 0),
        )
        save_npz(out / "inputs" / f"{name}.npz", **arrays["inputs"])
        save_npz(out / "targets" / f"{name}.npz", **arrays["targets"])
        names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = write_climbalong_dataset(args.out, args.videos, args.frames, args.seed)
    print(f"{args.out}: {len(names)} videos ({', '.join(names)})")


if __name__ == "__main__":
    main()
