"""Dishonest homework submissions, for every homework: stub answers plus a trick that fooled in-kernel grading.

Each function takes the released (student) notebook of a homework and returns
the notebook a dishonest student would hand in. They are built from the
released stub, so an honest grader gives each zero points: whatever they
score beyond that is the trick's doing. ``tests/test_homework_nbgrader.py``
grades them in the class's batch; ``benchmarks/`` never uses them.
"""

from __future__ import annotations

import re

import nbformat

STUB = "raise NotImplementedError()"  # nbgrader's stub, or one that says what to write (a `# stub:` mark):
STUB_LINE = re.compile(r'raise NotImplementedError\((?:"(?:[^"\\\n]|\\.)*")?\)')  # either form


def answer_cells(nb) -> list:
    """The code cells a student writes in (nbgrader ``solution`` cells), in order."""
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def copy(nb):
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def _prepend(nb, code: str, *, stubs: str | None = None):
    """``code`` at the top of the first answer cell; with ``stubs``, every stub line replaced by it."""
    nb = copy(nb)
    cells = answer_cells(nb)
    if stubs is not None:
        for cell in cells:
            cell.source = STUB_LINE.sub(lambda _: stubs, cell.source)
    cells[0].source = code.strip() + "\n\n\n" + cells[0].source
    return nb


READ_SOLUTIONS = '''
import json as _json, pathlib as _pathlib
import gnnrec_lite as _gl


def _answer(grade_id):
    """Run the instructor's answer cell `grade_id`, read from solutions/ next to the library or above this folder."""
    here = _pathlib.Path.cwd().resolve()
    for root in [_pathlib.Path(_gl.__file__).resolve().parents[1], here, *here.parents]:
        path = root / "solutions" / "HOMEWORK" / "HOMEWORK.ipynb"
        if path.is_file():
            for cell in _json.loads(path.read_text())["cells"]:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if meta.get("grade_id") == grade_id and meta.get("solution"):
                    exec("".join(cell["source"]), globals())
                    return
    raise NotImplementedError()
'''


def reads_solutions(nb, homework: str):
    """Every answer cell runs the instructor's answer cell of the same grade_id, read from ``solutions/``."""
    nb = copy(nb)
    cells = answer_cells(nb)
    for cell in cells:
        cell.source = f'_answer("{cell.metadata["nbgrader"]["grade_id"]}")'
    cells[0].source = READ_SOLUTIONS.strip().replace("HOMEWORK", homework) + "\n\n\n" + cells[0].source
    return nb


INPUT_TRANSFORMER = '''
def _no_checks(lines):
    """Every later cell that mentions a check becomes `pass`."""
    return ["pass\\n"] if any("hwcheck" in line or "check(" in line for line in lines) else lines


get_ipython().input_transformers_post.append(_no_checks)
'''

GRADEBOOK = '''
import pathlib as _pathlib
import sqlite3 as _sqlite3

for _folder in [_pathlib.Path.cwd(), *_pathlib.Path.cwd().resolve().parents]:
    if (_folder / "gradebook.db").is_file():
        _db = _sqlite3.connect(_folder / "gradebook.db")
        _db.execute("UPDATE grade SET manual_score = 100")
        _db.commit()
'''

HWCHECK = '''
from gnnrec_lite.grading import hwcheck as _hw


def _nothing(*args, **kwargs):
    return None


_original_guard = _hw.guard


def _guard(*args, **kwargs):
    """Let guard() restore everything, then switch the checks off again."""
    restored = _original_guard()
    _hw.close = _hw.equal = _hw.check = _nothing
    _hw.guard = _guard
    return restored


_hw.guard = _guard
_hw.close = _hw.equal = _hw.check = _nothing
'''

BUILTINS = '''
import builtins as _builtins

_shell = get_ipython()
_run_cell, _run_cell_async = _shell.run_cell, _shell.run_cell_async


def _forget(result):
    result.error_before_exec = result.error_in_exec = None
    return result


def _run_cell_without_errors(*args, **kwargs):
    """Run the cell, then forget that it failed."""
    return _forget(_run_cell(*args, **kwargs))


async def _run_cell_async_without_errors(*args, **kwargs):
    return _forget(await _run_cell_async(*args, **kwargs))


_shell.run_cell, _shell.run_cell_async = _run_cell_without_errors, _run_cell_async_without_errors
_shell.showtraceback = _shell._showtraceback = lambda *args, **kwargs: None
_builtins.AssertionError = type("AssertionError", (Warning,), {})
_builtins.NotImplementedError = type("NotImplementedError", (Warning,), {})
'''

SETTRACE = '''
import sys as _sys


def _agree(frame, event, arg):
    """On every call of a check, make the value checked equal what it is checked against."""
    if event == "call" and frame.f_code.co_filename.endswith("hwcheck.py"):
        name, local = frame.f_code.co_name, frame.f_locals
        if name in ("close", "equal"):
            local["actual"] = local["expected"]
        elif name == "check":
            local["condition"] = True
    return None


_sys.settrace(_agree)
'''

OS_EXIT = "import os as _os\n_os._exit(0)  # the kernel dies as soon as a test calls this"


def cheats(released, homework: str) -> dict:
    """name -> notebook, for one homework's released notebook (all score 0 when graded honestly)."""
    return {
        "cheat-reads-solutions": reads_solutions(released, homework),
        "cheat-input-transformer": _prepend(released, INPUT_TRANSFORMER),
        "cheat-hwcheck": _prepend(released, HWCHECK, stubs="pass"),
        "cheat-builtins": _prepend(released, BUILTINS, stubs="pass"),
        "cheat-settrace": _prepend(released, SETTRACE, stubs="pass"),
        "cheat-os-exit": _prepend(released, "", stubs=OS_EXIT),
        "zz-cheat-gradebook": _prepend(released, GRADEBOOK),  # last in the batch: the others are graded before it
    }


NAMES = ("cheat-reads-solutions", "cheat-input-transformer", "cheat-hwcheck", "cheat-builtins", "cheat-settrace",
         "cheat-os-exit", "zz-cheat-gradebook")
TABLE = ("cheat-reads-solutions", "cheat-input-transformer", "zz-cheat-gradebook")  # the three cheats
