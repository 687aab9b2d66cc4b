"""The offline `dvc plots show` page: vl-convert's Vega bundle inlined where DVC's plots can call it, no network."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
import vl_convert
from configobj import ConfigObj
from dvc_render.vega import VegaRenderer

from climbpose.report import plot_page
from tests.dvc_repo import REPO, make_tiny_repo

SVG = "{http://www.w3.org/2000/svg}"

# Anything a browser would fetch: src/href to a URL, a module import from one, CSS imports and url().
EXTERNAL = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
                      r"""|\bimport\s*\(?\s*["'](?:https?:)?//|\bfrom\s*["'](?:https?:)?//"""
                      r"""|@import\b|\burl\(\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="session")
def page() -> str:
    return plot_page.build_page()  # about 1.5 s: vl-convert bundles the libraries (once per process)


@pytest.fixture(scope="session")
def library_bundle() -> str:
    """What vl-convert itself produces for the page's exports, asked directly, not through plot_page."""
    return vl_convert.javascript_bundle(plot_page.EXPORTS, vl_version=plot_page.VEGA_LITE)


def plot_specs(page: str) -> dict[str, dict]:
    """The Vega-Lite spec in each plot div DVC wrote into a page, by div id."""
    found = re.findall(r"""<div id\s*=\s*"([\w-]+)">\s*<script type\s*=\s*"text/javascript">\s*"""
                       r"""var spec = (.*?);\s*vegaEmbed\('#\1', spec\);\s*</script>""", page, re.S)
    return {name: json.loads(spec) for name, spec in found}


def drawn(spec: dict) -> tuple[list[str], dict[str, int], str]:
    """Draw a spec with the page's Vega-Lite (to SVG, in vl-convert's own engine).

    Returns the x axis' visible tick labels, the vertex count of the line of each revision (of each
    (revision, series) in a chart of several series), and
    the x axis' accessible description ("X-axis titled 'epoch' for a linear scale ...").
    """
    root = ET.fromstring(vl_convert.vegalite_to_svg(spec, vl_version=plot_page.VEGA_LITE))
    groups = [(g, set(g.get("class", "").split())) for g in root.iter(f"{SVG}g")]
    x_axis = next(g for g, classes in groups if "role-axis" in classes and g.get("aria-label", "").startswith("X-axis"))
    labels = [text.text for g in x_axis.iter(f"{SVG}g") if "role-axis-label" in g.get("class", "")
              for text in g.iter(f"{SVG}text") if text.text]
    lines = {}
    for g, classes in groups:
        if {"mark-line", "role-mark"} <= classes:
            for path in g.iter(f"{SVG}path"):
                label = path.get("aria-label")
                rev = re.search(r"rev: ([^;]+)", label).group(1)
                series = re.search(r"filename::field: [^;]*::([^;]+)", label)  # charts of several series
                lines[(rev, series.group(1)) if series else rev] = len(re.findall(r"[ML]", path.get("d")))
    return labels, lines, x_axis.get("aria-label")


def test_the_page_loads_nothing_from_the_network(page):
    assert EXTERNAL.search(VegaRenderer.SCRIPTS)  # the pattern does catch DVC's own CDN tags
    assert EXTERNAL.search(page) is None
    assert not re.search(r"<script[^>]*\bsrc\b", page, re.I) and "<link" not in page.lower()


def test_dvc_fills_exactly_one_plots_placeholder_and_no_scripts_placeholder(page):
    assert page.count(plot_page.PLOT_DIVS) == 1
    assert "{scripts}" not in page  # DVC would put its CDN <script src> tags there
    # The bundle's own strings hold "</head>" and "<body>" (vega-embed's source view), so look around it.
    outside = re.sub(r"<script>.*?</script>", "<script></script>", page, flags=re.S)
    assert outside.count("{refresh_tag}") == 1 and outside.index("{refresh_tag}") < outside.index("</head>")
    assert outside.index("</head>") < outside.index("<body>") < outside.index(plot_page.PLOT_DIVS) < outside.index("</body>")


def test_vega_embed_is_vl_converts_and_defined_before_the_plots_call_it(page, library_bundle):
    code = library_bundle
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    attributes, script = scripts[0]
    assert attributes.strip() == ""  # a classic script: no type="module", defer or async to run it late
    assert code in script and len(code) > 500_000
    assert page.index("</script>") < page.index(plot_page.PLOT_DIVS)
    # The global is vega-embed's own embed function, beside the Vega and Vega-Lite it was built with.
    (name,) = re.findall(r"window\.vegaEmbed\s*=\s*([\w$]+)", code)
    assert code.index(f"function {name}(") < code.index('"vega-embed-style"') < code.index("window.vegaEmbed")
    assert f'"{vl_convert.get_vega_version()}"' in code
    assert re.search(r'"%s\.\d+"' % re.escape(plot_page.VEGA_LITE), code)


@pytest.mark.parametrize("bad", ["x = '</SCRIPT>';", "<!-- y", "s = '{plot_divs}';", "s = '{scripts}';"])
def test_a_bundle_that_cannot_be_inlined_is_refused(bad):
    assert plot_page.inlinable("var a = '<b>{x}</b>';") == "var a = '<b>{x}</b>';"
    with pytest.raises(ValueError):
        plot_page.inlinable(f"var a = 1; {bad}")


def test_dvc_uses_the_page_that_make_setup_writes(tmp_path, page):
    config = ConfigObj(str(REPO / ".dvc" / "config"))
    assert config["plots"]["html_template"] == plot_page.FILENAME  # relative to .dvc/
    assert plot_page.default_output(REPO / "src" / "climbpose") == REPO / ".dvc" / plot_page.FILENAME
    stamp_recipe = re.search(r"^\$\(STAMP\):.*?\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M).group(1)
    assert "$(BIN)/python -m climbpose.report.plot_page\n" in stamp_recipe
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", f".dvc/{plot_page.FILENAME}"], cwd=REPO)
    assert ignored.returncode == 0  # generated, so never committed
    assert plot_page.main([str(tmp_path / "page.html")]) == 0
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == page


def test_the_page_on_disk_is_the_one_this_code_builds(page):
    path = REPO / ".dvc" / plot_page.FILENAME
    if not path.exists():
        pytest.skip("not generated in this checkout: make setup")
    assert path.read_text(encoding="utf-8") == page, "stale: run python -m climbpose.report.plot_page"


def test_dvc_plots_show_groups_the_training_curves_with_the_bundle_and_whole_epochs(tmp_path, page, library_bundle):
    from climbpose.train.session import PLOTTED_SERIES, write_untrained_series

    repo = make_tiny_repo(tmp_path)
    (repo.root / ".dvc" / plot_page.FILENAME).write_text(page, encoding="utf-8")  # as make setup would
    metrics = repo.root / "dvclive" / "finetune" / "plots" / "metrics"
    metrics.mkdir(parents=True)
    (metrics / "val_loss.tsv").write_text("step\tval_loss\n0\t0.9731\n1\t0.8532\n2\t0.8016\n")
    (metrics / "train_loss.tsv").write_text("step\ttrain_loss\n1\t0.9412\n2\t0.8877\n")
    for t, value in (("005", 20.0), ("010", 50.0), ("020", 80.0)):
        (metrics / f"val_pck_{t}.tsv").write_text(f"step\tval_pck_{t}\n0\t{value}\n1\t{value + 1}\n2\t{value + 2}\n")
    write_untrained_series(repo.root / "dvclive" / "pretrain")  # a skipped pretraining
    repo.dvc("plots", "show", "-o", str(tmp_path / "plots"))
    shown = (tmp_path / "plots" / "index.html").read_text(encoding="utf-8")

    errors = json.loads(repo.dvc("plots", "show", "--json").stdout).get("errors") or []
    assert {error["source"] for error in errors} == {"reports/example_frame.png"}  # not made here; every series is
    assert sorted(path.stem for path in (repo.root / "dvclive" / "pretrain" / "plots" / "metrics").iterdir()) == sorted(PLOTTED_SERIES)
    assert library_bundle in shown and EXTERNAL.search(shown) is None
    specs = plot_specs(shown)
    # One chart per stage and kind, not one per series; the untrained stage draws nothing (an empty spec).
    assert {name: bool(spec) for name, spec in specs.items()} == {
        "finetune_pck": True, "finetune_loss": True, "pretrain_pck": False, "pretrain_loss": False}
    loss = specs["finetune_loss"]
    assert loss["title"]["text"] == "Finetuning, loss"
    assert loss["encoding"]["x"]["title"] == "epoch"
    assert loss["encoding"]["x"]["axis"]["tickMinStep"] == 1 and loss["encoding"]["x"]["axis"]["format"] == "d"
    # Two epochs is where Vega's own tick choice (tickMinStep alone) falls back to half-epoch ticks.
    labels, lines, x_axis = drawn(loss)
    assert labels == ["0", "1", "2"]
    assert lines == {("workspace", "val_loss"): 3, ("workspace", "train_loss"): 2}  # one line each, not joined
    assert "X-axis titled 'epoch'" in x_axis
    pck = specs["finetune_pck"]
    assert drawn(pck)[1] == {("workspace", f"val_pck_{t}"): 3 for t in ("005", "010", "020")}
    assert sorted(float(row["dvc_inferred_y_value"]) for row in pck["data"]["values"]) == [
        20.0, 21.0, 22.0, 50.0, 51.0, 52.0, 80.0, 81.0, 82.0]
