"""Release, autograde and feedback for the homework: what `make release`, `make autograde`,
`make feedback` and `make course` run.

    python tools/homework.py release              student versions into assignments/ (from solutions/)
    python tools/homework.py autograde            autograde everything in course/submitted/
    python tools/homework.py autograde --jobs 4   ... four submissions at a time (make autograde JOBS=4)
    python tools/homework.py autograde --shard 2/8 --out DIR   grade the 2nd of 8 parts of the class into DIR
    python tools/homework.py merge DIR [DIR ...]  bring graded parts (shards) into course/gradebook.db
    python tools/homework.py feedback             feedback pages for course/autograded/ into course/feedback/
    python tools/homework.py export               course/grades.csv from the gradebook
    python tools/homework.py check-release DIR    regenerate into DIR and compare with assignments/ (drift)

Every command takes ``--homework hw1`` (repeatable) to work on fewer. nbgrader
always runs with this interpreter, so its kernels are this venv's Python. Each
submission runs in a bubblewrap sandbox; where none can start, autograde stops
and says so, unless ``--no-sandbox`` (every result then says it was graded
without one). See course/README.md for the instructor's guide.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from gnnrec_lite import grading  # noqa: E402
from gnnrec_lite.datasets.cache import atomic_write_text  # noqa: E402

COURSE = ROOT / "course"
PLACEHOLDER = "{assignment_id}"
VOLATILE_METADATA = ("language_info", "widgets", "execution")  # ignored when comparing notebooks


def _assignment_arg(homework) -> list[str]:
    homework = [grading.check_homework(hw) for hw in homework]
    return [f"--assignment={homework[0]}"] if len(homework) == 1 else ["--assignment=*"]


def release(homework=tuple(grading.HOMEWORK), *, course=COURSE, dest=None) -> list[Path]:
    """Generate the student versions with ``nbgrader generate_assignment`` and write them to ``dest``.

    ``dest`` defaults to the release folder next to ``course`` (``assignments/``).
    nbgrader writes into a temporary folder first; each notebook then gets its
    header filled in and is written atomically, so an interrupted run never
    leaves a half-written notebook in the repository.
    """
    course = Path(course)
    dest = Path(dest) if dest is not None else course.parent / "assignments"
    homework = [grading.check_homework(hw) for hw in homework]
    written = []
    with tempfile.TemporaryDirectory(prefix="gnnrec-release-") as tmp:
        grading.run_nbgrader(course, "generate_assignment", *_assignment_arg(homework), "--force",
                             f"--CourseDirectory.release_directory={tmp}")
        for hw in homework:
            for path in sorted((Path(tmp) / hw).rglob("*")):
                if path.is_file():
                    target = dest / hw / path.relative_to(Path(tmp) / hw)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    text = path.read_text()
                    if path.suffix == ".ipynb":
                        text = text.replace(PLACEHOLDER, hw)
                    atomic_write_text(target, text)
                    target.chmod(0o644)  # readable by the students' accounts on a shared hub
                    written.append(target)
    return written


def comparable(path) -> dict:
    """A notebook as a dict without volatile metadata, for drift checks."""
    nb = nbformat.read(path, as_version=4)
    for key in VOLATILE_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.pop("execution_count", None)
        cell.pop("outputs", None)
    return nb


def check_release(dest, *, homework=tuple(grading.HOMEWORK)) -> list[str]:
    """Regenerate the student versions into ``dest`` in a temporary course; list the notebooks that differ
    from the committed ones in ``assignments/`` (empty when nothing drifted)."""
    dest = Path(dest)
    course = grading.make_course(dest / "course-copy", homework)
    release(homework, course=course, dest=dest / "fresh")
    drifted = []
    for hw in homework:
        fresh, committed = dest / "fresh" / hw / f"{hw}.ipynb", ROOT / "assignments" / hw / f"{hw}.ipynb"
        if not committed.is_file() or comparable(fresh) != comparable(committed):
            drifted.append(str(committed.relative_to(ROOT)))
    return drifted


def autograde(homework=tuple(grading.HOMEWORK), *, course=COURSE, jobs: int = 1, shard=None, out=None,
              sandbox: bool = True, extra=(), logs=None) -> dict:
    """``nbgrader autograde`` over ``course/submitted`` (one batch per homework; a broken submission never
    stops it), ``jobs`` submissions at a time; returns ``{homework: {student: Result}}``.

    ``shard=(i, n)`` grades the i-th of n parts of the class into the course
    folder ``out`` instead (``merge`` brings it back); see
    :func:`gnnrec_lite.grading.parallel.autograde`.
    """
    return grading.autograde(homework, course=course, jobs=jobs, shard=shard, out=out, sandbox=sandbox,
                             extra=extra, logs=logs)


def feedback(homework=tuple(grading.HOMEWORK), *, course=COURSE) -> None:
    """``nbgrader generate_feedback`` (hidden tests removed), plus a page for each submission that
    could not be graded."""
    course = Path(course)
    for hw in [grading.check_homework(h) for h in homework]:
        if not any((course / "autograded").glob(f"*/{hw}")) and not any((course / "submitted").glob(f"*/{hw}")):
            continue
        grading.run_nbgrader(course, "generate_feedback", hw, "--force", check=False)
        grading.write_missing_feedback(course, hw, grading.collect_results(course, hw))


def export(*, course=COURSE) -> Path:
    """``nbgrader export``: one row per student and assignment, in ``course/grades.csv``."""
    grading.run_nbgrader(course, "export", "--to=grades.csv")
    return Path(course) / "grades.csv"


def grade_references(homework=tuple(grading.HOMEWORK), *, sandbox: bool = True) -> dict:
    """Autograde each reference solution in a temporary course, sandboxed as a class is;
    ``{hw: (Result, seconds)}``."""
    out = {}
    extra = grading.sandbox_args(sandbox)  # stops here, saying what to do, when no sandbox can start
    with tempfile.TemporaryDirectory(prefix="gnnrec-reference-") as tmp:
        course = grading.make_course(tmp, homework)
        grading.run_nbgrader(course, "generate_assignment", *_assignment_arg(homework), "--force")
        for hw in homework:
            target = course / "submitted" / "reference" / hw
            target.mkdir(parents=True)
            (target / f"{hw}.ipynb").write_text((ROOT / "solutions" / hw / f"{hw}.ipynb").read_text())
            start = time.perf_counter()
            grading.run_nbgrader(course, "autograde", hw, "--force", *extra)
            seconds = time.perf_counter() - start
            out[hw] = (grading.collect_results(course, hw)["reference"], seconds)
    return out


def stage_homework(summary: dict) -> None:
    """For `make course`: release every homework into assignments/, then autograde the reference
    solutions (full marks expected) and record grades and times in ``summary``."""
    start = time.perf_counter()
    written = release()
    summary["homework released"] = (f"{len(written)} notebooks into assignments/ "
                                    f"({time.perf_counter() - start:.0f} s)")
    for hw, (res, seconds) in grade_references().items():
        manual = f" (+{res.manual:g} graded by hand)" if res.manual else ""
        summary[f"{hw} reference grade"] = f"{res.score:g} / {res.max_score:g}{manual}, autograded in {seconds:.0f} s"
        if res.score < res.max_score:
            failed = "; ".join(m for p in res.parts.values() for m in p.messages if "person" not in m)
            raise RuntimeError(f"the {hw} reference solution lost points: {failed}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["release", "autograde", "merge", "feedback", "export", "check-release"])
    parser.add_argument("dest", nargs="*", help="folder for check-release; shard folders for merge")
    parser.add_argument("--homework", action="append", choices=sorted(grading.HOMEWORK),
                        help="only this homework (repeatable; default: all)")
    parser.add_argument("--course", default=str(COURSE),
                        help="the course root (default: course/; its release folder is ../assignments)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="autograde: submissions graded at a time, each in its own sandbox (default: 1)")
    parser.add_argument("--shard", metavar="I/N", help="autograde: only the I-th of N parts of the class, into --out")
    parser.add_argument("--out", metavar="DIR", help="autograde --shard: the part's course folder "
                        "(default: build/shards/I-of-N)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="autograde: run submissions without a sandbox (every result says so)")
    return parser


def _autograde(args, homework, course) -> int:
    shard = grading.parse_shard(args.shard) if args.shard else None
    out = args.out or (ROOT / "build" / "shards" / f"{shard[0]}-of-{shard[1]}" if shard else None)
    try:
        results = autograde(homework, course=course, jobs=args.jobs, shard=shard, out=out,
                            sandbox=not args.no_sandbox)
    except grading.SandboxUnavailable as exc:
        print(f"autograde stopped: {exc}", file=sys.stderr)
        return 2
    if not results:
        print(f"nothing to grade: put submissions in {course / 'submitted'}/STUDENT/HOMEWORK/HOMEWORK.ipynb")
    for students in results.values():
        for res in students.values():
            print(grading.format_result(res), end="\n\n")
    if shard:
        print(f"part {shard[0]} of {shard[1]} graded in {out}; bring it back with: "
              f"python tools/homework.py merge {out}")
    return 0


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    homework = tuple(args.homework or grading.HOMEWORK)
    course = Path(args.course)
    if not (course / "nbgrader_config.py").is_file():
        parser.error(f"--course: no nbgrader_config.py in {course}")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.command == "release":
        for path in release(homework, course=course):
            print(f"released {path}")
    elif args.command == "autograde":
        return _autograde(args, homework, course)
    elif args.command == "merge":
        if not args.dest:
            parser.error("merge needs the graded folders (shards) to bring in")
        merged = grading.merge(args.dest, course, homework)
        print(f"merged {len(merged)} submissions into {course / 'gradebook.db'}")
    elif args.command == "feedback":
        feedback(homework, course=course)
        print(f"feedback pages in {course / 'feedback'}")
    elif args.command == "export":
        print(f"grades written to {export(course=course)}")
    else:
        if len(args.dest) != 1:
            parser.error("check-release needs one folder to regenerate into")
        drifted = check_release(args.dest[0], homework=homework)
        print("\n".join(f"drifted: {p} (run `make release`)" for p in drifted) or "assignments/ is up to date")
        return 1 if drifted else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
