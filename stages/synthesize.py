"""Stage synthesize: render the embedded default dataset (climbing videos + exact keypoints).

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


def render_one(job: tuple[int, int, SynthesizeParams, Path]) -> str:
    index, seed, p, out = job
    frames, keypoints = generate_video(seed, p.frames, width=p.width, height=p.height, fps=p.fps)
    name = f"clip_{index:03d}"
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
        # One independent seed per video, so adding videos does not change the existing ones.
        seeds = [derived_seed(params.seed, "video", i) for i in range(p.videos)]
        jobs = [(i, seed, p, out) for i, seed in enumerate(seeds)]
        with Pool(processes=min(p.workers, p.videos)) as pool:
            for _ in tqdm(pool.imap(render_one, jobs), total=len(jobs), desc="synthesize", unit="video"):
                pass


if __name__ == "__main__":
    run_stage(main, __doc__)
