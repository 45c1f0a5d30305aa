"""The package's layout: three parts plus the command line, imports in one direction, small modules and functions.

Core (everything directly in ``gnnrec_lite/``, ``datasets/``, ``models/``,
``negatives/``) imports only core; ``lecture/`` and ``grading/`` import core
and themselves, never each other; ``cli/`` may import anything and nothing
imports it. Old import paths from before the split still work.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gnnrec_lite"
PARTS = ("lecture", "grading", "cli")
ALLOWED = {"core": {"core"}, "lecture": {"core", "lecture"}, "grading": {"core", "grading"},
           "cli": {"core", "lecture", "grading", "cli"}}
MAX_MODULE_LINES = 300  # code lines; docstrings aside
MAX_FUNCTION_LINES = 50  # body lines; docstrings aside


def modules():
    return sorted(PACKAGE.rglob("*.py"))


def dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(name: str) -> str:
    pieces = name.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] in PARTS else "core"


def imported(path: Path) -> set[str]:
    """Every gnnrec_lite module named by an import statement in ``path`` (relative ones resolved)."""
    package = dotted(path) if path.name == "__init__.py" else dotted(path).rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gnnrec_lite")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("gnnrec_lite"):
                found.add(target)
                found |= {f"{target}.{a.name}" for a in node.names if is_module(f"{target}.{a.name}")}
    return found


def is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def docstring_lines(node) -> int:
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0].end_lineno - body[0].lineno + 1
    return 0


@pytest.mark.parametrize("path", modules(), ids=lambda p: dotted(p))
def test_imports_point_one_way(path):
    here = part_of(dotted(path))
    wrong = sorted(name for name in imported(path) if part_of(name) not in ALLOWED[here])
    assert not wrong, f"{dotted(path)} ({here}) imports {wrong}; allowed: {sorted(ALLOWED[here])}"


def test_the_import_check_sees_relative_imports():
    """The checker itself: a relative import from lecture/ into grading/ is found and classified."""
    found = imported(PACKAGE / "lecture" / "widgets.py")
    assert "gnnrec_lite.interactions" in found and {part_of(n) for n in found} == {"core", "lecture"}
    assert part_of("gnnrec_lite.grading.hwcheck") == "grading" and part_of("gnnrec_lite.negatives.hard") == "core"


@pytest.mark.parametrize("path", modules(), ids=lambda p: dotted(p))
def test_modules_and_functions_stay_small(path):
    tree = ast.parse(path.read_text())
    docs = docstring_lines(tree) + sum(docstring_lines(n) for n in ast.walk(tree)
                                       if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
    lines = len(path.read_text().splitlines()) - docs
    assert lines <= MAX_MODULE_LINES, f"{dotted(path)} has {lines} code lines (limit {MAX_MODULE_LINES})"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            size = node.end_lineno - node.lineno + 1 - docstring_lines(node)
            assert size <= MAX_FUNCTION_LINES, f"{dotted(path)}.{node.name} is {size} lines"


def test_core_imports_without_the_other_parts():
    """Importing the core loads no lecture, grading or command-line module (a fresh interpreter)."""
    code = ("import sys, gnnrec_lite, gnnrec_lite.train, gnnrec_lite.negatives, gnnrec_lite.train_item2item; "
            "print(sorted(m for m in sys.modules if m.split('.')[1:2] and m.split('.')[1] in "
            f"{PARTS!r} and m.startswith('gnnrec_lite.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("old, new", [
    ("gnnrec_lite.notebook", "gnnrec_lite.lecture.notebook"),
    ("gnnrec_lite.plotting", "gnnrec_lite.lecture.plotting"),
    ("gnnrec_lite.widgets", "gnnrec_lite.lecture.widgets"),
    ("gnnrec_lite.hwcheck", "gnnrec_lite.grading.hwcheck"),
    ("gnnrec_lite.nbgrader_plugins", "gnnrec_lite.grading.nbgrader_plugins"),
    ("gnnrec_lite.train_cli", "gnnrec_lite.cli.train"),
])
def test_old_module_paths_still_import_the_same_module(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_names_and_from_imports_still_work():
    from gnnrec_lite.notebook import record

    from gnnrec_lite import (
        hwcheck,  # what homework released before the split runs
        lecture,
        negatives,
        train_item2item,
    )
    from gnnrec_lite.grading import hwcheck as moved
    from gnnrec_lite.item2item import train_pinsage
    from gnnrec_lite.sampling import CurriculumSchedule, hard_negative_pool
    assert hwcheck is moved and record is lecture.record and train_pinsage is train_item2item.train_pinsage
    assert hard_negative_pool is negatives.hard_negative_pool and CurriculumSchedule is negatives.CurriculumSchedule
    with pytest.raises(ImportError):
        from gnnrec_lite.sampling import no_such_name  # noqa: F401
