"""The ``gnnrec`` command line.

    gnnrec data fetch ml-100k      put MovieLens-100K into the cache (needs the network once)
    gnnrec data info ml-100k       counts, density and degree statistics (offline)
    gnnrec data path               where the cache is
    gnnrec train --model lightgcn  train and evaluate a model (see `gnnrec train --help`)
    gnnrec grade hw1 my-hw1.ipynb  autograde one homework notebook with nbgrader, as the class is graded
"""

from __future__ import annotations

import argparse
import json
import sys

from . import datasets


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def cmd_data_fetch(args) -> int:
    where = datasets.fetch(args.name, **({"path": args.data_dir, "force": args.force, "source": args.source}
                                         if args.name == "ml-100k" else {}))
    print(where if where is not None else f"{args.name} ships with the library; nothing to fetch")
    return 0


def cmd_data_info(args) -> int:
    kwargs = {"path": args.data_dir} if args.name == "ml-100k" else {}
    inter = datasets.load(args.name, **kwargs)
    stats = inter.describe()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{args.name}: {datasets.DATASETS[args.name]}")
    width = max(map(len, stats))
    for key, value in stats.items():
        print(f"  {key:<{width}}  {_fmt(value)}")
    return 0


def cmd_data_path(args) -> int:
    print(datasets.data_home(args.data_dir))
    return 0


def cmd_train(args) -> int:
    from .train_cli import run_train

    return run_train(args)


def cmd_grade(args) -> int:
    try:
        from . import grading
    except ImportError as exc:  # nbgrader comes with the course extra
        raise OSError(f"gnnrec grade needs nbgrader: pip install -e '.[course]' ({exc})") from None
    grading.check_homework(args.homework)
    return grading.cmd_grade(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gnnrec", description="Tools of the gnnrec course.")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="fetch and inspect datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    names = sorted(datasets.DATASETS)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=None,
                        help=f"cache folder (default: ${datasets.cache.ENV_VAR} or ~/.cache/gnnrec)")

    fetch = data_sub.add_parser("fetch", parents=[common], help="download a dataset into the cache")
    fetch.add_argument("name", choices=names)
    fetch.add_argument("--force", action="store_true", help="fetch again even if a valid copy exists")
    fetch.add_argument("--source", default=None, help="read a local RecBole wheel or GroupLens zip instead")
    fetch.set_defaults(func=cmd_data_fetch)

    info = data_sub.add_parser("info", parents=[common], help="counts, density and degree statistics")
    info.add_argument("name", choices=names)
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=cmd_data_info)

    path = data_sub.add_parser("path", parents=[common], help="print the cache folder")
    path.set_defaults(func=cmd_data_path)

    from .train_cli import add_train_arguments

    train = sub.add_parser("train", parents=[common], help="train and evaluate MF, NGCF or LightGCN",
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_train_arguments(train)
    train.set_defaults(func=cmd_train)

    grade = sub.add_parser("grade", help="autograde a homework notebook with nbgrader (visible and hidden tests)",
                           description="Grade one notebook the way the class is graded: a temporary nbgrader "
                                       "course, the real autograder, a score and a message per part.")
    grade.add_argument("homework", help="which homework: hw1, hw2 or hw3")
    grade.add_argument("notebook", help="path to your notebook, e.g. assignments/hw1/hw1.ipynb after you worked it")
    grade.add_argument("--keep", metavar="DIR", default=None,
                       help="keep the temporary course in DIR (the feedback page is in DIR/course/feedback)")
    grade.set_defaults(func=cmd_grade)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"gnnrec: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
