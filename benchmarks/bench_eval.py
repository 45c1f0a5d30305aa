"""Benchmark full-ranking evaluation (``gnnrec_lite.evaluate``) against a naive dense peer.

Two sections, each printed as a markdown table:

1. **ML-100K**: ``random_split(0.8, seed=0)``; random embeddings (dim 64, seed 0)
   and the most-popular scorer. ``gnnrec_lite.evaluate(..., k=(10, 20))`` is
   timed against a peer: the full score matrix, train entries set to ``-inf``,
   ``torch.topk``, then ``torch_geometric.metrics`` (LinkPredRecall / NDCG /
   Precision). Repeats are interleaved so both sides see the same noise; the
   median is quoted, and the largest metric difference between the two.
2. **Gowalla size**: 29,858 users x 40,981 items, ``synthetic(..., 810000,
   seed=0)`` then ``random_split(0.8)``; random embeddings dim 64. Every
   configuration runs in a fresh subprocess, so its peak RSS
   (``ru_maxrss``) is its own; the baseline RSS right after data and
   embeddings are built is reported too, and the difference is the memory
   the evaluation added.

Timings are wall-clock medians on whatever machine runs this; nothing is
asserted. The measurements also go to ``benchmarks/results/eval.json`` (one
entry per section; ``--only`` keeps the other). Run ``python
benchmarks/bench_eval.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from _results import Section, add_json_argument, save, spread
from torch_geometric.metrics import LinkPredMetricCollection, LinkPredNDCG, LinkPredPrecision, LinkPredRecall

import gnnrec_lite
from gnnrec_lite import ranking

KS = (10, 20)
DIM = 64
GOWALLA = (29_858, 40_981, 810_000)  # users, items, interactions handed to synthetic()
METRIC_NAMES = ("recall", "precision", "ndcg")
DENSE_PEER_MIN_FREE_GB = 8.0  # the dense Gowalla peer holds a 4.9 GB score matrix


# ----------------------------------------------------------------------------- helpers
def random_embeddings(num_users: int, num_items: int, dim: int = DIM, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(num_users, dim, generator=gen), torch.randn(num_items, dim, generator=gen)


def pyg_metrics(topk: torch.Tensor, test: gnnrec_lite.Interactions, ks=KS) -> dict:
    """Recall/Precision/NDCG of top lists (row ``u`` = user ``u``) computed by torch_geometric."""
    classes = {"recall": LinkPredRecall, "precision": LinkPredPrecision, "ndcg": LinkPredNDCG}
    coll = LinkPredMetricCollection({f"{name}@{k}": classes[name](k) for k in ks for name in METRIC_NAMES})
    coll.update(topk, torch.stack([test.user, test.item]))
    return {name: float(value) for name, value in coll.compute().items()}


def max_abs_diff(a: dict, b: dict) -> float:
    return max(abs(a[f"{n}@{k}"] - b[f"{n}@{k}"]) for n in METRIC_NAMES for k in KS)


def dense_peer(score_matrix, train, test, ks=KS) -> dict:
    """Naive dense evaluation: mask train entries in the full matrix, topk, torch_geometric metrics."""
    scores = score_matrix()
    scores[train.user, train.item] = -math.inf
    topk = torch.topk(scores, max(ks), dim=1).indices
    del scores
    return pyg_metrics(topk, test, ks)


def batched_peer(user_emb, item_emb, train, test, batch_size: int, ks=KS) -> dict:
    """The same naive approach, one block of users at a time (no checks, no tie handling)."""
    num_users = user_emb.shape[0]
    order = torch.argsort(train.user * train.num_items + train.item)
    t_user, t_item = train.user[order], train.item[order]
    indptr = torch.zeros(num_users + 1, dtype=torch.int64)
    indptr[1:] = torch.cumsum(torch.bincount(t_user, minlength=num_users), 0)
    topk = torch.empty(num_users, max(ks), dtype=torch.int64)
    for start in range(0, num_users, batch_size):
        end = min(start + batch_size, num_users)
        scores = user_emb[start:end] @ item_emb.T
        lo, hi = int(indptr[start]), int(indptr[end])
        scores[t_user[lo:hi] - start, t_item[lo:hi]] = -math.inf
        topk[start:end] = torch.topk(scores, max(ks), dim=1).indices
    return pyg_metrics(topk, test, ks)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def fmt_s(x: float) -> str:
    return f"{x:.2f}"


def print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def mem_available_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


# ----------------------------------------------------------------------------- section 1: ML-100K
def bench_ml100k(repeats: int, section: Section) -> None:
    data = gnnrec_lite.load("ml-100k")
    train, test = gnnrec_lite.random_split(data, 0.8, seed=0)
    user_emb, item_emb = random_embeddings(data.num_users, data.num_items)
    pop = gnnrec_lite.most_popular(train)
    n = train.num_items
    # Popularity has many ties; the library breaks them to the lower item id, so the peer gets the
    # same order from an exact key (popularity * n + reversed id, exact in float64).
    pop_key = pop.double() * n + torch.arange(n - 1, -1, -1, dtype=torch.float64)

    scorers = {
        "random emb (dim 64)": ((user_emb, item_emb), lambda: user_emb @ item_emb.T),
        "most popular": (pop, lambda: pop_key.expand(train.num_users, -1).clone()),
    }
    section.data |= {"users": data.num_users, "items": data.num_items, "train": len(train), "test": len(test),
                     "test_users": int(torch.unique(test.user).numel()), "rows": {}}
    print(f"## ML-100K: {data.num_users} users x {data.num_items} items, train {len(train)}, "
          f"test {len(test)} ({int(torch.unique(test.user).numel())} test users), k={KS}, "
          f"median of {repeats} interleaved repeats\n")
    rows, notes = [], []
    for label, (scorer, matrix) in scorers.items():
        lib_fn = lambda scorer=scorer: gnnrec_lite.evaluate(scorer, train, test, k=KS)  # noqa: E731
        peer_fn = lambda matrix=matrix: dense_peer(matrix, train, test)  # noqa: E731
        lib_out, peer_out = lib_fn(), peer_fn()  # warm-up, and the values
        lib_t, peer_t = [], []
        for _ in range(repeats):
            lib_t.append(timed(lib_fn)[0])
            peer_t.append(timed(peer_fn)[0])
        lib_med, peer_med = statistics.median(lib_t), statistics.median(peer_t)
        diff = max_abs_diff(lib_out, peer_out)
        key = "random" if label.startswith("random") else "popular"
        section.data["rows"][key] = {
            "gnnrec": {"seconds": spread(lib_t), "recall@20": lib_out["recall@20"], "ndcg@20": lib_out["ndcg@20"]},
            "peer": {"seconds": spread(peer_t), "recall@20": peer_out["recall@20"], "ndcg@20": peer_out["ndcg@20"]},
            "max_abs_diff": diff}
        for method, med, ts, out in (("gnnrec_lite.evaluate", lib_med, lib_t, lib_out),
                                     ("dense + topk + PyG metrics", peer_med, peer_t, peer_out)):
            rows.append([label, method, f"{med * 1e3:.1f}", f"{min(ts) * 1e3:.1f}-{max(ts) * 1e3:.1f}",
                         f"{med / peer_med:.2f}x", f"{out['recall@20']:.6f}", f"{out['ndcg@20']:.6f}",
                         "" if method.startswith("gnnrec") else f"{diff:.1e}"])
        if label == "most popular":  # what a peer without the tie rule would report
            raw = pop.expand(train.num_users, -1).clone()
            raw[train.user, train.item] = -math.inf
            raw_out = pyg_metrics(torch.topk(raw, max(KS), dim=1).indices, test)
            section.data["rows"][key]["topk_tie_order"] = {"recall@20": raw_out["recall@20"],
                                                           "max_abs_diff": max_abs_diff(lib_out, raw_out)}
            notes.append(f"most popular with torch.topk's own tie order (no lower-id rule): Recall@20 "
                         f"{raw_out['recall@20']:.6f}, max |diff| vs gnnrec_lite {max_abs_diff(lib_out, raw_out):.1e}")
    print_table(["scorer", "method", "median ms", "min-max ms", "time vs peer", "Recall@20", "NDCG@20",
                 "max abs diff (R/P/NDCG @10,@20)"], rows)
    for note in notes:
        print(f"- {note}")
    print()


# ----------------------------------------------------------------------------- section 2: Gowalla size
def build_gowalla(path: str) -> None:
    nu, ni, ne = GOWALLA
    data = gnnrec_lite.synthetic(nu, ni, ne, seed=0)
    train, test = gnnrec_lite.random_split(data, 0.8, seed=0)
    torch.save({"num_users": nu, "num_items": ni, "train": torch.stack([train.user, train.item]),
                "test": torch.stack([test.user, test.item])}, path)


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def maxrss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 1024  # bytes on macOS, KiB on Linux


def child(spec: dict) -> None:
    """Run one Gowalla configuration in this (fresh) process and print a JSON line."""
    saved = torch.load(spec["data"])
    nu, ni = saved["num_users"], saved["num_items"]
    train = gnnrec_lite.Interactions(nu, ni, saved["train"][0], saved["train"][1], name="train")
    test = gnnrec_lite.Interactions(nu, ni, saved["test"][0], saved["test"][1], name="test")
    del saved
    user_emb, item_emb = random_embeddings(nu, ni)
    reset = reset_peak_rss()
    baseline = maxrss_mb()
    method, batch_size = spec["method"], spec["batch_size"]
    if method == "gnnrec":
        fn = lambda: gnnrec_lite.evaluate((user_emb, item_emb), train, test, k=KS, batch_size=batch_size)  # noqa: E731
    elif method == "batched":
        fn = lambda: batched_peer(user_emb, item_emb, train, test, batch_size)  # noqa: E731
    elif method == "dense":
        fn = lambda: dense_peer(lambda: user_emb @ item_emb.T, train, test)  # noqa: E731
    else:
        raise ValueError(method)
    times, out = [], None
    for _ in range(spec["repeats"]):
        t, out = timed(fn)
        times.append(t)
    print(json.dumps({"times": times, "baseline_mb": baseline, "peak_mb": maxrss_mb(), "hwm_reset": reset,
                      "metrics": {k: v for k, v in out.items() if k != "users"}}))


def run_child(spec: dict) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    if spec.get("threads"):
        cmd += ["--threads", str(spec["threads"])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec['method']} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_gowalla(repeats: int, batch_sizes: list[int], dense: bool, threads: int | None, section: Section) -> None:
    nu, ni, ne = GOWALLA
    default_bs = max(1, ranking._ELEMENTS_PER_BATCH // ni)  # what evaluate() picks
    section.data["settings"]["default_batch_size"] = default_bs
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "gowalla_size.pt")
        build_gowalla(path)
        saved = torch.load(path)
        n_train, n_test = saved["train"].shape[1], saved["test"].shape[1]
        n_test_users = int(torch.unique(saved["test"][0]).numel())
        del saved
        section.data |= {"train": n_train, "test": n_test, "test_users": n_test_users}
        configs = [("gnnrec_lite.evaluate", "gnnrec", None, f"default ({default_bs})")]
        configs += [("gnnrec_lite.evaluate", "gnnrec", bs, str(bs)) for bs in batch_sizes]
        configs.append(("naive batched + PyG metrics", "batched", default_bs, str(default_bs)))
        keys = ["default", *(f"batch-{bs}" for bs in batch_sizes), "batched"]
        skipped = None
        if dense:
            free = mem_available_gb()
            if free is not None and free < DENSE_PEER_MIN_FREE_GB:
                skipped = f"dense peer skipped: only {free:.1f} GB available (needs ~{DENSE_PEER_MIN_FREE_GB:.0f})"
            else:
                configs.append(("dense + topk + PyG metrics", "dense", None, "all users"))
                keys.append("dense")
        else:
            skipped = "dense peer skipped (--quick or --no-dense-peer)"
        print(f"## Gowalla size: {nu} users x {ni} items, synthetic({nu}, {ni}, {ne}, seed=0) then "
              f"random_split(0.8): train {n_train}, test {n_test} ({n_test_users} test users); "
              f"random embeddings dim {DIM}; k={KS}; median of {repeats} repeats, "
              f"each repeat a fresh subprocess, repeats interleaved across rows\n")
        # One fresh process per (configuration, repeat), in rounds over the configurations, so a noisy
        # stretch of the machine is shared out between them instead of landing on one.
        runs: list[list[dict]] = [[] for _ in configs]
        for r in range(repeats):
            for i, (label, method, bs, bs_label) in enumerate(configs):
                sys.stdout.flush()
                runs[i].append(run_child({"data": path, "method": method, "batch_size": bs, "repeats": 1,
                                              "threads": threads}))
                print(f"  ... round {r + 1}/{repeats}: {label} [{bs_label}] {runs[i][-1]['times'][0]:.1f} s",
                      file=sys.stderr)
    results = []
    for (label, _, _, bs_label), rs in zip(configs, runs):
        results.append((label, bs_label, {
            "times": [t for x in rs for t in x["times"]],
            "baseline_mb": max(x["baseline_mb"] for x in rs),
            "peak_mb": max(x["peak_mb"] for x in rs),
            "increment_mb": max(x["peak_mb"] - x["baseline_mb"] for x in rs),
            "hwm_reset": all(x["hwm_reset"] for x in rs),
            "metrics": rs[0]["metrics"],
        }))
    ref = results[0][2]
    ref_med = statistics.median(ref["times"])
    rows = []
    section.data |= {"rows": {}, "skipped": skipped}
    for key, (label, bs_label, res), (_, _, bs, _) in zip(keys, results, configs):
        med = statistics.median(res["times"])
        section.data["rows"][key] = {
            "batch_size": bs or default_bs if key != "dense" else None, "seconds": spread(res["times"]),
            "time_vs_default": med / ref_med, "baseline_mb": res["baseline_mb"], "peak_mb": res["peak_mb"],
            "increment_mb": res["increment_mb"], "hwm_reset": res["hwm_reset"],
            "recall@20": res["metrics"]["recall@20"], "ndcg@20": res["metrics"]["ndcg@20"],
            "max_abs_diff": max_abs_diff(ref["metrics"], res["metrics"])}
        rows.append([label, bs_label, fmt_s(med), f"{fmt_s(min(res['times']))}-{fmt_s(max(res['times']))}",
                     f"{med / ref_med:.2f}x", f"{res['baseline_mb']:.0f}", f"{res['peak_mb']:.0f}",
                     f"{res['increment_mb']:.0f}", f"{res['metrics']['recall@20']:.6f}",
                     f"{res['metrics']['ndcg@20']:.6f}", f"{max_abs_diff(ref['metrics'], res['metrics']):.1e}"])
    print_table(["method", "batch (users)", "median s", "min-max s", "time vs default", "baseline RSS MB",
                 "peak RSS MB", "eval increment MB", "Recall@20", "NDCG@20", "max abs diff vs default"], rows)
    if not all(res["hwm_reset"] for _, _, res in results):
        print("- note: could not reset the RSS high-water mark, so baselines include the data-building peak")
    if skipped:
        print(f"- {skipped}")
    print()


# ----------------------------------------------------------------------------- main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 ML-100K repeats, 1 Gowalla repeat, no extra batch sizes, no dense peer")
    parser.add_argument("--repeats", type=int, default=None, help="ML-100K repeats (default 7; 3 with --quick)")
    parser.add_argument("--gowalla-repeats", type=int, default=None,
                        help="repeats per Gowalla configuration (default 3; 1 with --quick)")
    parser.add_argument("--batch-sizes", default=None,
                        help="comma-separated explicit batch sizes for Gowalla (default 64,1024; none with --quick)")
    parser.add_argument("--dense-peer", action=argparse.BooleanOptionalAction, default=None,
                        help="run the dense Gowalla peer (4.9 GB score matrix); on by default, off with --quick")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads, here and in the subprocesses (default: torch's choice)")
    parser.add_argument("--only", choices=("ml100k", "gowalla"), help="run one section")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    add_json_argument(parser, __file__)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        child(json.loads(args.child))
        return
    repeats = args.repeats or (3 if args.quick else 7)
    g_repeats = args.gowalla_repeats or (1 if args.quick else 3)
    if args.batch_sizes is not None:
        batch_sizes = [int(x) for x in args.batch_sizes.split(",") if x.strip()]
    else:
        batch_sizes = [] if args.quick else [64, 1024]
    dense = (not args.quick) if args.dense_peer is None else args.dense_peer

    print(f"# bench_eval: gnnrec_lite {gnnrec_lite.__version__}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.machine()}, load average {os.getloadavg()[0]:.1f} at start\n")
    sections = []
    if args.only in (None, "ml100k"):
        with Section("ml100k", repeats=repeats, k=list(KS), dim=DIM) as section:
            bench_ml100k(repeats, section)
        sections.append(section)
    if args.only in (None, "gowalla"):
        with Section("gowalla", repeats=g_repeats, batch_sizes=batch_sizes, dense_peer=dense, k=list(KS), dim=DIM,
                     synthetic=list(GOWALLA)) as section:
            bench_gowalla(g_repeats, batch_sizes, dense, args.threads, section)
        sections.append(section)
    save(args.json, "bench_eval.py", sections)


if __name__ == "__main__":
    main()
