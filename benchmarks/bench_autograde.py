"""Autograding a class: time and memory with JOBS=1 and JOBS=2, and what the sandbox costs per submission.

    .venv/bin/python benchmarks/bench_autograde.py                      # hw2, 30 submissions, jobs 1 and 2
    .venv/bin/python benchmarks/bench_autograde.py --homework hw1 --jobs 1,2,4 --no-overhead

A temporary course (nothing is written in the repository) gets N submissions of
one homework: two in three are the reference solution, the rest a wrong answer
(hw1: Recall@K that keeps training items; other homework: the released stub).
The class is graded as `make autograde JOBS=N` grades it
(`tools/homework.py autograde --jobs N`, one batch per homework, each
submission in its own sandbox and kernel, one torch thread each), for every
value of ``--jobs`` in turn and back (1, 2, 2, 1 with ``--repeats 2``), so that
a machine that gets busier or quieter weighs on every value alike; the table
gives the median time of each. Unless ``--no-overhead``, the sandbox's cost is
measured twice, each time with and without it in turn, so that a busy
machine weighs on both alike: six of the submissions graded four times
(with, without, without, with; the difference per submission), and a kernel
started, run through the homework's setup cell and shut down, five times
each (the medians' difference). Memory is sampled every 0.2 s over the process
tree: the largest sum for each job (one nbgrader process and its kernel),
for the whole tree, and the largest single process. Prints markdown tables
and merges the measurements into ``benchmarks/results/autograde.json`` (one
entry per homework; its top-level figures are the JOBS=1 run, its ``runs``
every run); asserts nothing on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
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
from gnnrec_lite.grading.sandbox import Sandbox, SandboxedKernelManager  # noqa: E402

SETUP = "import torch\nimport gnnrec_lite as gl\nfrom gnnrec_lite.grading import hwcheck\nhwcheck.setup()"


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


def make_class(dest: Path, hw: str, n: int) -> Path:
    """A temporary course with ``n`` submissions of ``hw`` handed in; its course root."""
    course = grading.make_course(dest, [hw])
    grading.run_nbgrader(course, "generate_assignment", hw, "--force")
    subs = submissions(hw, dest / "assignments" / hw / f"{hw}.ipynb", dest / "solutions" / hw / f"{hw}.ipynb", n)
    for student, text in subs.items():
        target = course / "submitted" / student / hw
        target.mkdir(parents=True)
        (target / f"{hw}.ipynb").write_text(text)
    return course


def watch(proc: subprocess.Popen, stats: dict, stop: threading.Event) -> None:
    """Sample RSS of the process tree until ``stop``; keep the peaks (all, per job, one process)."""
    root = psutil.Process(proc.pid)
    while not stop.is_set():
        try:
            jobs = [[child, *child.children(recursive=True)] for child in root.children()]
            tree = [root, *(p for job in jobs for p in job)]
            rss = {p.pid: p.memory_info().rss for p in tree if p.is_running()}
        except psutil.Error:
            rss, jobs = {}, []
        if rss:
            stats["peak_sum"] = max(stats["peak_sum"], sum(rss.values()))
            stats["peak_one"] = max(stats["peak_one"], max(rss.values()))
            stats["peak_job"] = max([stats["peak_job"], *(sum(rss.get(p.pid, 0) for p in job) for job in jobs)])
            stats["max_procs"] = max(stats["max_procs"], len(rss))
        stop.wait(0.2)


def grade(course: Path, hw: str, jobs: int, sandbox: bool) -> dict:
    """One `tools/homework.py autograde` run over the class; its time, memory and results."""
    cmd = [sys.executable, str(ROOT / "tools" / "homework.py"), "autograde", "--course", str(course),
           "--homework", hw, "--jobs", str(jobs), *([] if sandbox else ["--no-sandbox"])]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    stats = {"peak_sum": 0, "peak_one": 0, "peak_job": 0, "max_procs": 0}
    stop = threading.Event()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = threading.Thread(target=watch, args=(proc, stats, stop), daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"autograde failed (exit {proc.returncode}): {err[-2000:]}")
    results = grading.collect_results(course, hw)
    graded = sum(1 for r in results.values() if not r.problems or not r.problems[0].startswith("not graded"))
    mb = 2 ** 20
    return {"jobs": jobs, "sandbox": sandbox, "seconds": seconds, "s_per_submission": seconds / len(results),
            "graded": graded, "scores": sorted({r.score for r in results.values()}),
            "peak_tree_mb": stats["peak_sum"] / mb, "peak_job_mb": stats["peak_job"] / mb,
            "peak_one_mb": stats["peak_one"] / mb, "max_processes": stats["max_procs"]}


def kernel_seconds(sandboxed: bool) -> float:
    """Start a kernel (in a sandbox or not), run the homework's setup cell, shut it down: seconds."""
    from jupyter_core.utils import run_sync

    start = time.perf_counter()
    box = Sandbox(name="hw")
    km = SandboxedKernelManager(kernel_name="python3", transport="ipc", ip=str(box.sockets / "kernel"))
    km.connection_file, km.sandbox = str(box.sockets / "kernel.json"), box if sandboxed else None
    try:
        run_sync(km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=str(box.work))
        client = km.blocking_client()
        client.start_channels()
        client.wait_for_ready(timeout=120)
        client.execute_interactive(SETUP, timeout=120)
        client.stop_channels()
    finally:
        run_sync(km.shutdown_kernel)(now=True)
        box.cleanup()
    return time.perf_counter() - start


