"""The offline `dvc plots show` page: its JavaScript, run in V8, draws DVC's line-plot specs."""

import re
from pathlib import Path

import pytest
from py_mini_racer import MiniRacer

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / ".dvc" / "offline_plots.html"


def page_script(page: str) -> str:
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    return scripts[0]


@pytest.fixture(scope="module")
def js() -> MiniRacer:
    context = MiniRacer()
    context.eval(page_script(TEMPLATE.read_text()))
    return context


def dvc_like_spec(rows: list[dict], width: int = 100, height: int = 100) -> dict:
    """The shape of DVC's linear template: x on top, y inside nested layers, colour by revision."""
    return {
        "data": {"values": rows},
        "title": {"text": "dvclive/finetune/plots/metrics/val_loss.tsv"},
        "width": width, "height": height,
        "encoding": {"x": {"field": "step"},
                     "color": {"field": "rev", "scale": {"domain": ["a", "b"], "range": ["#111111", "#222222"]}}},
        "layer": [{"layer": [{"mark": "line"}], "encoding": {"y": {"field": "val_loss"}}},
                  {"encoding": {"x": {"aggregate": "max", "field": "ignored"}, "y": {"field": "ignored"}}}],
    }


def row(rev: str, step: int, value: float) -> dict:
    return {"rev": rev, "step": str(step), "val_loss": str(value)}


def test_the_template_is_what_dvc_uses_and_loads_nothing_from_the_network():
    config = (REPO / ".dvc" / "config").read_text()
    assert "html_template = offline_plots.html" in config  # relative to .dvc/
    page = TEMPLATE.read_text()
    assert "{plot_divs}" in page and "{scripts}" not in page
    assert "<script src" not in page and "https://" not in page


def test_series_are_grouped_by_revision_sorted_by_step_and_coloured_by_dvcs_scale(js):
    spec = dvc_like_spec([row("a", 2, 3.0), row("b", 0, 3.0), row("a", 0, 1.0), row("a", 1, 2.0), row("b", 2, 1.0)])
    series = js.call("ClimbPosePlot.series", spec)
    assert [(s["name"], s["colour"]) for s in series] == [("a", "#111111"), ("b", "#222222")]
    assert series[0]["points"] == [[0, 1], [1, 2], [2, 3]]
    assert series[1]["points"] == [[0, 3], [2, 1]]


def test_lines_are_drawn_at_known_coordinates(js):
    # A 100x100 plot area with its top-left corner at (60, 28): x 0..2 and y 1..3 span it exactly.
    spec = dvc_like_spec([row("a", 0, 1.0), row("a", 1, 2.0), row("a", 2, 3.0), row("b", 0, 3.0), row("b", 2, 1.0)])
    svg = js.call("ClimbPosePlot.svg", spec)
    lines = re.findall(r'<polyline class="series" data-name="(\w+)" points="([^"]+)"', svg)
    assert lines == [("a", "60.00,128.00 110.00,78.00 160.00,28.00"), ("b", "60.00,28.00 160.00,128.00")]
    assert "val_loss" in svg and "dvclive/finetune/plots/metrics/val_loss.tsv" in svg


def test_blank_values_are_skipped_and_an_empty_plot_says_so(js):
    spec = dvc_like_spec([row("a", 0, 1.0), {"rev": "a", "step": "1", "val_loss": ""}, row("a", 2, 5.0)])
    assert js.call("ClimbPosePlot.series", spec)[0]["points"] == [[0, 1], [2, 5]]
    assert "no data" in js.call("ClimbPosePlot.svg", dvc_like_spec([]))


def test_text_from_the_data_is_escaped(js):
    spec = dvc_like_spec([row("<b>&", 0, 1.0)])
    svg = js.call("ClimbPosePlot.svg", spec)
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg


@pytest.mark.parametrize("lo, hi, expected", [
    (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]),
    (0.683, 0.79, [0.7, 0.72, 0.74, 0.76, 0.78]),
    (0, 7, [0, 2, 4, 6]),
    (-3, 12, [0, 5, 10]),
])
def test_ticks_are_round_values_inside_the_range(js, lo, hi, expected):
    assert js.call("ClimbPosePlot.ticks", lo, hi, 5) == pytest.approx(expected)
