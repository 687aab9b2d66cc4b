"""The package's imports run in one direction, from the stages and the CLI down to `core`.

Each package sits on a layer and may import only from lower layers (and from itself); two packages
on the same layer do not import each other. Every import counts, also one inside a function, so
no lazy import can hide a loop. The layers, lowest first, and why each sits where it does, are in
`LAYERS`; docs/extending.md#code-layout-and-what-each-stage-depends-on draws the same list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from climbpose.core.imports import direct_imports

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "climbpose"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),                         # params, errors and input checks, keypoints, contract, io
    ("heatmaps", "video", "synth"),    # pure transforms, mp4 files, the synthetic renderer
    ("data",),                         # sources, preprocessing, frame stores, windows, window sets
    ("estimator", "models"),           # the frozen estimator; the temporal models and their file
    ("evaluate",),                     # PCK, harm, lapses, filters, scoring windows
    ("train",),                        # the training loop and the training stages' run
    ("report",),                       # tables, figures, the evaluate stage's run, `climbpose report`
    ("predict",),                      # `climbpose predict`
    ("__main__",),                     # the CLI
)


def layer_of(package: str, layers=LAYERS) -> int:
    if package == "":  # climbpose/__init__.py: the version, importable from anywhere
        return 0
    for depth, names in enumerate(layers):
        if package in names:
            return depth
    raise AssertionError(f"package {package!r} has no layer in tests/test_layers.py: give it one")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_package(module: str) -> str:
    """'climbpose.data.windows' -> 'data'; 'climbpose' -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported_modules(path: Path, root: Path) -> set[str]:
    """climbpose modules a file imports anywhere in it, as the stages' dependencies read them
    (`climbpose.core.imports.direct_imports`)."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    # A submodule naming its own package (`from climbpose.synth import motion` inside synth) is
    # Python running that package's __init__ first, not a dependency of the submodule on it.
    return {name for name in direct_imports(path, package, root.parent) if not module.startswith(name + ".")}


def import_graph(root: Path) -> dict[str, set[str]]:
    return {module_name(p, root): imported_modules(p, root) for p in sorted(root.rglob("*.py"))}


def layer_violations(graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    bad = []
    for module, targets in graph.items():
        here = top_package(module)
        for target in sorted(targets):
            there = top_package(target)
            if there == here or there == "":
                continue
            if layer_of(there, layers) >= layer_of(here, layers):
                bad.append(f"{module} imports {target}")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Module-level import cycles (each reported once, from its first module in name order)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_every_import_points_down_the_layers():
    violations = layer_violations(import_graph(PACKAGE_ROOT))
    assert not violations, "imports against the layers:\n" + "\n".join(violations)


def test_no_module_imports_itself_through_others():
    # A package-level order allows a loop between two modules of one package; this forbids it too
    # (the registry of estimators once imported its own members).
    assert cycles(import_graph(PACKAGE_ROOT)) == []


def test_every_package_has_a_layer():
    packages = {top_package(m) for m in import_graph(PACKAGE_ROOT)} - {""}
    assert packages == {name for names in LAYERS for name in names}


def test_the_checks_catch_an_upward_import_a_sideways_one_and_a_loop(tmp_path):
    root = tmp_path / "climbpose"
    for folder in ("core", "data", "models", "estimator"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "core" / "config.py").write_text("def f():\n    from climbpose.data import windows\n")  # up, lazily
    (root / "data" / "windows.py").write_text("from . import split\n")
    (root / "data" / "split.py").write_text("from climbpose.data.windows import x\n")  # loop
    (root / "models" / "a.py").write_text("from climbpose.estimator import b\n")  # sideways
    (root / "estimator" / "b.py").write_text("from climbpose.core import config\n")  # down: fine
    graph = import_graph(root)
    assert graph["climbpose.data.windows"] == {"climbpose.data.split"}
    assert layer_violations(graph) == ["climbpose.core.config imports climbpose.data",
                                       "climbpose.core.config imports climbpose.data.windows",
                                       "climbpose.models.a imports climbpose.estimator",
                                       "climbpose.models.a imports climbpose.estimator.b"]
    assert cycles(graph) == [["climbpose.data.windows", "climbpose.data.split", "climbpose.data.windows"]]


@pytest.mark.parametrize("package, depth", [("core", 0), ("", 0), ("video", 1), ("models", 3), ("__main__", 8)])
def test_layer_of_known_packages(package, depth):
    assert layer_of(package) == depth
