"""Stage evaluate: score the finetuned model, the identity function and the baselines.

Reads params.yaml (model, experiment, seed, evaluate, heatmaps, split.window, train.device),
models/finetuned.pt, data/preprocessed, data/split and data/ood/preprocessed. Writes, once
everything is computed:
  metrics/{val,test,ood}.json         headline PCK of the model, the identity function and the
                                      estimator's maps read between cells, and the keypoints the
                                      model breaks at PCK@0.2 (what `dvc metrics show` prints)
  reports/evaluation/scores.json      every row's scores per split and per body part
  reports/evaluation/lapses.json      every row's repairs by the length of the estimator's lapses
  reports/evaluation/inference_cost.json   wall times on this device (not deterministic)
  reports/evaluation/*.md, *.csv      the run's tables (results, per_keypoint, lapses), the filter
                                      search, the ood windows scored
  reports/example_frame.png           a test frame with ground truth, estimator and model drawn on it
"""

from __future__ import annotations

from climbpose.core.config import load_params
from climbpose.core.errors import run_stage
from climbpose.report.evaluation import evaluate_run, write_evaluation


def main() -> None:
    params = load_params()
    write_evaluation(evaluate_run(params), params)


if __name__ == "__main__":
    run_stage(main, __doc__)
