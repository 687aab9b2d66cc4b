"""dvc.yaml's code dependencies are derived from the stage scripts' imports, not remembered.

Every stage's `deps` must list exactly the code its script runs (`climbpose.core.imports`): a
missing file would leave `dvc status` saying "up to date" after a fix to it; an extra one reruns
the stage for nothing. `python -m climbpose.core.imports stages/<name>.py` prints the list.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from climbpose.core.imports import closure, code_dependencies

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "climbpose"
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def listed_code(stage: str) -> list[str]:
    return [d for d in STAGES[stage]["deps"] if d.startswith(("stages/", "src/"))]


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(REPO).as_posix()
    return any(relative == d or relative.startswith(d.rstrip("/") + "/") for d in deps)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_file_a_stage_imports_is_a_dependency(stage):
    script = REPO / "stages" / f"{stage}.py"
    assert STAGES[stage]["cmd"] == f"PYTHONPATH=src python stages/{stage}.py"
    deps = listed_code(stage)
    missing = [p.relative_to(REPO).as_posix() for p in closure(script) if not covered(p, deps)]
    assert not missing, f"dvc.yaml stage {stage} misses {', '.join(missing)} (run python -m climbpose.core.imports {script.relative_to(REPO)})"
    assert deps == code_dependencies(script, REPO), f"dvc.yaml stage {stage}: code deps differ from its imports"


def test_the_closure_follows_imports_through_packages_functions_and_relative_imports(tmp_path):
    # A made-up package: the script imports a.b; a/__init__ imports a.c lazily inside a function;
    # a.b imports .d relatively; a.e is imported by nobody.
    root = tmp_path / "src"
    pkg = root / "climbpose"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("def f():\n    from climbpose.a import c\n")
    (pkg / "a" / "b.py").write_text("from . import d\nimport os\n")
    (pkg / "a" / "c.py").write_text("")
    (pkg / "a" / "d.py").write_text("")
    (pkg / "a" / "e.py").write_text("")
    script = tmp_path / "run.py"
    script.write_text("from climbpose.a.b import x\n")
    names = sorted(p.relative_to(pkg).as_posix() for p in closure(script, root=root))
    assert names == ["__init__.py", "a/__init__.py", "a/b.py", "a/c.py", "a/d.py"]


def test_the_contract_layout_keeps_stage_dependencies_apart():
    pretrain, finetune, evaluate = (closure(REPO / "stages" / f"{s}.py") for s in ("pretrain", "finetune", "evaluate"))
    pck = PACKAGE / "evaluate" / "pck.py"
    assert all(pck in c for c in (pretrain, finetune, evaluate))  # PCK selects the kept epoch
    assert PACKAGE / "report" / "tables.py" not in pretrain + finetune  # table layout does not train
    assert closure(REPO / "stages" / "fetch_estimator.py") == sorted(
        [PACKAGE / "__init__.py", PACKAGE / "core" / "__init__.py", PACKAGE / "core" / "io.py",
         PACKAGE / "core" / "config.py", PACKAGE / "core" / "contract.py", PACKAGE / "core" / "errors.py",
         PACKAGE / "core" / "keypoints.py", PACKAGE / "core" / "model_registry.py",
             PACKAGE / "estimator" / "__init__.py", PACKAGE / "estimator" / "weights.py"])


def test_the_core_imports_nothing_else_of_the_package_and_config_no_torch():
    for file in (PACKAGE / "core").glob("*.py"):
        outside = [p for p in closure(modules=(f"climbpose.core.{file.stem}",)) if "core" not in p.parts and p.name != "__init__.py"]
        assert not outside, f"{file.name} imports {outside}"
    done = subprocess.run([sys.executable, "-c", "import sys, climbpose.core.config, climbpose.core.contract; "
                           "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'cv2')))"],
                          capture_output=True, text=True, check=True, env={"PYTHONPATH": str(REPO / "src")})
    assert done.stdout.strip() == "[]"
