"""Reading data the project did not make: one small module per format, one dispatch per use.

Finetuning (`data.source`): `finetuning` dispatches to the synthetic videos, `videos` (the
user's videos with `annotations` in the project's JSON or COCO) and `climbalong` (delivered
heatmaps and keypoints). Pretraining (`pretrain.sources`): `pretraining` combines the synthetic
motion generator with `penn_action` and `brace`. `layout` maps any named keypoint layout onto
the 25 of docs/design.md#keypoints.

Every loader returns plain numpy arrays in the project's conventions: keypoints (T, 25, 3) as
image-pixel x, y (0-based) and visible, NaN coordinates for a keypoint that is not annotated or
that a dataset lacks (never zeros), boxes (T, 4) as x1, y1, x2, y2. Values are checked as they
are read, by the shared rules of `climbpose.core.checks`. Nothing here writes to the source
folders. The stages import the submodules they need, so DVC dependencies can name exactly
the modules a stage uses; this file holds only the error every loader raises for bad input.
"""

from climbpose.core.checks import DataError


class SourceError(DataError):
    """A dataset folder or file that cannot be used; the message names it and the problem."""
