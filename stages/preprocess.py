"""Stage preprocess: estimator heatmaps -> normalised inputs, annotated keypoints -> target heatmaps.

The videos, their estimator output and their annotations come from `data.source`
(`climbpose.data.sources.finetuning`); videos a source cannot use are listed and skipped.

Reads params.yaml (data, heatmaps), data/extracted and the ground truth of data.dir. Writes
data/preprocessed/<video>.npz and reports/data/preprocess.json (frames, usable frames, keypoints).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tqdm import tqdm

from climbpose.core.config import load_params
from climbpose.core.checks import check_has_person
from climbpose.data.preprocess import preprocess_video
from climbpose.data.sources import SourceError
from climbpose.data.sources.finetuning import Skipped, finetuning_videos
from climbpose.core.errors import run_stage
from climbpose.core.io import atomic_dir, save_npz, write_json

EXTRACTED = Path("data/extracted")
OUT = Path("data/preprocessed")


def member_bytes(path: Path) -> dict[str, int]:
    """Compressed bytes on disk of each array in an npz file."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename.removesuffix(".npy"): info.compress_size for info in archive.infolist()}


def main() -> None:
    params = load_params()
    totals = {"frames": 0, "frames_usable": 0, "keypoints_present": 0, "input_maps_all_zero": 0, "input_bytes": 0, "target_bytes": 0}
    written, skipped = 0, []
    # Every video is read and checked on the way (climbpose.core.checks); the folder replaces the
    # old one only when all are written, so a bad file or a kill midway leaves no partial set.
    with atomic_dir(OUT) as folder:
        for video in tqdm(finetuning_videos(params.data, EXTRACTED, params.heatmaps.size), desc="preprocess", unit="video"):
            if isinstance(video, Skipped):
                skipped.append(video)
                tqdm.write(f"skipped {video.name}: {video.reason}")
                continue
            result = preprocess_video(video.heatmaps, video.bboxes, video.detected, video.keypoints,
                                      c=params.heatmaps.c, sigma=params.heatmaps.sigma,
                                      landmarks=video.landmarks, scores=video.scores)
            check_has_person(video.where or video.name, result["usable"])
            out = folder / f"{video.name}.npz"
            save_npz(out, **result)
            written += 1
            usable = result["usable"]
            sizes = member_bytes(out)
            totals["frames"] += len(usable)
            totals["frames_usable"] += int(usable.sum())
            totals["keypoints_present"] += int(result["present"].sum())
            # All-zero estimator maps are allowed (their argmax is cell 0) but worth knowing about.
            totals["input_maps_all_zero"] += int(((result["inputs"].max(axis=(2, 3)) == 0) & usable[:, None]).sum())
            totals["input_bytes"] += sizes["inputs"]
            totals["target_bytes"] += sizes["targets"]
        if not written:
            raise SourceError(f"{params.data.dir}: every video of data.source={params.data.source} was skipped")
    frames = max(totals["frames"], 1)
    metrics = {
        "videos": written,
        **{k: totals[k] for k in ("frames", "frames_usable", "keypoints_present", "input_maps_all_zero")},
        "input_bytes_per_frame": round(totals["input_bytes"] / frames),
        "target_bytes_per_frame": round(totals["target_bytes"] / frames),
    }
    # Only sources that can skip report it, so the synthetic default's metrics stay as they were.
    if params.data.source != "synthetic":
        metrics["videos_skipped"] = len(skipped)
    if skipped:
        print(f"preprocess: {len(skipped)} videos skipped: {', '.join(s.name for s in skipped)}")
    if totals["input_maps_all_zero"]:
        print(f"preprocess: {totals['input_maps_all_zero']} estimator heatmaps of frames with a person are all zero "
              "(kept; counted as input_maps_all_zero in reports/data/preprocess.json)")
    write_json("reports/data/preprocess.json", metrics)


if __name__ == "__main__":
    run_stage(main, __doc__)
