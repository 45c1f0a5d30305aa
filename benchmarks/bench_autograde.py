"""Autograding a class: time and memory of one `nbgrader autograde` batch of N submissions.

    .venv/bin/python benchmarks/bench_autograde.py                      # hw1, 30 submissions
    .venv/bin/python benchmarks/bench_autograde.py --homework hw2 --submissions 10

A temporary course (nothing is written in the repository) gets N submissions of
one homework: two in three are the reference solution, the rest a wrong answer
(hw1: Recall@K that keeps training items; other homework: the released stub).
The whole batch runs in one `nbgrader autograde` process, as `make autograde`
does, with one torch thread per kernel. Peak memory is sampled every 0.2 s over
the nbgrader process and all its children (kernels included): the largest sum,
and the largest single process. Prints a markdown table and merges the measurements
into ``benchmarks/results/autograde.json`` (one entry per homework); asserts
nothing on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import Section, add_json_argument, save  # noqa: E402

from gnnrec_lite import grading  # noqa: E402


def submissions(homework: str, released: Path, source: Path, n: int) -> dict:
    """student -> notebook text: reference answers, and every third one wrong."""
    src = nbformat.read(source, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in src.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    good = nbformat.read(released, as_version=4)
    for cell in good.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    if homework == "hw1":  # Recall@K that forgets to skip training items: loses the hidden Part A points
        wrong = nbformat.reads(nbformat.writes(good).replace("if exclude is not None:", "if False:"), as_version=4)
    else:
        wrong = nbformat.read(released, as_version=4)
    return {f"s{i:03d}": nbformat.writes(wrong if i % 3 == 2 else good) for i in range(n)}


def watch(proc: subprocess.Popen, stats: dict, stop: threading.Event) -> None:
    """Sample RSS of the process tree until ``stop``; keep the peaks."""
    root = psutil.Process(proc.pid)
    while not stop.is_set():
        try:
            tree = [root, *root.children(recursive=True)]
            rss = [p.memory_info().rss for p in tree if p.is_running()]
        except psutil.Error:
            rss = []
        if rss:
            stats["peak_sum"] = max(stats["peak_sum"], sum(rss))
            stats["peak_one"] = max(stats["peak_one"], max(rss))
            stats["max_procs"] = max(stats["max_procs"], len(rss))
        stop.wait(0.2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homework", default="hw1", choices=sorted(grading.HOMEWORK))
    parser.add_argument("--submissions", type=int, default=30)
    add_json_argument(parser, __file__)
    args = parser.parse_args(argv)
    hw = args.homework
    with Section(hw, submissions=args.submissions, wrong_every=3, kernel_threads=1) as section, \
            tempfile.TemporaryDirectory(prefix="gnnrec-bench-") as tmp:
        course = grading.make_course(tmp, [hw])
        grading.run_nbgrader(course, "generate_assignment", hw, "--force")
        subs = submissions(hw, Path(tmp) / "assignments" / hw / f"{hw}.ipynb",
                           Path(tmp) / "solutions" / hw / f"{hw}.ipynb", args.submissions)
        for student, text in subs.items():
            target = course / "submitted" / student / hw
            target.mkdir(parents=True)
            (target / f"{hw}.ipynb").write_text(text)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
        stats = {"peak_sum": 0, "peak_one": 0, "max_procs": 0}
        stop = threading.Event()
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", hw, "--force"], cwd=course, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sampler = threading.Thread(target=watch, args=(proc, stats, stop), daemon=True)
        sampler.start()
        proc.wait()
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
        results = grading.collect_results(course, hw)
        graded = sum(1 for r in results.values() if not r.problems or not r.problems[0].startswith("not graded"))
        scores = sorted({r.score for r in results.values()})
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KB on Linux
        section.data |= {"graded": graded, "seconds": seconds, "s_per_submission": seconds / len(subs),
                         "peak_tree_mb": stats["peak_sum"] / 2**20, "peak_one_mb": stats["peak_one"] / 2**20,
                         "max_processes": stats["max_procs"], "scores": scores, "largest_child_maxrss_mb": children}
    print(f"## nbgrader autograde, {hw} ({platform.node()}, {psutil.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f} at the end)\n")
    print("| homework | submissions | graded | minutes | s / submission | peak RSS, process tree | "
          "peak RSS, one process | scores seen |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {hw} | {len(subs)} | {graded} | {seconds / 60:.2f} | {seconds / len(subs):.1f} | "
          f"{stats['peak_sum'] / 2**20:,.0f} MB ({stats['max_procs']} processes) | "
          f"{stats['peak_one'] / 2**20:,.0f} MB | {', '.join(f'{s:g}' for s in scores)} |")
    print(f"\nru_maxrss of the largest finished child process (nbgrader or a kernel): {children:,.0f} MB")
    save(args.json, "bench_autograde.py", [section])
    return 0 if graded == len(subs) else 1


if __name__ == "__main__":
    sys.exit(main())
