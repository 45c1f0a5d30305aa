"""Grading the homework: nbgrader runs, results, the test cells' guards, the sandbox and the judge.

One of the package's three parts (core, lecture helpers, grading); it uses the
core and nothing else. ``course`` runs nbgrader, ``parallel`` grades a class on
several cores or machines and merges the gradebooks, ``results`` reads the
verdict, ``hwcheck`` is what a homework's test cells import, ``sandbox`` runs a
submission's kernel in bubblewrap, ``judge`` (with ``remote``, ``agent`` and
``wire``) runs the test cells in the grader, and ``execute`` and
``nbgrader_plugins`` hold the preprocessors the course configuration loads.

Names load on first use: a student's kernel that imports ``hwcheck`` does not
pay for nbgrader.
"""

from __future__ import annotations

import importlib

_HOME = {
    "course": ("CELL_TIMEOUTS", "DEFAULT_TIMEOUT", "HOMEWORK", "check_homework", "grade_notebook", "make_course",
               "repo_root", "run_nbgrader", "sandbox_args"),
    "results": ("SUSPICIOUS", "Part", "Result", "collect_results", "edited_cells", "format_result", "scan_cells",
                "write_missing_feedback"),
    "nbgrader_plugins": ("HIDDEN_BEGIN", "HIDDEN_END"),
    "execute": ("KERNEL_DIED",),
    "sandbox": ("Limits", "SandboxUnavailable"),
    "parallel": ("autograde", "merge", "parse_shard"),
}
_WHERE = {name: module for module, names in _HOME.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
