"""Stage synthesize: render the embedded default dataset (climbing videos + exact keypoints).

`synthesize.videos` climbs (`clip_<i>`) and `synthesize.ground_videos` videos of a person moving on
the floor in front of the wall (`ground_<i>`), all of the training rendering domain; the split
stage shares both kinds out to train, validation and test alike.

With another `data.source` nothing is rendered: the output folders are left empty (DVC needs
them to exist) and the stage takes no time.

Reads params.yaml (seed, synthesize, data.source). Writes data/synthetic/videos/*.mp4 and
data/synthetic/keypoints/*.npz (the exact 25 keypoints per frame).
"""

from __future__ import annotations

from multiprocessing import Pool
from pathlib import Path

from tqdm import tqdm

from climbpose.core.config import SynthesizeParams, load_params
from climbpose.core.errors import run_stage
from climbpose.core.io import atomic_dir, save_npz
from climbpose.core.seeds import derived_seed
from climbpose.synth import generate_video
from climbpose.video import write_mp4

OUT = Path("data/synthetic")


def video_jobs(seed: int, p: SynthesizeParams) -> list[tuple[str, int, str]]:
    """(name, seed, motion) of every video. One independent seed each, from a stream per kind, so
    adding videos of either kind leaves every other video as it was."""
    climbs = [(f"clip_{i:03d}", derived_seed(seed, "video", i), "climb") for i in range(p.videos)]
    ground = [(f"ground_{i:03d}", derived_seed(seed, "ground_video", i), "ground") for i in range(p.ground_videos)]
    return climbs + ground


def render_one(job: tuple[str, int, str, SynthesizeParams, Path]) -> str:
    name, seed, motion, p, out = job
    frames, keypoints = generate_video(seed, p.frames, width=p.width, height=p.height, fps=p.fps, motion=motion)
    write_mp4(out / "videos" / f"{name}.mp4", frames, fps=p.fps, codec="mp4v")
    save_npz(out / "keypoints" / f"{name}.npz", keypoints=keypoints)
    return name


def main() -> None:
    params = load_params()
    p = params.synthesize
    # The dataset appears whole or not at all (the extract stage reads every video in the folder).
    with atomic_dir(OUT) as out:
        for folder in ("videos", "keypoints"):
            (out / folder).mkdir()
        if params.data.source != "synthetic":
            print(f"synthesize: data.source is {params.data.source}; nothing to render")
            return
        jobs = [(*job, p, out) for job in video_jobs(params.seed, p)]
        with Pool(processes=min(p.workers, len(jobs))) as pool:
            for _ in tqdm(pool.imap(render_one, jobs), total=len(jobs), desc="synthesize", unit="video"):
                pass


if __name__ == "__main__":
    run_stage(main, __doc__)
