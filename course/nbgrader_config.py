"""nbgrader configuration of the gnnrec course; this folder is the course root.

Run nbgrader from this folder with the project's interpreter, so that kernels
run the same Python (``../.venv/bin/python -m nbgrader ...``), or use the make
targets (``make release``, ``make autograde``, ``make feedback``). See README.md.
Paths are relative to this file, so a copy of the layout (course/, solutions/,
assignments/) works anywhere, as the tests do.
"""

from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearSolutions,
    GetGrades,
    IgnorePattern,
    SaveAutoGrades,
)

from gnnrec_lite import grading
from gnnrec_lite.grading import nbgrader_plugins

HERE = Path(__file__).resolve().parent
c = get_config()  # noqa: F821  (defined by nbgrader when it loads this file)

# --- the course and its folders
c.CourseDirectory.course_id = "gnnrec"
c.CourseDirectory.root = str(HERE)
c.CourseDirectory.source_directory = str(HERE.parent / "solutions")     # sources: tasks, solutions, tests
c.CourseDirectory.release_directory = str(HERE.parent / "assignments")  # student versions (committed)
# submitted/, autograded/, feedback/ and gradebook.db stay in this folder and out of git (.gitignore)
c.Exchange.timezone = "UTC"
c.IncludeHeaderFooter.header = str(HERE / "header.ipynb")
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# ... or, where the source writes `### BEGIN SOLUTION  # stub: MESSAGE`, `raise NotImplementedError("MESSAGE")`
c.GenerateAssignment.preprocessors = [
    nbgrader_plugins.ClearSolutionsWithStub if p is ClearSolutions else p
    for p in GenerateAssignment.class_traits()["preprocessors"].default()]

# --- executing submissions: the student's cells in a sandboxed kernel, the test cells in the grader (README.md)
c.Execute.timeout = grading.DEFAULT_TIMEOUT          # seconds per cell; then the kernel is interrupted
c.SafeExecute.cell_timeouts = grading.CELL_TIMEOUTS  # ... except these cells (hw2's training test)
c.SafeExecute.sandbox = True                         # bubblewrap around each kernel (--no-sandbox turns it off)
c.SafeExecute.memory_mb = 4096                       # a kernel's limits; a submission that hits one is graded
c.SafeExecute.cpu_seconds = 900                      # as far as it got, and its result says which
c.SafeExecute.processes = 128
c.SafeExecute.file_mb = 64
c.LimitOutputSize.max_lines = 200
c.LimitOutputSize.max_chars = 20_000
c.LimitOutputSize.max_traceback = 60
c.OverwriteCells.add_missing_cells = True            # a deleted test cell comes back from the gradebook
# (an edited read-only or test cell is always restored from the gradebook: nbgrader's OverwriteCells)

c.Autograde.autograde_preprocessors = [  # nbgrader's list, with two of its steps replaced
    nbgrader_plugins.SafeExecute,      # instead of Execute: per-cell budgets, survives a dead kernel
    IgnorePattern,
    ClearMetadataPreprocessor,
    nbgrader_plugins.LimitOutputSize,  # instead of LimitOutput: caps characters too
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
    nbgrader_plugins.FlagSuspicious,   # code that tampers with grading: flagged for a person in the formgrader
]

# --- late submissions: once an assignment has a due date in the gradebook (README.md), each started
# day late costs 10% of the score; nbgrader's own LateSubmissionPlugin offers "none" and "zero"
c.AssignLatePenalties.plugin_class = nbgrader_plugins.LatePenaltyPerDay
c.LatePenaltyPerDay.fraction_per_day = 0.1

# --- feedback: never show hidden-test source or the tracebacks that would quote it
c.GenerateFeedback.preprocessors = [GetGrades, nbgrader_plugins.HideHiddenTests, CSSHTMLHeaderPreprocessor]
