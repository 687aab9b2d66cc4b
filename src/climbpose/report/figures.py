"""Figure 1: finetuning curves per model across runs (training loss, validation loss, validation PCK@0.05).

One row per model, one line per run (coloured by its "s.e" name, the same colour in every row),
dots where the plateau rule reduced the learning rate, and the identity function's validation
PCK@0.05 as a horizontal line (one per distinct value: experiment 3's half-rate windows differ).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on the machines this runs on
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from climbpose.core.io import atomic_path  # noqa: E402
from climbpose.report.experiments import Run  # noqa: E402
from climbpose.report.tables import model_rows  # noqa: E402
from climbpose.core.contract import FINETUNE_SELECT_THRESHOLD, metric_key  # noqa: E402

# The finetuning history's selection curve and the identity function's matching number.
SELECTION_KEY = f"val_{metric_key('pck', FINETUNE_SELECT_THRESHOLD)}"
IDENTITY_KEY = metric_key("identity_pck", FINETUNE_SELECT_THRESHOLD)
PANELS = (("train_loss", "training loss"), ("val_loss", "validation loss"),
          (SELECTION_KEY, f"validation PCK@{FINETUNE_SELECT_THRESHOLD:g} (%)"))
RUN_LABELS = [f"{s}.{e}" for s in (1, 2) for e in (1, 2, 3)]
COLORS = dict(zip(RUN_LABELS, plt.get_cmap("tab10").colors))


def finetuning_figure(entries: Sequence[tuple[Run, dict[str, dict[int, float]]]], paths: Sequence[str | Path]) -> None:
    """Draw Figure 1 from (run, history) pairs, at most one run per (model, s.e), into each path (PNG, PDF...)."""
    models = model_rows(run for run, _ in entries)  # every model that ran, then the thesis' others
    fig, axes = plt.subplots(len(models), len(PANELS), figsize=(13, 3.0 * len(models)), squeeze=False, sharex="row")
    seen_labels: set[str] = set()
    for row, (model, title) in enumerate(models):
        runs = sorted(((run, h) for run, h in entries if run.model == model and h), key=lambda item: item[0].label)
        for col, (key, name) in enumerate(PANELS):
            ax = axes[row, col]
            ax.set_title(f"{title}: {name}", fontsize=10)
            if not runs:
                ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes, color="grey")
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            ax.grid(True, alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
            ax.set_xlabel("epoch (0: pretrained weights)" if key != "train_loss" else "epoch", fontsize=9)
            for run, history in runs:
                series = history.get(key, {})
                if not series:
                    continue
                epochs = sorted(series)
                color = COLORS.get(run.label, "black")
                ax.plot(epochs, [series[e] for e in epochs], color=color, lw=1.6, marker=None)
                seen_labels.add(run.label)
                reduced = [e for e, flag in history.get("lr_reduced", {}).items() if flag and e in series]
                ax.plot(reduced, [series[e] for e in reduced], ls="none", marker="o", ms=7, mfc="white", mec=color, mew=2)
            if key == SELECTION_KEY:
                identity = sorted({v for run, _ in runs if (v := run.value("val", IDENTITY_KEY)) is not None})
                for value in identity:
                    ax.axhline(value, color="black", ls="--", lw=1)
                for value, text in _identity_labels(runs, identity):
                    ax.annotate(text, (0.98, value), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
    handles = [Line2D([], [], color=COLORS[label], lw=2, label=f"run {label}") for label in RUN_LABELS if label in seen_labels]
    handles += [Line2D([], [], ls="none", marker="o", mfc="white", mec="black", mew=2, label="lr reduced"),
                Line2D([], [], color="black", ls="--", lw=1, label="identity function")]
    fig.suptitle("Figure 1: finetuning per model and run (s.e)", fontsize=13)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip("."))
    plt.close(fig)


def _identity_labels(runs, values: list[float]) -> list[tuple[float, str]]:
    """Which experiments each identity line belongs to, e.g. 'identity e1, e2'."""
    labels = []
    for value in values:
        experiments = sorted({run.experiment for run, _ in runs if run.value("val", IDENTITY_KEY) == value})
        labels.append((value, "identity " + ", ".join(f"e{e}" for e in experiments)))
    return labels
