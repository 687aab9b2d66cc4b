"""Resumable training state: one file rewritten atomically after every completed epoch.

The file carries a fingerprint of everything that defines the run (params, data); a checkpoint
whose fingerprint differs is ignored, so a persisted checkpoint directory never resumes the
wrong run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from climbpose.core.io import atomic_path


class CheckpointDir:
    """`last.pt` in a directory that survives stage re-runs (DVC `persist: true`)."""

    def __init__(self, directory: str | Path, fingerprint: str) -> None:
        self.path = Path(directory) / "last.pt"
        self.fingerprint = fingerprint

    def load(self) -> dict[str, Any] | None:
        """The saved state of this run, or None when there is none (or it belongs to another run)."""
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as error:  # written atomically, so only a damaged disk or a foreign file gets here
            print(f"{self.path}: cannot be read ({type(error).__name__}), starting afresh")
            return None
        if not isinstance(state, dict) or state.get("fingerprint") != self.fingerprint:
            print(f"{self.path}: belongs to another configuration, starting afresh")
            return None
        return state

    def save(self, state: dict[str, Any]) -> None:
        with atomic_path(self.path, suffix=".pt") as tmp:
            torch.save({**state, "fingerprint": self.fingerprint}, tmp)
        # A hard kill (SIGKILL) during an earlier save leaves its hidden temporary; the folder is
        # a persistent DVC output, so tidy it rather than let such files pile up and be cached.
        for stale in self.path.parent.glob(f".{self.path.name}.*"):
            stale.unlink(missing_ok=True)
