"""The embedded default estimator: MediaPipe BlazePose "full" run through the TFLite interpreter.

Chain per frame (docs/design.md#the-estimator): person detector on the letterboxed frame ->
rotated square region -> landmark model on a 256x256 crop -> 25 keypoints, scores and heatmaps
resampled onto a square, axis-aligned person box (see `regions` for the box and all coordinate
conventions).

Video mode (the default): after a frame whose person flag is >= `min_presence`, the next frame's
region comes from the landmark model's own points 33 and 34 (hip centre, scale point), so the
detector runs only on the first frame, after `reset()`, and when tracking is lost. Unlike
MediaPipe, a frame on which tracking is lost is not given up: the detector runs on that same frame
and the landmark model is tried once more, so a lost track costs no frame.

Heatmaps: the landmark model outputs heatmap logits. The estimate stores sigmoid(logits)
resampled onto the box, not the clipped logits: a keypoint the model is unsure of often has a
map whose logits are all negative, which clipping (docs/design.md#model-inputs) would turn into an
all-zero map with no location at all, whereas its sigmoid still peaks at the right place.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from climbpose.estimator import regions as rg
from climbpose.estimator.base import Estimator, FrameEstimate, register
from climbpose.estimator.weights import MODEL_FILES, ensure_weights
from climbpose.core.keypoints import BLAZEPOSE_CHANNELS

DEFAULT_MODEL_DIR = Path("models/estimator")
_CHANNELS = np.asarray(BLAZEPOSE_CHANNELS)
_HIP_CENTRE, _SCALE_POINT = 33, 34  # the landmark model's alignment points (of 39)


def _load(path: Path, num_threads: int):
    # Imported here so that `import climbpose.estimator` works without the TFLite runtime.
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=num_threads)
    interp.allocate_tensors()
    return interp


def _outputs_by_shape(interp) -> dict[tuple[int, ...], int]:
    """Output tensor index by shape: the names (Identity, Identity_1, ...) carry no meaning."""
    return {tuple(int(s) for s in d["shape"]): d["index"] for d in interp.get_output_details()}


@register("blazepose")
class BlazePose(Estimator):
    """BlazePose detector + landmark model; one instance per process (interpreters are reused)."""

    def __init__(
        self,
        model_dir: str | os.PathLike = DEFAULT_MODEL_DIR,
        heatmap_size: int = 56,
        num_threads: int = 1,
        box_margin: float = 0.1,
        video_mode: bool = True,
        min_detection_score: float = 0.5,
        min_presence: float = 0.5,
        fetch: bool = True,
    ) -> None:
        model_dir = Path(model_dir)
        if fetch:
            ensure_weights(model_dir)
        missing = [n for n in MODEL_FILES if not (model_dir / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{model_dir}: missing {', '.join(missing)} (use fetch=True)")
        self.heatmap_size = int(heatmap_size)
        self.box_margin = float(box_margin)
        self.video_mode = bool(video_mode)
        self.min_detection_score = float(min_detection_score)
        self.min_presence = float(min_presence)

        self._det = _load(model_dir / "pose_detection.tflite", num_threads)
        self._det_in = self._det.get_input_details()[0]["index"]
        det_out = _outputs_by_shape(self._det)
        n = len(rg.detector_anchors())
        self._det_boxes, self._det_scores = det_out[(1, n, 12)], det_out[(1, n, 1)]
        self._anchors = rg.detector_anchors()

        self._lm = _load(model_dir / "pose_landmark_full.tflite", num_threads)
        self._lm_in = self._lm.get_input_details()[0]["index"]
        lm_out = _outputs_by_shape(self._lm)
        self._lm_points = lm_out[(1, 195)]
        self._lm_flag = lm_out[(1, 1)]
        self._lm_heatmaps = lm_out[(1, 64, 64, 39)]

        # Preallocated model inputs; the uint8 canvases are reused by cv2 as `dst`.
        s, c = rg.DETECTOR_SIZE, rg.CROP_SIZE
        self._det_u8 = np.zeros((s, s, 3), np.uint8)
        self._det_f32 = np.zeros((1, s, s, 3), np.float32)
        self._crop_u8 = np.zeros((c, c, 3), np.uint8)
        self._crop_f32 = np.zeros((1, c, c, 3), np.float32)

        self.detector_calls = 0
        self.landmark_calls = 0
        self._region: tuple[np.ndarray, float, float] | None = None

    def reset(self) -> None:
        self._region = None

    @property
    def interpreters(self) -> dict[str, object]:
        """The two TFLite interpreters, {"detector": ..., "landmark": ...} (for benchmarks)."""
        return {"detector": self._det, "landmark": self._lm}

    # -- the two models ---------------------------------------------------------------------

    def detect(self, frame: np.ndarray) -> tuple[np.ndarray, float, float] | None:
        """Run the detector; return the region (centre, side, rotation) in image pixels, or None."""
        h, w = frame.shape[:2]
        nw, nh, px, py = rg.letterbox(h, w)
        # INTER_AREA: a 4x downscale with bilinear sampling would alias thin limbs away.
        self._det_u8[:] = 0
        cv2.resize(frame, (nw, nh), dst=self._det_u8[py:py + nh, px:px + nw],
                   interpolation=cv2.INTER_AREA)
        np.multiply(self._det_u8, 2.0 / 255.0, out=self._det_f32[0], casting="unsafe")
        self._det_f32 -= 1.0
        self._det.set_tensor(self._det_in, self._det_f32)
        self._det.invoke()
        self.detector_calls += 1

        scores = rg.sigmoid(self._det.get_tensor(self._det_scores)[0, :, 0])
        keep = np.flatnonzero(scores >= self.min_detection_score)
        if keep.size == 0:
            return None
        raw = self._det.get_tensor(self._det_boxes)[0, keep]
        boxes, kps = rg.decode_detections(raw, self._anchors[keep])
        best = rg.best_detection(boxes, kps, scores[keep], self.min_detection_score)
        if best is None:
            return None
        img = rg.letterbox_to_image(best[1][:2] * rg.DETECTOR_SIZE, h, w)
        region = rg.region_from_points(img[0], img[1])
        return region if region[1] > 1.0 else None

    def landmarks(self, frame: np.ndarray, region: tuple[np.ndarray, float, float]):
        """Run the landmark model on a region; return (image_to_crop, points (39, 5), flag, logits)."""
        m = rg.crop_affine(*region)
        c = rg.CROP_SIZE
        # Replicated borders: zero borders pull edge landmarks inward by > 10 px
        # (docs/design.md#detector-and-region).
        cv2.warpAffine(frame, m, (c, c), dst=self._crop_u8, flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
        np.multiply(self._crop_u8, 1.0 / 255.0, out=self._crop_f32[0], casting="unsafe")
        self._lm.set_tensor(self._lm_in, self._crop_f32)
        self._lm.invoke()
        self.landmark_calls += 1
        flag = float(self._lm.get_tensor(self._lm_flag)[0, 0])
        points = self._lm.get_tensor(self._lm_points).reshape(39, 5)
        return m, points, flag, self._lm.get_tensor(self._lm_heatmaps)[0]

    # -- per frame --------------------------------------------------------------------------

    def __call__(self, frame_rgb_uint8: np.ndarray) -> FrameEstimate:
        frame = frame_rgb_uint8
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        result = None
        if self.video_mode and self._region is not None:
            result = self.landmarks(frame, self._region)
            if result[2] < self.min_presence:
                result = None  # lost the track: detect again on this same frame
        if result is None:
            region = self.detect(frame)
            if region is not None:
                result = self.landmarks(frame, region)
        if result is None or result[2] < self.min_presence:
            self._region = None
            return FrameEstimate.empty(self.heatmap_size)
        return self._estimate(*result)

    def _estimate(self, m: np.ndarray, points: np.ndarray, flag: float,
                  logits: np.ndarray) -> FrameEstimate:
        image_points = rg.apply_affine(rg.invert_affine(m), points[:, :2].astype(np.float64))
        if self.video_mode:
            self._region = rg.region_from_points(image_points[_HIP_CENTRE], image_points[_SCALE_POINT])
        box = rg.person_box(image_points[:33], self.box_margin)
        probs = rg.sigmoid(logits[:, :, _CHANNELS]).astype(np.float32)  # (64, 64, 25)
        heatmaps = rg.resample_hwc(probs, m, box, self.heatmap_size)
        return FrameEstimate(
            heatmaps=heatmaps,
            bbox=box,
            detected=True,
            scores=rg.sigmoid(points[_CHANNELS, 3]).astype(np.float32),
            keypoints=image_points[_CHANNELS].astype(np.float32),
        )
