"""Stage ood: an out-of-domain test set from the held-out rendering domain (synth.domain.HELD_OUT),
run through the frozen estimator and the preprocessing exactly like the training data.

Why: a model can win on the synthetic test set by learning the synthetic climbers' patterns and
still move keypoints onto wrong body parts on other footage. These videos differ from the
training domain in bodies, clothes, wall, lighting, camera and motion
(docs/design.md#the-held-out-domain-ood), and no training stage reads them.

Seeds: video i renders from stream i of "ood_video" (climbpose.core.seeds), which no "video"
stream of the synthesize stage reaches below a million training videos.
Odd-numbered videos show a person moving on the floor (`..._ground`), even ones a climb
(`..._climb`): the name says which, for per-motion results.

Writes (data/ood appears whole or not at all): videos/*.mp4 and keypoints/*.npz (as
data/synthetic), extracted/*.npz (as data/extracted, BlazePose with the extract stage's
settings), preprocessed/*.npz (as data/preprocessed); reports/data/ood.json.

Reads params.yaml (seed, ood, extract, estimator, heatmaps) and models/estimator.
"""

from __future__ import annotations

import logging
import time
from multiprocessing import Pool
from pathlib import Path

from tqdm import tqdm

from climbpose.core.config import DataParams, OodParams, load_params
from climbpose.data.preprocess import preprocess_video
from climbpose.data.sources.finetuning import Skipped, estimator_videos, finetuning_videos
from climbpose.core.errors import run_stage
from climbpose.estimator.extract import extract_videos
from climbpose.core.io import atomic_dir, save_npz, write_json
from climbpose.core.seeds import derived_seed
from climbpose.synth import generate_video
from climbpose.synth.domain import HELD_OUT
from climbpose.video import write_mp4

OUT = Path("data/ood")
WEIGHTS = Path("models/estimator")


def video_jobs(seed: int, p: OodParams) -> list[tuple[str, int, str]]:
    """(name, seed, motion) of every video: independent seeds, so adding videos keeps the others."""
    jobs = []
    for i in range(p.videos):
        motion = "ground" if i % 2 else "climb"
        jobs.append((f"ood_{i:03d}_{motion}", derived_seed(seed, "ood_video", i), motion))
    return jobs


def render_one(job: tuple[str, int, str, OodParams, Path]) -> str:
    name, seed, motion, p, out = job
    frames, keypoints = generate_video(seed, p.frames, width=p.width, height=p.height, fps=p.fps,
                                       domain=HELD_OUT, motion=motion)
    write_mp4(out / "videos" / f"{name}.mp4", frames, fps=p.fps, codec="mp4v")
    save_npz(out / "keypoints" / f"{name}.npz", keypoints=keypoints)
    return name


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = load_params()
    p = params.ood
    if params.estimator.name != "blazepose":
        print(f"ood: estimator.name is {params.estimator.name}; the held-out videos have no precomputed "
              "heatmaps, so they go through BlazePose (models/estimator)")
    jobs = video_jobs(params.seed, p)
    times = {}
    with atomic_dir(OUT) as out:
        for folder in ("videos", "keypoints", "extracted", "preprocessed"):
            (out / folder).mkdir()
        start = time.perf_counter()
        work = [(*job, p, out) for job in jobs]
        if p.workers == 1 or p.videos == 1:
            for _ in tqdm(map(render_one, work), total=len(work), desc="ood render", unit="video"):
                pass
        else:
            with Pool(processes=min(p.workers, p.videos)) as pool:
                for _ in tqdm(pool.imap(render_one, work), total=len(work), desc="ood render", unit="video"):
                    pass
        times["render"] = time.perf_counter() - start
        # The synthetic source's own readers, pointed at this folder: the same files, checks and
        # order as the extract and preprocess stages use for data/synthetic. Built whole, not from
        # the user's `data` section, whose other keys concern their own source and are not deps.
        source = DataParams(source="synthetic", dir=str(out), min_first_frame_keypoints=0, cut_at_empty_box=False,
                            keypoint_map={}, frame_number_base=0)
        start = time.perf_counter()
        stats = extract_videos(
            estimator_videos(source), out / "extracted", workers=params.extract.workers,
            threads=params.extract.threads, estimator="blazepose", heatmap_size=params.heatmaps.size,
            model_dir=WEIGHTS, box_margin=params.estimator.box_margin, fetch=False, label="ood extract",
        )
        times["extract"] = time.perf_counter() - start
        start = time.perf_counter()
        usable, without_person = 0, []
        for video in tqdm(finetuning_videos(source, out / "extracted", params.heatmaps.size), total=len(jobs),
                          desc="ood preprocess", unit="video"):
            assert not isinstance(video, Skipped)  # the synthetic source never skips
            result = preprocess_video(video.heatmaps, video.bboxes, video.detected, video.keypoints,
                                      c=params.heatmaps.c, sigma=params.heatmaps.sigma,
                                      landmarks=video.landmarks, scores=video.scores)
            if not result["usable"].any():
                # Nothing to score (the estimator found nobody): counted, not written.
                without_person.append(video.name)
                continue
            save_npz(out / "preprocessed" / f"{video.name}.npz", **result)
            usable += int(result["usable"].sum())
        times["preprocess"] = time.perf_counter() - start
    frames = sum(s["frames"] for s in stats)
    detected = sum(s["frames"] * s["detected_fraction"] for s in stats)
    if without_person:
        print(f"ood: no person found in {', '.join(without_person)}; left out of data/ood/preprocessed")
    print("ood: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    # Times are printed, not stored: metrics must be identical for identical inputs.
    write_json("reports/data/ood.json", {
        "videos": len(jobs),
        "videos_not_climbing": sum(motion != "climb" for _, _, motion in jobs),
        "frames": frames,
        "detected_fraction": round(detected / max(frames, 1), 4),
        "frames_usable": usable,
        "videos_without_person": len(without_person),
    })


if __name__ == "__main__":
    run_stage(main, __doc__)
