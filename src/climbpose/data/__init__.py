"""Data handling: windows of usable frames and the train/validation/test split (SPEC 1.6)."""

from climbpose.data.split import SETS, Split, split_windows
from climbpose.data.windows import disjoint_windows, valid_windows, window_frames, window_span

__all__ = ["SETS", "Split", "disjoint_windows", "split_windows", "valid_windows", "window_frames", "window_span"]
