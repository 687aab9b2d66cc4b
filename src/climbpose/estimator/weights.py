"""Obtain the two frozen BlazePose model files (docs/design.md#model-files) from the mediapipe wheel.

The files are fetched, not redistributed: `pip download` brings one mediapipe wheel (no
dependencies; this machine's wheel, or a fixed Linux one if none fits, since all wheels carry
byte-identical models), and only the two
.tflite members are taken out of it and checked against their published sha256. mediapipe itself
is never installed or imported (it pins numpy<2 and clashes with current OpenCV).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Sequence

from climbpose.core.io import atomic_path

DEFAULT_MEDIAPIPE_VERSION = "0.10.21"

# file name -> (path inside the wheel, size in bytes, sha256); docs/design.md#model-files.
MODEL_FILES: dict[str, tuple[str, int, str]] = {
    "pose_detection.tflite": (
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        2_959_046,
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    ),
    "pose_landmark_full.tflite": (
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        6_440_512,
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    ),
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_hash(name: str, actual: str, expected: str | None = None) -> None:
    """Raise a one-line RuntimeError if `actual` is not the published hash of `name`."""
    expected = expected or MODEL_FILES[name][2]
    if actual != expected:
        raise RuntimeError(f"{name}: sha256 mismatch, expected {expected}, got {actual}")


def _have_all(dest: Path) -> bool:
    return all(
        (dest / name).is_file() and sha256_file(dest / name) == digest
        for name, (_, _, digest) in MODEL_FILES.items()
    )


# Tried when no wheel fits this interpreter (mediapipe 0.10.21 has none for Python 3.13 or
# for some platforms): the model bytes are the same in every wheel, so any one will do.
_FALLBACK_TARGET = ["--python-version", "3.12", "--platform", "manylinux_2_28_x86_64"]

# What the user waits for: mediapipe 0.10.21's wheels are 36 MB (Linux) to 51 MB (Windows).
WHEEL_SIZE_NOTE = "about 35-50 MB"


def pip_download_command(version: str, into: str | os.PathLike, target: Sequence[str] = ()) -> list[str]:
    """The pip command that downloads the one mediapipe wheel (no dependencies) into `into`.

    Not quiet, with pip's progress bar on: pip writes its "Downloading" line and bar to stdout,
    which the caller leaves on the terminal, so the tens of megabytes do not pass in silence.
    """
    return [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--progress-bar", "on", *target,
        f"mediapipe=={version}", "-d", str(into),
    ]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _download_wheel(version: str, into: Path,
                    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
                    say: Callable[[str], None] = _say) -> Path:
    """Download the mediapipe wheel into `into` with pip and return its path.

    `say` gets one line before the download and one after; pip's own output goes to this
    process's stdout, its stderr is kept for the one-line error. `run` is `subprocess.run` or a
    stand-in with its signature.
    """
    say(f"fetching the mediapipe=={version} wheel ({WHEEL_SIZE_NOTE}) with pip for its two model files ...")
    start = time.perf_counter()
    errors = []
    for target in ([], _FALLBACK_TARGET):
        if target:
            say(f"no mediapipe=={version} wheel for this interpreter ({errors[-1]}); trying the Linux one")
        proc = run(pip_download_command(version, into, target), stderr=subprocess.PIPE, text=True)
        wheels = sorted(into.glob("mediapipe-*.whl"))
        if proc.returncode == 0 and wheels:
            size = wheels[0].stat().st_size / 1e6
            say(f"fetched {wheels[0].name} ({size:.0f} MB) in {time.perf_counter() - start:.0f} s")
            return wheels[0]
        lines = (proc.stderr or "").strip().splitlines()
        errors.append(lines[-1] if lines else f"exit code {proc.returncode}")
    raise RuntimeError(f"pip download mediapipe=={version} failed: {' / '.join(errors)}")


def extract_from_wheel(wheel: str | os.PathLike, dest_dir: str | os.PathLike) -> dict[str, Path]:
    """Take the two model files out of a mediapipe wheel, verify them, write them atomically."""
    dest = Path(dest_dir)
    out: dict[str, Path] = {}
    with zipfile.ZipFile(wheel) as zf:
        members = set(zf.namelist())
        for name, (member, _, digest) in MODEL_FILES.items():
            if member not in members:
                raise RuntimeError(f"{name}: {member} is not in {Path(wheel).name} "
                                   "(mediapipe 0.10.5-0.10.21 ship it; 0.10.30+ do not)")
            data = zf.read(member)
            # Check before writing so a bad file never lands where ensure_weights looks.
            check_hash(name, sha256_bytes(data), digest)
            with atomic_path(dest / name) as tmp:
                tmp.write_bytes(data)
                tmp.chmod(0o644)  # mkstemp makes it owner-only; these are plain data files
            out[name] = dest / name
    return out


def ensure_weights(dest_dir: str | os.PathLike,
                   version: str = DEFAULT_MEDIAPIPE_VERSION) -> dict[str, Path]:
    """Return {file name: path} of the two model files in `dest_dir`, fetching them if needed.

    Files already present with the right hashes are used as they are (no network). A present
    file with a wrong hash is replaced by a fresh download, which is verified again.
    """
    dest = Path(dest_dir)
    if not _have_all(dest):
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="climbpose-mediapipe-") as tmp:
            extract_from_wheel(_download_wheel(version, Path(tmp)), dest)
    return {name: dest / name for name in MODEL_FILES}
