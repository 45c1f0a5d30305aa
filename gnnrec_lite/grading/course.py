"""Running the real nbgrader on a course folder, for a class or for one learner.

Introduced with the homework. The course root is ``course/`` (its
``nbgrader_config.py`` points at ``solutions/`` for the sources and
``assignments/`` for the student versions, and loads the plug-ins of
:mod:`gnnrec_lite.grading.nbgrader_plugins`). :func:`make_course` copies that
layout, :func:`run_nbgrader` runs one nbgrader command in it, and
:func:`grade_notebook` (behind ``gnnrec grade hw1 NOTEBOOK``) gives one
notebook the verdict a class would get, in a temporary course, sandboxed as
a class is; :func:`keep_feedback` keeps what the learner may see of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .._checks import check_choice
from .results import Result, collect_results, write_missing_feedback

HOMEWORK = {"hw1": "Recall@K and losses", "hw2": "LightGCN", "hw3": "PinSAGE sampling",
            "hw4": "PinSAGE neighbourhoods and pooling"}
DEFAULT_TIMEOUT = 60  # seconds per cell
CELL_TIMEOUTS = {"partC-train": 240}  # grade_id -> its own budget in seconds (hw2 trains a model in this test)
CELL_TIMEOUTS |= {"partD-experiment": 240, "partD-rerun": 240}  # hw3: Part D trains three MF models, and again


# ----------------------------------------------------------------------------- running nbgrader
def repo_root() -> Path:
    """The course repository this package lives in (it holds ``course/`` and ``solutions/``)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "course" / "nbgrader_config.py").is_file() or not (root / "solutions").is_dir():
        raise FileNotFoundError(f"no course found next to the package at {root}: grading needs the course "
                                "repository (course/nbgrader_config.py and solutions/), e.g. a git clone")
    return root


def check_homework(homework: str) -> str:
    return check_choice("homework", homework, HOMEWORK)


def make_course(dest, homework=tuple(HOMEWORK), *, repo=None) -> Path:
    """A course folder under ``dest`` laid out like the repository; returns its ``course/`` root.

    Copies ``course/nbgrader_config.py``, ``course/header.ipynb`` and the
    sources of ``homework``; nothing is written in the repository.
    """
    repo = Path(repo) if repo is not None else repo_root()
    dest = Path(dest)
    course = dest / "course"
    course.mkdir(parents=True, exist_ok=True)
    for name in ("nbgrader_config.py", "header.ipynb"):
        shutil.copy2(repo / "course" / name, course / name)
    for hw in homework:
        shutil.copytree(repo / "solutions" / check_homework(hw), dest / "solutions" / hw, dirs_exist_ok=True)
    (dest / "assignments").mkdir(exist_ok=True)
    return course


def run_nbgrader(course, *args: str, timeout: float | None = None, check: bool = True,
                 env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m nbgrader ARGS`` in ``course`` with this interpreter, so kernels run this venv's Python.

    One torch thread per kernel (``OMP_NUM_THREADS=1``). Raises RuntimeError with
    the log's tail when ``check`` and nbgrader exits non-zero.
    """
    run_env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH when it creates a gradebook
    run_env["PATH"] = bindir + os.pathsep + run_env.get("PATH", "")
    run_env.pop("JPY_SESSION_NAME", None)
    run_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=run_env, timeout=timeout,
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {course} (exit {proc.returncode}):\n{tail}")
    return proc


def sandbox_args(sandbox: bool = True) -> list[str]:
    """nbgrader arguments for grading with or without the sandbox; with it, first check that one can start here
    (:class:`~gnnrec_lite.grading.sandbox.SandboxUnavailable` says what to do otherwise)."""
    if not sandbox:
        return ["--SafeExecute.sandbox=False"]
    from .sandbox import check

    check()
    return []


def grade_notebook(homework: str, notebook, *, workdir=None, repo=None, sandbox: bool = True,
                   keep=None) -> Result:
    """Autograde one notebook in a temporary course with the real nbgrader (visible and hidden tests).

    Returns the :class:`Result`. ``keep`` is a folder for the learner: it gets the
    feedback page and the graded notebook, never a solution or a hidden test
    (:func:`keep_feedback`). ``workdir`` (for instructors) keeps the whole course
    folder, sources, hidden tests and gradebook included (feedback in
    ``workdir/course/feedback``); otherwise it is removed. The notebook runs in
    a sandbox unless ``sandbox`` is False (its result then says so).
    """
    homework = check_homework(homework)
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"notebook not found: {notebook}")
    extra = sandbox_args(sandbox)
    tmp = None if workdir is not None else tempfile.TemporaryDirectory(prefix="gnnrec-grade-")
    try:
        course = make_course(workdir if tmp is None else tmp.name, [homework], repo=repo)
        run_nbgrader(course, "generate_assignment", homework, "--force")
        student = "learner"
        target = course / "submitted" / student / homework
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, target / f"{homework}.ipynb")
        run_nbgrader(course, "autograde", homework, "--force", *extra, check=False)
        run_nbgrader(course, "generate_feedback", homework, "--force", check=False)
        results = collect_results(course, homework)
        write_missing_feedback(course, homework, results)
        if keep is not None:
            keep_feedback(course, homework, student, keep)
        return results[student]
    finally:
        if tmp is not None:
            tmp.cleanup()


def keep_feedback(course, homework: str, student: str, dest) -> list[Path]:
    """Copy to ``dest`` what a learner may keep of a graded course: ``HW-feedback.html`` (the feedback page) and
    ``HW-graded.ipynb`` (their notebook as graded, with the hidden tests' code and tracebacks removed as the
    feedback removes them). Nothing else: no sources, no gradebook. Returns the files written."""
    import nbformat

    from .nbgrader_plugins import HideHiddenTests

    course, dest = Path(course), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    page = course / "feedback" / student / homework / f"{homework}.html"
    if page.is_file():
        written.append(Path(shutil.copyfile(page, dest / f"{homework}-feedback.html")))
    graded = course / "autograded" / student / homework / f"{homework}.ipynb"
    if graded.is_file():
        nb = nbformat.read(graded, as_version=4)
        hide = HideHiddenTests()
        nb.cells = [hide.preprocess_cell(cell, {}, index)[0] for index, cell in enumerate(nb.cells)]
        nbformat.write(nb, dest / f"{homework}-graded.ipynb")
        written.append(dest / f"{homework}-graded.ipynb")
    return written
