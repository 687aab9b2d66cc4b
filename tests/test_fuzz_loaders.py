"""Property-based: malformed files fed to the loaders the stages use never end in a traceback.

Hypothesis builds files in every input format the pipeline reads (ClimbAlong inputs and targets,
the project's JSON and COCO annotations, extracted/precomputed estimator npz files, the synthetic
keypoint files, the preprocessed store) from a valid example, then breaks them: arrays of the
wrong shape or dtype, NaN, inf and huge values, missing and extra members, empty, truncated,
damaged or foreign bytes, JSON with wrong types, keys, nesting or NaN/Infinity literals. Every
case must end in a checked result or an InputError whose one-line message names the file.
About 1,400 cases in all; derandomized, so every run tries the same ones.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from climbpose.core.checks import nonempty_boxes
from climbpose.data.dataset import load_frame_store
from climbpose.data.estimates import read_estimates
from climbpose.data.sources import climbalong
from climbpose.data.sources.annotations import keypoint_array, read_annotation_file
from climbpose.data.sources.finetuning import read_keypoint_file
from climbpose.core.errors import InputError
from climbpose.estimator.precomputed import Precomputed
from climbpose.core.keypoints import K, NAMES

S = 4  # heatmap size: small keeps each case to a millisecond or two


def fuzz(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def outcome(call, *files: Path):
    """The loader's result, or None after an InputError naming one of `files` in one line.
    Any other exception fails the test (with its traceback, which is the point)."""
    try:
        return call()
    except InputError as error:
        message = str(error)
        assert "\n" not in message, message
        assert any(str(f) in message for f in files), message
        return None


# -- breaking arrays and files -----------------------------------------------------------------

ARRAY_DAMAGE = ["drop", "dtype", "resize", "add_dim", "drop_dim", "nan", "inf", "huge", "scalar", "text"]
FILE_DAMAGE = ["keep"] * 10 + ["truncate", "flip", "garbage", "empty", "npy", "pickle", "pickled_member", "compressed"]
FRAMES = st.integers(1, 4) | st.just(0)  # mostly a few frames; sometimes none
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8, np.bool_, np.complex64]


def damage_array(data, array: np.ndarray) -> np.ndarray | None:
    """A broken version of `array` (None: the member goes missing)."""
    how = data.draw(st.sampled_from(ARRAY_DAMAGE))
    a = np.array(array)
    if how == "drop":
        return None
    if how == "dtype":
        with np.errstate(invalid="ignore", over="ignore"):  # NaN to int and the like: garbage is the point
            return a.astype(data.draw(st.sampled_from(DTYPES)))
    if how == "resize" and a.ndim:
        shape = list(a.shape)
        shape[data.draw(st.integers(0, a.ndim - 1))] = data.draw(st.integers(0, 6))
        return np.resize(a, shape)
    if how == "add_dim":
        return a[None].repeat(data.draw(st.integers(1, 2)), axis=0)
    if how == "drop_dim" and a.ndim and len(a):
        return a[0]
    if how in ("nan", "inf", "huge") and a.size and a.dtype.kind == "f":
        value = {"nan": np.nan, "inf": data.draw(st.sampled_from([np.inf, -np.inf])), "huge": 1e300}[how]
        a = a.astype(np.float64) if how == "huge" else a.copy()
        a.flat[data.draw(st.integers(0, a.size - 1))] = value
        return a
    if how == "scalar":
        return np.array(data.draw(st.sampled_from([0, 1.5, True])))
    if how == "text":
        return np.array(["x"] * max(1, min(a.size, 3)))
    return a


def write_npz(data, path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write `arrays` with none, one or two of them broken (plus perhaps a stray member), and
    maybe damage the file's bytes. True when nothing was broken: a good file (a stray member and
    compression are allowed), which the loader must accept."""
    broken = data.draw(st.sets(st.sampled_from(sorted(arrays)), max_size=2) | st.just(set()))
    members = {}
    for key, array in arrays.items():
        array = damage_array(data, array) if key in broken else array
        if array is not None:
            members[key] = array
    if data.draw(st.booleans()):
        members["stray"] = np.zeros(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    how = data.draw(st.sampled_from(FILE_DAMAGE))
    with open(path, "wb") as handle:
        if how == "npy":
            np.save(handle, next(iter(members.values()), np.zeros(1)))
        elif how == "pickle":
            pickle.dump(members, handle)
        elif how == "compressed":
            np.savez_compressed(handle, **members)
        elif how == "pickled_member":
            np.savez(handle, obj=np.array([{"a": 1}], dtype=object), **members)
        else:
            np.savez(handle, **members)
    raw = path.read_bytes()
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    if how == "truncate":
        path.write_bytes(raw[:data.draw(st.integers(0, max(len(raw) - 1, 0)))])
    elif how == "flip" and raw:
        damaged = bytearray(raw)
        start = data.draw(st.integers(0, len(raw) - 1))
        damaged[start:start + 16] = rng.bytes(len(damaged[start:start + 16]))
        path.write_bytes(bytes(damaged))
    elif how == "garbage":
        path.write_bytes(rng.bytes(data.draw(st.integers(1, 600))))
    elif how == "empty":
        path.write_bytes(b"")
    return not broken and how in ("keep", "compressed")


def valid_keypoints(rng: np.random.Generator, t: int, visibility=(0, 1)) -> np.ndarray:
    xy = rng.uniform(0, 60, (t, K, 2))
    xy[rng.random((t, K)) < 0.1] = np.nan  # missing keypoints are part of every valid file
    v = rng.choice(visibility, (t, K, 1))
    return np.concatenate([xy, v], axis=-1).astype(np.float32)


def valid_boxes(rng: np.random.Generator, t: int) -> np.ndarray:
    low = rng.uniform(0, 30, (t, 2))
    return np.concatenate([low, low + rng.uniform(5, 30, (t, 2))], axis=1).astype(np.float32)


def assert_keypoints_clean(keypoints: np.ndarray, t: int | None = None) -> None:
    assert keypoints.dtype == np.float32 and keypoints.shape[1:] == (K, 3)
    assert t is None or len(keypoints) == t
    assert not np.isinf(keypoints).any() and np.isin(keypoints[..., 2], (0, 1)).all()


# -- the loaders --------------------------------------------------------------------------------

@fuzz(300)
@given(st.data())
def test_climbalong_inputs_and_targets(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("climbalong")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    t = data.draw(FRAMES)
    inputs, targets = root / "inputs" / "v.npz", root / "targets" / "v.npz"
    good = write_npz(data, inputs, {"heatmaps": rng.normal(-1, 2, (t, K, S, S)).astype(np.float32), "bboxes": valid_boxes(rng, t)})
    keypoints = valid_keypoints(rng, t, (0, 1, 2))
    good &= write_npz(data, targets, {"keypoints": keypoints[:, None] if data.draw(st.booleans()) else keypoints})
    video = outcome(lambda: climbalong.load_video(root, "v", S), inputs, targets)
    assert video is not None or not (good and t > 0)  # good files load
    if video is not None:
        assert video.heatmaps.dtype == np.float32 and np.isfinite(video.heatmaps).all()
        assert video.heatmaps.shape[1:] == (K, S, S) and len(video.heatmaps) == len(video.keypoints) == len(video.detected)
        assert np.isfinite(video.bboxes).all() and (nonempty_boxes(video.bboxes) == video.detected).all()
        assert_keypoints_clean(video.keypoints)
    outcome(lambda: climbalong.first_frame_annotated(root, "v"), targets)


def estimator_file(data, path: Path) -> bool:
    """An estimator output file, perhaps broken; True when it is good and holds frames."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    t = data.draw(FRAMES)
    detected = rng.random(t) < 0.8
    boxes = np.where(detected[:, None], valid_boxes(rng, t), 0).astype(np.float32)
    keypoints = np.where(detected[:, None, None], rng.uniform(0, 60, (t, K, 2)), np.nan).astype(np.float32)
    good = write_npz(data, path, {"heatmaps": rng.random((t, K, S, S)).astype(np.float16), "bboxes": boxes,
                                  "detected": detected, "scores": rng.random((t, K)).astype(np.float32),
                                  "keypoints": keypoints})
    return good and t > 0


@fuzz(300)
@given(st.data())
def test_extracted_and_precomputed_estimator_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("extracted") / "v.npz"
    good = estimator_file(data, path)
    arrays = outcome(lambda: read_estimates(path, S), path)
    assert arrays is not None or not good
    if arrays is not None:
        t = len(arrays["bboxes"])
        assert t > 0 and arrays["heatmaps"].shape == (t, K, S, S) and np.isfinite(arrays["heatmaps"].astype(np.float32)).all()
        assert arrays["detected"].dtype == bool and nonempty_boxes(arrays["bboxes"])[arrays["detected"]].all()
        for key in ("scores", "keypoints"):
            assert arrays[key] is None or (len(arrays[key]) == t and not np.isinf(arrays[key]).any())
    # The precomputed estimator reads files with the same reader, so it takes and refuses the same.
    replay = outcome(lambda: Precomputed(path.parent, "v", heatmap_size=S), path)
    assert (replay is None) == (arrays is None)
    if replay is not None:
        estimate = replay(None)
        assert estimate.heatmaps.shape == (K, S, S) and np.isfinite(estimate.heatmaps).all()


@fuzz(250)
@given(st.data())
def test_synthetic_keypoint_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("keypoints") / "v.npz"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    t = data.draw(FRAMES)
    good = write_npz(data, path, {"keypoints": valid_keypoints(rng, t)})
    keypoints = outcome(lambda: read_keypoint_file(path), path)
    assert keypoints is not None or not (good and t > 0)
    if keypoints is not None:
        assert_keypoints_clean(keypoints)


@fuzz(250)
@given(st.data())
def test_preprocessed_store(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("preprocessed")
    files, good = [], True
    for name in ("a", "b")[:data.draw(st.integers(1, 2))]:
        rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
        t = data.draw(FRAMES)
        usable = rng.random(t) < 0.8
        maps = rng.random((t, K, S, S)).astype(np.float16)
        intact = write_npz(data, folder / f"{name}.npz", {
            "inputs": maps, "targets": maps, "target_cells": rng.integers(0, S, (t, K, 2)).astype(np.int16),
            "present": rng.random((t, K)) < 0.9, "usable": usable, "bboxes": valid_boxes(rng, t)})
        good &= intact and t > 0
        files.append(folder / f"{name}.npz")
    keys = data.draw(st.sampled_from([("usable",), ("inputs", "targets", "target_cells", "present"),
                                      ("inputs", "targets", "target_cells", "present", "bboxes")]))
    store = outcome(lambda: load_frame_store(folder, keys), *files)
    assert store is not None or not good
    if store is not None:
        assert store.names == tuple(f.stem for f in files) and len(store.offsets) == len(files) + 1
        for key in keys:
            assert len(store.arrays[key]) == store.frames
        if "inputs" in keys:
            assert store.arrays["inputs"].shape[1:] == (K, S, S) and np.isfinite(store.arrays["inputs"].astype(np.float32)).all()
        if "present" in keys:
            assert store.arrays["present"].dtype == bool


# -- JSON annotations ----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


def project_document(rng: np.random.Generator, frames: int, names: list[str] | None) -> dict:
    count = len(names) if names else K
    doc = {"frames": [{"index": i, "keypoints": [[float(rng.uniform(0, 60)), float(rng.uniform(0, 60)), int(rng.integers(0, 3))]
                                                 for _ in range(count)]} for i in range(frames)]}
    if names:
        doc["keypoint_names"] = names
    return doc


def coco_document(rng: np.random.Generator, frames: int, names: list[str]) -> dict:
    images = [{"id": i + 1, "file_name": f"clip/frame_{i:06d}.jpg", "width": 64, "height": 48} for i in range(frames)]
    annotations = [{"id": i + 1, "image_id": i + 1, "category_id": 1,
                    "keypoints": [v for _ in names for v in (float(rng.uniform(0, 60)), float(rng.uniform(0, 60)), int(rng.integers(0, 3)))]}
                   for i in range(frames)]
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person", "keypoints": names}]}


def damage_json(data, node, root: bool = True):
    """Replace, delete or retype one spot of a JSON document, chosen by walking into it (the
    document itself is replaced only rarely)."""
    if isinstance(node, (dict, list)) and node and (root and data.draw(st.integers(0, 9)) > 0 or data.draw(st.integers(0, 3)) > 0):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        if data.draw(st.integers(0, 5)) == 0:
            del node[key]
        else:
            node[key] = damage_json(data, node[key], root=False)
        return node
    return data.draw(JSON_VALUES)


@fuzz(300)
@given(st.data())
def test_json_and_coco_annotation_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("annotations") / "clip.json"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    frames = data.draw(FRAMES)
    names = data.draw(st.sampled_from([None, list(NAMES[:5]), ["nose", "eye_l", "left_wrist"], ["a", "b"]]))
    if data.draw(st.booleans()):
        doc = project_document(rng, frames, names)
    else:
        doc = coco_document(rng, frames, names or list(NAMES))
    rounds = data.draw(st.integers(0, 3))
    for _ in range(rounds):
        doc = damage_json(data, doc)
    text = json.dumps(doc)  # NaN and Infinity come out as the literals json.loads accepts
    how = data.draw(st.sampled_from(["keep"] * 4 + ["truncate", "bytes", "empty"]))
    if how == "truncate":
        text = text[:data.draw(st.integers(0, max(len(text) - 1, 0)))]
    path.write_bytes(rng.bytes(50) if how == "bytes" else b"" if how == "empty" else text.encode())
    videos = outcome(lambda: read_annotation_file(path), path)
    if rounds == 0 and how == "keep" and frames > 0 and names in (None, list(NAMES[:5])):
        assert videos, doc  # a good file, in project names, loads
    for labels in (videos or {}).values():
        n_frames = data.draw(st.integers(0, 4))
        files = data.draw(st.sampled_from([None, [f"frame_{i:06d}.jpg" for i in range(n_frames)]]))
        keypoints = outcome(lambda: keypoint_array(labels, n_frames, files), path)
        if keypoints is not None:
            assert_keypoints_clean(keypoints, n_frames)
