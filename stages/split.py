"""Stage split: windows of k frames and the seeded train/validation/test split
(docs/design.md#windows-and-the-split).

Reads params.yaml (seed, experiment, split) and data/preprocessed. Writes data/split/{train,val,
test}.csv (video, start, step per window) and reports/data/split.json (windows and frames per set).
"""

from __future__ import annotations

from pathlib import Path

from climbpose.core.config import load_params
from climbpose.data.dataset import SPLIT_SETS, format_split_rows, load_frame_store
from climbpose.data.split import SplitError, split_windows
from climbpose.core.io import atomic_dir, write_json, write_text
from climbpose.core.errors import run_stage

OUT = Path("data/split")
PREPROCESSED = Path("data/preprocessed")


def main() -> None:
    params = load_params()
    p = params.split
    store = load_frame_store(PREPROCESSED, keys=("usable",))
    usable = [store.arrays["usable"][a:b] for a, b in zip(store.offsets[:-1], store.offsets[1:])]
    try:
        result = split_windows(
            usable, k=p.window, step=params.frame_step, fractions=(p.train, p.val, p.test),
            by=p.by, block=p.block, seed=params.seed,
        )
    except SplitError as error:
        raise SplitError(f"{PREPROCESSED}: {error} (params.yaml: split.window={p.window}, split.by={p.by}, "
                         f"experiment={params.experiment})") from None
    with atomic_dir(OUT) as folder:  # all three files or none
        for name in SPLIT_SETS:
            write_text(folder / f"{name}.csv", format_split_rows(store.names, result.rows[name]))
    write_json("reports/data/split.json", result.summary)
    print(result.summary)


if __name__ == "__main__":
    run_stage(main, __doc__)
