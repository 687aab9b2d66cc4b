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
* `command`: `predict()` (all of the above) and the command line (`arguments`: its options).
"""

from importlib import import_module

# Names -> the submodule holding them, imported on first use (PEP 562), so that `climbpose --help`
# and the parser (`arguments`) do not pay for torch and OpenCV.
_EXPORTS = {
    "Prediction": "clip", "model_inputs": "clip", "predict_clip": "clip",
    "predict": "command", "run": "command",
    "add_arguments": "arguments",
    "PredictError": "errors",
    "choose_device": "loading", "default_estimator_dir": "loading", "default_model": "loading",
    "load_trained_model": "loading", "project_root": "loading",
    "CSV_COLUMNS": "outputs", "frame_json": "outputs", "json_header": "outputs", "output_paths": "outputs",
    "render_overlay": "outputs", "write_csv": "outputs", "write_prediction_json": "outputs",
    "FrameSource": "sources", "open_input": "sources",
    "WindowRefiner": "windows",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
