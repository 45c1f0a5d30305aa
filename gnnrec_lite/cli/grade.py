"""``gnnrec grade HOMEWORK NOTEBOOK``: one notebook autograded the way the class is graded, sandbox included."""

from __future__ import annotations

import sys
from pathlib import Path


def add_grade_arguments(parser) -> None:
    parser.add_argument("homework", help="which homework: hw1, hw2 or hw3")
    parser.add_argument("notebook", help="path to your notebook, e.g. assignments/hw1/hw1.ipynb after you worked it")
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="keep the temporary course in DIR (the feedback page is in DIR/course/feedback)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the notebook without the bubblewrap sandbox (where none can start, e.g. macOS; "
                             "the result then says so)")


def run_grade(args) -> int:
    try:
        from ..grading import SandboxUnavailable, check_homework, format_result, grade_notebook
    except ImportError as exc:  # nbgrader comes with the course extra
        raise OSError(f"gnnrec grade needs nbgrader: pip install -e '.[course]' ({exc})") from None
    check_homework(args.homework)
    try:
        result = grade_notebook(args.homework, args.notebook, workdir=args.keep, sandbox=not args.no_sandbox)
    except SandboxUnavailable as exc:
        print(f"gnnrec grade: {exc}. Grading your own notebook without one is fine: add --no-sandbox.",
              file=sys.stderr)
        return 1
    print(format_result(result))
    if result.manual:
        print(f"Written answers ({result.manual:g} points) are graded by a person; working alone, compare yours "
              f"with the worked solution in solutions/{args.homework}/{args.homework}.ipynb.")
    if args.keep:
        print(f"feedback: {Path(args.keep) / 'course' / 'feedback' / 'learner' / args.homework}")
    return 0
