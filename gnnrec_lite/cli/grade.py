"""``gnnrec grade HOMEWORK NOTEBOOK``: one notebook autograded the way the class is graded, sandbox included."""

from __future__ import annotations

import sys
from pathlib import Path


def add_grade_arguments(parser) -> None:
    parser.add_argument("homework", help="which homework: hw1, hw2, hw3 or hw4")
    parser.add_argument("notebook", help="path to your notebook, e.g. assignments/hw1/hw1.ipynb after you worked it")
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="keep your feedback in DIR: HOMEWORK-feedback.html (the feedback page) and "
                             "HOMEWORK-graded.ipynb (your notebook as graded, hidden tests removed)")
    parser.add_argument("--keep-course", metavar="DIR", default=None,
                        help="for instructors: keep the whole temporary course in DIR, solutions, hidden tests "
                             "and gradebook included (the feedback page is in DIR/course/feedback)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the notebook without the bubblewrap sandbox (where none can start, e.g. macOS; "
                             "the result then says so)")


def run_grade(args) -> int:
    try:
        from ..grading import SandboxUnavailable, check_homework, format_result, grade_notebook
        from ..grading.results import points
    except ImportError as exc:  # nbgrader comes with the course extra
        raise OSError(f"gnnrec grade needs nbgrader: pip install -e '.[course]' ({exc})") from None
    check_homework(args.homework)
    try:
        result = grade_notebook(args.homework, args.notebook, workdir=args.keep_course, keep=args.keep,
                                sandbox=not args.no_sandbox)
    except SandboxUnavailable as exc:
        print(f"gnnrec grade: {exc}. Grading your own notebook without one is fine: add --no-sandbox.",
              file=sys.stderr)
        return 1
    print(format_result(result))
    if result.manual:
        print(f"Written answers ({points(result.manual)}) are graded by a person; working alone, compare yours "
              f"with the worked solution in solutions/{args.homework}/{args.homework}.ipynb.")
    if args.keep:
        print(f"feedback: {Path(args.keep) / f'{args.homework}-feedback.html'}")
    if args.keep_course:
        print(f"course (instructors only: it holds the solutions): {Path(args.keep_course) / 'course'}")
    return 0
