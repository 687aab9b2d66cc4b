"""Tiny files in the public formats the pipeline imports: Penn Action labels, BRACE segments,
COCO keypoint exports and the project's own annotation JSON (layouts: docs/data-formats.md#your-own-data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_penn_action_label(path: str | Path, x: np.ndarray, y: np.ndarray, visibility: np.ndarray,
                            bbox: np.ndarray, action: str = "squats", train: int = 1) -> None:
    """A Penn Action .mat label file; x, y (T, 13) in MATLAB's 1-based pixels."""
    from scipy.io import savemat

    t = len(x)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {"action": action, "pose": "front", "x": x.astype(np.float64), "y": y.astype(np.float64),
                   "visibility": visibility.astype(np.uint8), "train": train, "bbox": bbox.astype(np.float64),
                   "dimensions": np.array([[480, 640, t]], dtype=np.float64), "nframes": t})


def write_brace_segment(root: str | Path, year: int, video_id: str, start: int, end: int, movement: str,
                        keypoints: dict[int, np.ndarray], boxes: dict[int, list[float]] | None = None) -> Path:
    """A BRACE segment file; keypoints: frame number -> (17, 3) x, y, score in COCO order."""
    path = Path(root) / str(year) / video_id / f"{video_id}_{start}-{end}_{movement}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = {f"{video_id}/img-{n:06d}.png": {"box": (boxes or {}).get(n, [0, 0, 10, 10, 1.0]),
                                              "keypoints": np.asarray(k).tolist()} for n, k in keypoints.items()}
    path.write_text(json.dumps(frames))
    return path


def write_coco(path: str | Path, names: list[str], images: list[str], people: dict[str, list[np.ndarray]]) -> None:
    """A COCO keypoints file: `people` maps an image file name to the (J, 3) arrays of its people."""
    ids = {name: i + 1 for i, name in enumerate(images)}
    annotations = []
    for file_name, arrays in people.items():
        for values in arrays:
            annotations.append({"id": len(annotations) + 1, "image_id": ids[file_name], "category_id": 1,
                                "keypoints": np.asarray(values, dtype=float).ravel().tolist(),
                                "num_keypoints": int((np.asarray(values)[:, 2] > 0).sum()), "bbox": [0, 0, 1, 1]})
    data = {"images": [{"id": i, "file_name": n, "width": 64, "height": 48} for n, i in ids.items()],
            "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "keypoints": names, "skeleton": []}]}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data))


def write_project_json(path: str | Path, frames: dict[int, list], names: list[str] | None = None) -> None:
    """The project's annotation format: frame index -> one [x, y, v] per name."""
    data = {"frames": [{"index": i, "keypoints": k} for i, k in frames.items()]}
    if names is not None:
        data["keypoint_names"] = names
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data))
