"""``gnnrec check NOTEBOOK``: run a learner's lecture notebook and print where each exercise stands.

Introduced in lecture 01. The notebook is executed top to bottom (offline, in
a fresh kernel, cells that raise do not stop the run); every ``check(...)``
verdict it stores is read back into a table: passed, failed with the check's
message, or not attempted. The exit code is 0 when every attempted exercise
passed, 1 otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path


def add_check_arguments(parser) -> None:
    parser.add_argument("notebook", help="a lecture notebook (or your copy of one), e.g. lectures/05_lightgcn.ipynb")
    parser.add_argument("--fast", action="store_true",
                        help="run with FAST = True (the lecture's quick settings; the checks are the same)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default: 600)")


def run_check(args) -> int:
    from ..grading.exercises import load_all, read_exercises
    from ..lecture.notebook import cell_errors, parameter_names, run_notebook

    path = Path(args.notebook)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    parameters = {"FAST": True} if args.fast and "FAST" in parameter_names(path) else None
    print(f"running {path} ...", file=sys.stderr)
    nb = run_notebook(path, parameters, timeout=args.timeout, allow_errors=True)
    verdicts = read_exercises(nb)
    registry = load_all()
    if not verdicts:
        print(f"{path}: no exercise checks ran (cells tagged exercise-check call gnnrec_lite.grading.exercises.check)")
    width = max([len(v["id"]) for v in verdicts] + [8])
    for v in verdicts:
        title = registry[v["id"]].title if v["id"] in registry else v.get("title", "")
        print(f"{v['id']:<{width}}  {v['status']:<13}  {title}" + (f": {v['message']}" if v["status"] == "failed"
                                                                    else ""))
    counts = {s: sum(v["status"] == s for v in verdicts) for s in ("passed", "failed", "not attempted")}
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['not attempted']} not attempted")
    for cell_index, message in cell_errors(nb):
        print(f"note: cell {cell_index} raised {message[:200]}")
    return 1 if counts["failed"] else 0
