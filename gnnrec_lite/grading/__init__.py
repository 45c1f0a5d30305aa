"""Grading the homework: nbgrader runs, results, the test cells' guards and nbgrader plug-ins.

One of the package's three parts (core, lecture helpers, grading); it uses the
core and nothing else. ``course`` runs nbgrader, ``results`` reads its
verdict, ``hwcheck`` is what a homework's test cells import inside the
student's kernel, and ``nbgrader_plugins`` holds the preprocessors the course
configuration loads.
"""

from .course import (
    CELL_TIMEOUTS,
    DEFAULT_TIMEOUT,
    HOMEWORK,
    check_homework,
    grade_notebook,
    make_course,
    repo_root,
    run_nbgrader,
)
from .nbgrader_plugins import HIDDEN_BEGIN, HIDDEN_END, KERNEL_DIED
from .results import (
    SUSPICIOUS,
    Part,
    Result,
    collect_results,
    edited_cells,
    format_result,
    scan_cells,
    write_missing_feedback,
)

__all__ = ["CELL_TIMEOUTS", "DEFAULT_TIMEOUT", "HIDDEN_BEGIN", "HIDDEN_END", "HOMEWORK", "KERNEL_DIED", "SUSPICIOUS",
           "Part", "Result", "check_homework", "collect_results", "edited_cells", "format_result", "grade_notebook",
           "make_course", "repo_root", "run_nbgrader", "scan_cells", "write_missing_feedback"]
