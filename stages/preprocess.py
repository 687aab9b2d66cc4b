"""Stage preprocess: estimator heatmaps -> normalised inputs, annotated keypoints -> target heatmaps."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from climbpose.config import load_params
from climbpose.data.preprocess import preprocess_video
from climbpose.io import save_npz, write_json

EXTRACTED = Path("data/extracted")
KEYPOINTS = Path("data/synthetic/keypoints")
OUT = Path("data/preprocessed")


def member_bytes(path: Path) -> dict[str, int]:
    """Compressed bytes on disk of each array in an npz file."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename.removesuffix(".npy"): info.compress_size for info in archive.infolist()}


def main() -> None:
    params = load_params()
    files = sorted(EXTRACTED.glob("*.npz"))
    totals = {"frames": 0, "frames_usable": 0, "keypoints_present": 0, "input_maps_all_zero": 0, "input_bytes": 0, "target_bytes": 0}
    for path in tqdm(files, desc="preprocess", unit="video"):
        with np.load(path) as estimate, np.load(KEYPOINTS / path.name) as annotation:
            result = preprocess_video(
                estimate["heatmaps"], estimate["bboxes"], estimate["detected"], annotation["keypoints"],
                c=params.heatmaps.c, sigma=params.heatmaps.sigma,
            )
        out = OUT / path.name
        save_npz(out, **result)
        usable = result["usable"]
        sizes = member_bytes(out)
        totals["frames"] += len(usable)
        totals["frames_usable"] += int(usable.sum())
        totals["keypoints_present"] += int(result["present"].sum())
        # All-zero estimator maps are allowed (their argmax is cell 0) but worth knowing about.
        totals["input_maps_all_zero"] += int(((result["inputs"].max(axis=(2, 3)) == 0) & usable[:, None]).sum())
        totals["input_bytes"] += sizes["inputs"]
        totals["target_bytes"] += sizes["targets"]
    frames = max(totals["frames"], 1)
    write_json("metrics/preprocess.json", {
        "videos": len(files),
        **{k: totals[k] for k in ("frames", "frames_usable", "keypoints_present", "input_maps_all_zero")},
        "input_bytes_per_frame": round(totals["input_bytes"] / frames),
        "target_bytes_per_frame": round(totals["target_bytes"] / frames),
    })


if __name__ == "__main__":
    main()