def kernel_overhead(repeats: int = 5) -> dict:
    """Kernels with and without the sandbox, in turn; medians and their difference."""
    times = {True: [], False: []}
    for _ in range(repeats):
        for sandboxed in (True, False):
            times[sandboxed].append(kernel_seconds(sandboxed))
    median = {k: statistics.median(v) for k, v in times.items()}
    return {"sandboxed_s": median[True], "plain_s": median[False], "cost_s": median[True] - median[False],
            "repeats": repeats}


def by_jobs(runs: list) -> dict:
    """Per value of JOBS: the median time over its runs, the largest peaks, the runs' times."""
    out = {}
    for jobs in sorted({r["jobs"] for r in runs}):
        mine = [r for r in runs if r["jobs"] == jobs]
        seconds = statistics.median(r["seconds"] for r in mine)
        out[str(jobs)] = {"seconds": seconds, "seconds_each": [r["seconds"] for r in mine],
                          "graded": min(r["graded"] for r in mine), "scores": mine[0]["scores"],
                          **{k: max(r[k] for r in mine) for k in ("peak_job_mb", "peak_tree_mb", "peak_one_mb",
                                                                   "max_processes")}}
    return out


def table(hw: str, summary: dict, n: int) -> None:
    base = summary["1"]["seconds"]
    print(f"## `make autograde JOBS=N`, {hw}, {n} submissions ({platform.node()}, {psutil.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f} at the end)\n")
    print("| jobs | graded | minutes (median) | each run | s / submission | speed-up | peak RSS per job | "
          "peak RSS, all | peak RSS, one process | scores seen |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for jobs, r in summary.items():
        print(f"| {jobs} | {r['graded']} | {r['seconds'] / 60:.2f} | "
              f"{', '.join(f'{s / 60:.2f}' for s in r['seconds_each'])} | {r['seconds'] / n:.1f} | "
              f"{base / r['seconds']:.2f}x | {r['peak_job_mb']:,.0f} MB | {r['peak_tree_mb']:,.0f} MB | "
              f"{r['peak_one_mb']:,.0f} MB | {', '.join(f'{s:g}' for s in r['scores'])} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homework", default="hw2", choices=sorted(grading.HOMEWORK))
    parser.add_argument("--submissions", type=int, default=30)
    parser.add_argument("--jobs", default="1,2", help="comma-separated values of JOBS to run (default: 1,2)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per value of JOBS, in turn and back (default: 2)")
    parser.add_argument("--no-overhead", action="store_true", help="skip measuring what the sandbox costs")
    add_json_argument(parser, __file__)
    args = parser.parse_args(argv)
    hw, jobs = args.homework, sorted({1, *(int(j) for j in args.jobs.split(","))})
    with Section(hw, submissions=args.submissions, wrong_every=3, kernel_threads=1, jobs=jobs,
                 repeats=args.repeats) as section, \
            tempfile.TemporaryDirectory(prefix="gnnrec-bench-") as tmp:
        course = make_class(Path(tmp) / "class", hw, args.submissions)
        order = [j for r in range(args.repeats) for j in (jobs if r % 2 == 0 else jobs[::-1])]
        runs = [grade(course, hw, j, True) for j in order]
        summary = by_jobs(runs)
        serial = summary["1"]
        section.data |= {k: serial[k] for k in ("graded", "seconds", "peak_tree_mb", "peak_one_mb", "max_processes",
                                                  "scores")}
        section.data |= {"s_per_submission": serial["seconds"] / args.submissions, "runs": runs, "jobs": summary,
                         "speedup": {j: serial["seconds"] / r["seconds"] for j, r in summary.items()}}
        if not args.no_overhead:
            small = make_class(Path(tmp) / "overhead", hw, 6)
            pairs = [grade(small, hw, 1, sandboxed) for sandboxed in (True, False, False, True)]
            section.data["overhead_runs"] = pairs
            section.data["sandbox_s_per_submission"] = (sum(r["seconds"] * (1 if r["sandbox"] else -1)
                                                            for r in pairs)) / (2 * 6)
            section.data["kernel"] = kernel_overhead()
    table(hw, summary, args.submissions)
    if not args.no_overhead:
        k = section.data["kernel"]
        print(f"\nthe sandbox's cost per submission: {section.data['sandbox_s_per_submission']:+.2f} s (6 of the "
              f"submissions graded with, without, without and with it); {k['cost_s']:+.2f} s per kernel (start, "
              f"setup cell, shut-down: {k['sandboxed_s']:.2f} s sandboxed, {k['plain_s']:.2f} s plain; medians of "
              f"{k['repeats']} in turn)")
    save(args.json, "bench_autograde.py", [section])
    return 0 if all(r["graded"] == args.submissions for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
