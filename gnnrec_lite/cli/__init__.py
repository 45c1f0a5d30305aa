"""The ``gnnrec`` command line.

    gnnrec data fetch ml-100k      put MovieLens-100K into the cache (needs the network once)
    gnnrec data info ml-100k       counts, density and degree statistics (offline)
    gnnrec data path               where the cache is
    gnnrec train --model lightgcn  train and evaluate a model (see `gnnrec train --help`)
    gnnrec grade hw1 my-hw1.ipynb  autograde one homework notebook with nbgrader, as the class is graded
    gnnrec check NOTEBOOK          run a lecture notebook and list its exercises: passed, failed, not attempted
    gnnrec strip NOTEBOOK...       clear outputs before a commit (keeps tags and nbgrader metadata)

The command line sits on top of everything else: it imports the core, the
lecture helpers and the grading part, and nothing imports it.
"""

from __future__ import annotations

import argparse
import sys

from .check import add_check_arguments, run_check
from .data import add_data_parsers, data_dir_option
from .grade import add_grade_arguments, run_grade
from .train import add_train_arguments, run_train


def run_strip(args) -> int:
    from ..lecture.notebook import strip_files

    for path in strip_files(args.files):
        print(f"stripped {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gnnrec", description="Tools of the gnnrec course.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_data_parsers(sub)

    train = sub.add_parser("train", parents=[data_dir_option()],
                           help="train and evaluate MF, NGCF, LightGCN or PinSAGE")
    add_train_arguments(train)
    train.set_defaults(func=run_train)

    grade = sub.add_parser("grade", help="autograde a homework notebook with nbgrader (visible and hidden tests)",
                           description="Grade one notebook the way the class is graded: a temporary nbgrader "
                                       "course, the real autograder, a score and a message per part.")
    add_grade_arguments(grade)
    grade.set_defaults(func=run_grade)

    check = sub.add_parser("check", help="run a lecture notebook and show where each exercise stands",
                           description="Execute a lecture notebook (or your copy) offline and print a table of its "
                                       "exercises: passed, failed with the check's message, or not attempted. "
                                       "The exit code is 0 when every attempted exercise passed.")
    add_check_arguments(check)
    check.set_defaults(func=run_check)

    strip = sub.add_parser("strip", help="clear notebook outputs; keep tags and nbgrader metadata")
    strip.add_argument("files", nargs="+", metavar="NOTEBOOK")
    strip.set_defaults(func=run_strip)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"gnnrec: error: {exc}", file=sys.stderr)
        return 1


__all__ = ["build_parser", "main"]
