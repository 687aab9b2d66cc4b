"""An estimator that replays heatmaps stored earlier, one npz file per video.

Use it for heatmaps from an estimator this project cannot run (the thesis' own, a cloud API) or to
re-read what `extract` wrote. File `<directory>/<video>.npz` holds
    heatmaps (T, 25, S, S), bboxes (T, 4) x1y1x2y2 image pixels,
    optional detected (T,) bool   (default: the box is non-empty, x2 > x1 and y2 > y1),
    optional scores (T, 25)       (default: 1 where detected, else 0),
    optional keypoints (T, 25, 2) (default: the heatmap argmax mapped back to image pixels).

Usage: `est = Precomputed(directory); est.reset("video_name")` (or `est.start_video(path)`, which
uses the file's stem, as `extract` does), then call it once per frame.
The frame argument is ignored (it may be None), so a caller that reads the video anyway can pass
the frames, and one that does not need them can skip decoding. Files are read and checked by
`climbpose.data.estimates.read_estimates`. Reading past the last stored frame, or `end_video`
with fewer frames than stored, raises a DataError: the npz and the video disagree about their
length.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from climbpose.core.checks import DataError, check_frame_count
from climbpose.data.estimates import read_estimates
from climbpose.estimator.base import Estimator, FrameEstimate, register
from climbpose.heatmaps import argmax_cells, cells_to_image
from climbpose.core.keypoints import K


@register("precomputed")
class Precomputed(Estimator):
    """Replays `<directory>/<video>.npz` frame by frame; `reset(video)` selects the video."""

    def __init__(self, directory: str | os.PathLike, video: str | None = None,
                 heatmap_size: int | None = None) -> None:
        """`heatmap_size`, if given, is checked against every file read (a guard, not a resize)."""
        self.directory = Path(directory)
        self.expected_size = heatmap_size
        if heatmap_size is not None:
            self.heatmap_size = heatmap_size
        self.video: str | None = None
        self._t = 0
        self._arrays: dict[str, np.ndarray] = {}
        if video is not None:
            self.reset(video)

    def reset(self, video: str | None = None) -> None:
        """Rewind to frame 0; with a name, switch to that video (its file stem) first."""
        if video is not None and video != self.video:
            self._arrays = self._load(self.directory / f"{Path(video).stem}.npz")
            self.video = video
        self._t = 0

    def start_video(self, video_path: str | os.PathLike) -> None:
        """Select the npz named after the video file (its stem) and rewind."""
        self.reset(Path(video_path).stem)

    def __len__(self) -> int:
        return len(self._arrays["bboxes"]) if self._arrays else 0

    def _load(self, path: Path) -> dict[str, np.ndarray]:
        if not path.is_file():
            raise DataError(f"{path}: no precomputed heatmaps for this video (estimator.precomputed_dir)")
        arrays = read_estimates(path, self.expected_size)  # shapes, dtypes, finite values, boxes
        detected = arrays["detected"]
        if arrays["scores"] is None:
            arrays["scores"] = np.repeat(detected[:, None].astype(np.float32), K, axis=1)
        self.heatmap_size = arrays["heatmaps"].shape[-1]
        self._path = path
        return arrays

    def end_video(self, frames: int) -> None:
        """The video had `frames` frames: the file must have held exactly as many."""
        check_frame_count(self._path, len(self), "its video", frames)

    def __call__(self, frame_rgb_uint8: np.ndarray | None = None) -> FrameEstimate:
        if not self._arrays:
            raise RuntimeError("Precomputed: call reset(video_name) before the first frame")
        t = self._t
        if t >= len(self):
            raise DataError(f"{self._path}: only {len(self)} precomputed frames, but its video has more; "
                            "they must describe the same frames")
        self._t += 1
        a = self._arrays
        if not a["detected"][t]:
            return FrameEstimate.empty(self.heatmap_size)
        heatmaps = a["heatmaps"][t].astype(np.float32)
        if a["keypoints"] is not None:
            keypoints = a["keypoints"][t]
        else:
            cells = argmax_cells(heatmaps)
            keypoints = cells_to_image(cells, a["bboxes"][t], self.heatmap_size).numpy().astype(np.float32)
        return FrameEstimate(heatmaps=heatmaps, bbox=a["bboxes"][t].copy(), detected=True,
                             scores=a["scores"][t].copy(), keypoints=keypoints.copy())
