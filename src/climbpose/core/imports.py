"""Which of the package's source files a script runs: its import closure inside `climbpose`.

A stage's outputs can only change when one of these files does, so the closure is what dvc.yaml
must list as the stage's code dependencies (a test checks it) and what a resumable checkpoint's
fingerprint hashes: an edit elsewhere in the package neither marks the stage stale nor throws away
a half-finished run. Imports are read from the source (ast), not executed: every `import` counts,
whether at the top of a module or inside a function, and importing a module runs the `__init__.py`
of each package above it.
"""

from __future__ import annotations

import ast
import os
from functools import lru_cache
from pathlib import Path

PACKAGE = "climbpose"
SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the climbpose package


def module_file(name: str, root: Path = SOURCE_ROOT) -> Path | None:
    """The file of a dotted module or package name under `root`, or None when there is none."""
    base = root.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else None


def _package_of(name: str, file: Path) -> str:
    return name if file.name == "__init__.py" else name.rpartition(".")[0]


@lru_cache(maxsize=None)
def direct_imports(file: Path, package: str, root: Path = SOURCE_ROOT) -> frozenset[str]:
    """Project modules a file imports: `import a.b`, `from a.b import c` (a.b, and a.b.c when c is a
    module) and relative imports resolved against `package`."""
    found = set()
    for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names if module_file(f"{module}.{alias.name}", root))
    return frozenset(name for name in found if name == PACKAGE or name.startswith(PACKAGE + "."))


def closure(script: str | os.PathLike | None = None, modules: tuple[str, ...] = (), root: Path = SOURCE_ROOT) -> list[Path]:
    """The package's source files that running `script` (a file outside the package, e.g. a stage)
    or importing `modules` executes, sorted."""
    todo = list(modules)
    if script is not None:
        todo += direct_imports(Path(script).resolve(), PACKAGE, root)
    seen: dict[str, Path] = {}
    while todo:
        parts = todo.pop().split(".")
        for depth in range(1, len(parts) + 1):  # a.b.c runs a/__init__.py and a/b/__init__.py first
            name = ".".join(parts[:depth])
            if name in seen or (file := module_file(name, root)) is None:
                continue
            seen[name] = file
            todo += direct_imports(file, _package_of(name, file), root)
    return sorted(seen.values())


def running_code(module: str) -> list[Path]:
    """The source files of what is running: the closure of the main script when it is a file (a
    stage run by DVC), together with that of `module` (the caller, which may run under a test or a
    launcher instead)."""
    import __main__

    main = getattr(__main__, "__file__", None)
    script = main if main and Path(main).is_file() and Path(main).suffix == ".py" else None
    return sorted(set(closure(script, (module,))))


def code_dependencies(script: str | os.PathLike, repo: Path, root: Path = SOURCE_ROOT) -> list[str]:
    """What dvc.yaml lists as a stage's code: the script and its closure, relative to `repo`, a
    folder standing for its files wherever the closure holds every .py file under it (so the list
    is short, and a new module in such a folder is covered). The `core` package, the contract of
    every stage, always counts as a whole."""
    package = root / PACKAGE
    needed = set(closure(script, root=root)) | set((package / "core").glob("*.py"))

    def covered(folder: Path) -> bool:
        return all(file in needed for file in folder.rglob("*.py") if "__pycache__" not in file.parts)

    entries: list[Path] = []

    def walk(folder: Path) -> None:
        for child in sorted(folder.iterdir()):
            if child.is_dir() and (child / "__init__.py").is_file():
                if covered(child):
                    entries.append(child)
                else:
                    walk(child)
            elif child.suffix == ".py" and child in needed:
                entries.append(child)

    walk(package)
    return [Path(script).resolve().relative_to(repo).as_posix()] + [entry.relative_to(repo).as_posix() for entry in entries]


if __name__ == "__main__":
    # python -m climbpose.core.imports stages/<name>.py: the code dependencies to list in dvc.yaml.
    import sys

    for path in sys.argv[1:]:
        print(f"{path}:")
        for entry in code_dependencies(path, Path.cwd().resolve()):
            print(f"  - {entry}")
