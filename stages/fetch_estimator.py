"""Stage fetch_estimator: the frozen BlazePose weights, taken from the mediapipe wheel and hash-checked.

Reads params.yaml (estimator.mediapipe_version); downloads the mediapipe wheel with pip (the
package registry). Writes models/estimator/*.tflite.
"""

from climbpose.core.config import load_params
from climbpose.estimator.weights import ensure_weights
from climbpose.core.errors import run_stage

WEIGHTS_DIR = "models/estimator"


def main() -> None:
    params = load_params()
    for name, path in ensure_weights(WEIGHTS_DIR, version=params.estimator.mediapipe_version).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    run_stage(main, __doc__)
