"""`climbpose predict`: refine the pose in a new climbing video with a trained temporal model.

    python -m climbpose predict INPUT --out DIR [--model models/finetuned.pt] [--step 2] ...

INPUT is a video file or a folder of frame images. Per frame, the frozen estimator (BlazePose, or
precomputed heatmaps) gives 25 heatmaps over a person box; the temporal model refines windows of
them; both the raw and the refined keypoints are mapped back to image pixels and written as
`DIR/<name>.keypoints.csv`, `DIR/<name>.keypoints.json` and an overlay video `DIR/<name>.overlay.mp4`.

The modules, in the order the work happens:

* `sources`: the input, a video file or a frame folder, read lazily;
* `loading`: the trained model, its device and the estimator, with one-line errors (`errors`);
* `clip`: the estimator on every frame, the training preprocessing, pixels (a `Prediction`);
* `windows`: the windowed refiner (sequences, padding, averaging overlapping windows);
* `outputs`: the CSV, JSON and overlay video;
* `command`: `predict()` (all of the above) and the command line.
"""

from climbpose.predict.clip import Prediction, model_inputs, predict_clip
from climbpose.predict.command import add_arguments, predict, run
from climbpose.predict.errors import PredictError
from climbpose.predict.loading import choose_device, default_estimator_dir, default_model, load_trained_model, project_root
from climbpose.predict.outputs import (CSV_COLUMNS, frame_json, json_header, output_paths, render_overlay,
                                       write_csv, write_prediction_json)
from climbpose.predict.sources import FrameSource, open_input
from climbpose.predict.windows import WindowRefiner

__all__ = [
    "CSV_COLUMNS", "FrameSource", "PredictError", "Prediction", "WindowRefiner", "add_arguments", "choose_device",
    "default_estimator_dir", "default_model", "frame_json", "json_header", "load_trained_model", "model_inputs",
    "open_input", "output_paths", "predict", "predict_clip", "project_root", "render_overlay", "run", "write_csv",
    "write_prediction_json",
]
