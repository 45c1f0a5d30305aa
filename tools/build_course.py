"""`make course`: build and check the whole course on the data that ships with the setup.

Each stage prints what it did and how long it took; the end is one summary
table, also written to ``build/course-summary.json``. Stages: the data, the
popularity baseline, every lecture executed in full mode (saved under
``build/lectures/`` as an executed notebook, HTML, its records and its claims),
and the homework released and its reference solutions autograded. Each
lecture checks its own claims right below the sentences that make them
(``gnnrec_lite.lecture.claim``); the build reads the verdicts back and fails,
naming the lecture and the sentence, when a claim does not hold.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import gnnrec_lite as gl  # noqa: E402
from gnnrec_lite.datasets import cache  # noqa: E402


def stage_data(summary: dict) -> None:
    """Load every dataset offline and print its shape."""
    for name in ("ml-100k", "southern-women", "lecture-toy"):
        stats = gl.load(name).describe()
        summary[f"data/{name}"] = (f"{stats['users']:,} users, {stats['items']:,} items, "
                                   f"{stats['interactions']:,} interactions, density {stats['density']:.4f}")
    ml = gl.load("ml-100k").describe()
    summary["data/ml-100k degrees"] = (f"user median {ml['user_degree_median']:.0f} (min {ml['user_degree_min']}), "
                                       f"item median {ml['item_degree_median']:.0f} (max {ml['item_degree_max']}); "
                                       f"top 20% of items hold {ml['share_of_top_20pct_items']:.0%} of ratings")


def stage_baseline(summary: dict) -> None:
    """Most-popular on ML-100K, per-user random 80/20 split, seed 0, train items excluded."""
    train, test = gl.random_split(gl.load("ml-100k"), 0.8, seed=0)
    result = gl.evaluate(gl.most_popular(train), train, test, k=(10, 20))
    summary["most-popular Recall@20"] = f"{result['recall@20']:.4f}"
    summary["most-popular NDCG@20"] = f"{result['ndcg@20']:.4f}"
    summary["most-popular Precision@20"] = f"{result['precision@20']:.4f}"


def claim_failures(stem: str, claims: list[dict]) -> list[str]:
    """``<lecture stem>: <sentence> (<note>)`` for every claim that does not hold (unchecked ones are not failures)."""
    return [f"{stem}: {c['sentence']}" + (f" ({c['note']})" if c["note"] else "")
            for c in claims if c["holds"] is False]


def claims_line(claims: list[dict]) -> str:
    """``claims N/M hold`` over the checked claims, plus how many were not checked (a FAST run)."""
    checked = [c for c in claims if c["holds"] is not None]
    line = f"claims {sum(c['holds'] is True for c in checked)}/{len(checked)} hold"
    unchecked = len(claims) - len(checked)
    return line + (f", {unchecked} not checked" if unchecked else "")


def stage_lectures(summary: dict, *, out: Path, fast: bool = False, only: str | None = None,
                   lectures: Path = ROOT / "lectures", claims_by_lecture: dict | None = None) -> list[str]:
    """Execute every lecture top to bottom, save it (executed, as HTML, its records and claims) and check its claims.

    Each lecture's claims also go into ``claims_by_lecture`` (stem -> list).
    Returns the claims that failed, as printable lines.
    """
    import nbformat

    from gnnrec_lite.lecture import read_claims
    from gnnrec_lite.lecture.notebook import read_records, run_notebook, to_html

    failed = []
    folder = out / "lectures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = sorted(Path(lectures).glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if p.stem.split("_")[0] in only.split(",")]
    for path in paths:
        start = time.perf_counter()
        nb = run_notebook(path, {"FAST": True} if fast else None, timeout=1800,
                          env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})  # steady on a shared machine
        seconds = time.perf_counter() - start
        records, claims = read_records(nb), read_claims(nb)
        cache.atomic_write_text(folder / path.name, nbformat.writes(nb))
        to_html(nb, folder / f"{path.stem}.html")
        cache.atomic_write_json(folder / f"{path.stem}.records.json", records)
        cache.atomic_write_json(folder / f"{path.stem}.claims.json", claims)
        if claims_by_lecture is not None:
            claims_by_lecture[path.stem] = claims
        failed += claim_failures(path.stem, claims)
        headline = ", ".join(f"{k} {v:.4f}" for k, v in records.items()
                             if isinstance(v, float) and k.endswith(HEADLINE))
        summary[f"lecture {path.stem}"] = f"{seconds:.0f} s, {claims_line(claims)}" + (
            f"; {headline}" if headline else "")
        print(f"    {path.stem}: {seconds:.1f} s, {len(records)} records, {claims_line(claims)}")
    return failed


def stage_exercises(summary: dict, *, out: Path, only: str | None = None, **_) -> list[str]:
    """Each lecture's exercises: unattempted in the executed lecture, every check passing in its worked solution.

    Reads the verdicts of ``out/lectures/NN_*.ipynb`` (written by the lectures
    stage) and executes ``solutions/lectures/NN_*.ipynb``. Returns the
    problems as printable lines: a stub that did not report "not attempted",
    or a worked solution whose check did not pass.
    """
    import nbformat

    from gnnrec_lite.grading.exercises import load_all, read_exercises
    from gnnrec_lite.lecture.notebook import run_notebook

    registry, problems = load_all(), []
    for path in sorted((ROOT / "solutions" / "lectures").glob("[0-9][0-9]_*.ipynb")):
        number = path.stem.split("_")[0]
        if only and number not in only.split(","):
            continue
        ids = sorted(i for i in registry if i.startswith(f"{number}-"))
        code = [i for i in ids if registry[i].kind == "code"]
        executed = out / "lectures" / path.name
        stubs = read_exercises(nbformat.read(executed, as_version=4)) if executed.is_file() else []
        problems += [f"{path.stem}: exercise {v['id']} in the lecture as released: {v['status']} ({v['message']})"
                     for v in stubs if v["status"] != "not attempted"]
        start = time.perf_counter()
        solved = read_exercises(run_notebook(path, timeout=600, env={"OMP_NUM_THREADS": "1"}))
        passed = sorted(v["id"] for v in solved if v["status"] == "passed")
        problems += [f"{path.stem}: worked solution of exercise {v['id']}: {v['status']} ({v['message']})"
                     for v in solved if v["status"] != "passed"]
        problems += [f"{path.stem}: no worked solution ran the check of exercise {i}" for i in set(code) - set(passed)]
        idle = sum(v["status"] == "not attempted" for v in stubs)
        summary[f"exercises {number}"] = (f"{len(ids)} ({len(code)} checked): {idle}/{len(stubs)} reported not "
                                          f"attempted in the lecture, {len(passed)}/{len(code)} checks pass on the "
                                          f"worked solutions ({time.perf_counter() - start:.0f} s)")
        print(f"    {path.stem}: {summary[f'exercises {number}']}")
    return problems


HEADLINE = ("recall@20", "binary loss", "bpr loss")


def stage_homework(summary: dict, **_) -> list[str]:
    """Release every homework and autograde its reference solution (tools/homework.py)."""
    from homework import stage_homework as run

    run(summary)
    return []


def stage_site(summary: dict, *, out: Path = ROOT / "build") -> None:
    """The course website from ``out/lectures`` and the student homework into ``out/site`` (tools/build_site.py)."""
    from build_site import build, summary_line

    summary["site"] = summary_line(build(out / "lectures", out / "site"), out / "site")


STAGES = {"data": stage_data, "baseline": stage_baseline, "lectures": stage_lectures, "exercises": stage_exercises,
          "homework": stage_homework, "site": stage_site}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "build"), help="where executed notebooks and the summary go")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {list(STAGES)}")
    parser.add_argument("--fast", action="store_true",
                        help="run lectures with FAST=True (claims that need the full run are not checked)")
    parser.add_argument("--only", help="lecture numbers to run, e.g. 01,03")
    parser.add_argument("--lectures", default=str(ROOT / "lectures"), help="the folder of NN_*.ipynb lectures")
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; known: {list(STAGES)}")
    if "homework" in stages and not (ROOT / "tools" / "homework.py").is_file():
        stages.remove("homework")
    out = Path(args.out)
    summary: dict[str, str] = {}
    timings: dict[str, float] = {}
    failed: list[str] = []
    claims: dict[str, list] = {}
    print(f"gnnrec course build (data cache: {cache.data_home()}; {'FAST' if args.fast else 'full'} mode)")
    for name in stages:
        start = time.perf_counter()
        stage = STAGES[name]
        if name == "lectures":
            failed += stage(summary, out=out, fast=args.fast, only=args.only, lectures=Path(args.lectures),
                            claims_by_lecture=claims)
        elif name in ("homework", "exercises"):
            failed += stage(summary, out=out, fast=args.fast, only=args.only) or []
        elif name == "site":
            stage(summary, out=out)
        else:
            stage(summary)
        timings[name] = time.perf_counter() - start
        print(f"  [{name}] done in {timings[name]:.1f} s")
    width = max(map(len, summary))
    print("\nSummary")
    for key, value in summary.items():
        print(f"  {key:<{width}}  {value}")
    print(f"  {'total time':<{width}}  {sum(timings.values()):.1f} s")
    cache.atomic_write_json(out / "course-summary.json",
                            {"summary": summary, "seconds": {k: round(v, 3) for k, v in timings.items()},
                             "claims": claims, "failed_claims": failed, "mode": "fast" if args.fast else "full"})
    if failed:
        print("\nWhat does not hold (claims, exercises, homework):")
        for line in failed:
            print(f"  - {line}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
