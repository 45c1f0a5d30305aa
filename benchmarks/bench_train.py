"""Training benchmarks: speed against PyG, where an epoch goes, quality of MF / NGCF / LightGCN, and more.

    python benchmarks/bench_train.py --section speed     # s/epoch vs torch_geometric LightGCN, two runs
    python benchmarks/bench_train.py --section profile   # shares of an epoch: sparse products, sampling, Adam
    python benchmarks/bench_train.py --section quality   # MF vs NGCF vs LightGCN, same budget and early stopping
    python benchmarks/bench_train.py --section default   # `gnnrec train` defaults on ML-100K, 3 split seeds
    python benchmarks/bench_train.py --section tuning    # how the defaults were chosen, on a validation split
    python benchmarks/bench_train.py --section msr       # the Microsoft Recommenders protocol
    python benchmarks/bench_train.py --section gowalla   # 29,858 x 40,981, 810k edges: time and peak RSS
    python benchmarks/bench_train.py                     # all of them

Prints markdown tables and writes the measurements to
``benchmarks/results/train.json`` (one entry per section; a run of some
sections keeps the others). Asserts nothing. Times are medians over epochs,
and every comparison is made within one run, on the same data and
hyperparameters, because shared machines are noisy.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import Section, add_json_argument, save, spread  # noqa: E402

import gnnrec_lite as gl  # noqa: E402
from gnnrec_lite import propagate  # noqa: E402
from gnnrec_lite._runtime import deterministic  # noqa: E402
from gnnrec_lite.models import LightGCN, build_model  # noqa: E402
from gnnrec_lite.negatives import build_negatives  # noqa: E402
from gnnrec_lite.sampling import BPRSampler  # noqa: E402
from gnnrec_lite.train import TrainConfig, train_bpr  # noqa: E402

warnings.filterwarnings("ignore", message=r".*[Ss]parse CSR tensor support is in beta.*")
MODELS = ("mf", "ngcf", "lightgcn")
SPEED_TARGETS = {"pyg-csr": 0.35, "pyg-edge_index": 0.06}  # most gnnrec_lite / PyG time the library aims for
MSR_PUBLISHED = {"source": "Microsoft Recommenders lightgcn_deep_dive notebook, 50 epochs",
                 "recall@10": 0.2132, "precision@10": 0.3993, "ndcg@10": 0.4530}
TUNING = {  # key -> TrainConfig overrides, tried on a validation split carved from the training data
    "reg1e-3-neg1": dict(reg=1e-3, num_negatives=1), "reg1e-3-neg4": dict(reg=1e-3, num_negatives=4),
    "reg1e-3-neg4-lr1e-2": dict(reg=1e-3, num_negatives=4, lr=1e-2), "reg1e-3-neg8": dict(reg=1e-3, num_negatives=8),
    "reg2e-3-neg4": dict(reg=2e-3, num_negatives=4), "reg5e-4-neg4": dict(reg=5e-4, num_negatives=4),
}
PLATEAU = 0.01  # the tuning table's plateau: first evaluation within 1% of the best


def table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n" + "\n".join(lines) + "\n"


def child_env() -> dict:
    """The environment for subprocesses: the same torch thread count as this process."""
    return dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))


def ml100k(fraction=0.8):
    return gl.random_split(gl.load("ml-100k"), fraction, seed=0)


# ------------------------------------------------------------------- speed
def _pyg_epoch_times(train, epochs, use_csr, batch_size=2048, dim=64, layers=3, lr=5e-3, reg=1e-4):
    from torch_geometric.nn.models import LightGCN as PygLightGCN
    from torch_geometric.utils import to_torch_csr_tensor

    n = train.num_users + train.num_items
    edge_index = gl.to_homogeneous_edge_index(train)
    graph = to_torch_csr_tensor(edge_index, size=(n, n)) if use_csr else edge_index
    torch.manual_seed(0)
    model = PygLightGCN(n, dim, layers)
    torch.nn.init.normal_(model.embedding.weight, std=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sampler = BPRSampler(train, seed=0)
    steps = math.ceil(len(train) / batch_size)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(steps):
            users, pos, neg = sampler.sample(batch_size)
            z = model.get_embedding(graph)
            u, p, q = z[users], z[train.num_users + pos], z[train.num_users + neg[:, 0]]
            loss = gl.bpr_loss((u * p).sum(-1), (u * q).sum(-1))
            e = model.embedding.weight
            e_u, e_p, e_n = e[users], e[train.num_users + pos], e[train.num_users + neg[:, 0]]
            l2 = e_u.pow(2).sum() + e_p.pow(2).sum() + e_n.pow(2).sum()
            loss = loss + reg * l2 / (2 * batch_size)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def section_speed(args) -> Section:
    train, _ = ml100k()
    epochs = args.epochs_speed
    with Section("speed", num_epochs=epochs, edge_index_epochs=max(2, epochs // 3), runs=args.speed_runs,
                 batch_size=2048, num_negatives=1, reg=1e-4, targets=SPEED_TARGETS) as section:
        runs = []
        for _ in range(args.speed_runs):
            hist, hist4 = (train_bpr(build_model("lightgcn", train, seed=0), train, num_epochs=epochs, eval_every=0,
                                     progress=False, num_negatives=m, reg=1e-4) for m in (1, 4))
            times = {"gnnrec_lite": [r["seconds"] for r in hist.rows],
                     "gnnrec_lite-4neg": [r["seconds"] for r in hist4.rows],
                     "pyg-csr": _pyg_epoch_times(train, epochs, use_csr=True),
                     "pyg-edge_index": _pyg_epoch_times(train, max(2, epochs // 3), use_csr=False)}
            s = {name: spread(t) for name, t in times.items()}
            runs.append({"s_per_epoch": s, "ratio": {name: s["gnnrec_lite"]["median"] / v["median"]
                                                     for name, v in s.items()}})
        section.data["runs"] = runs
        section.data["ratio_range"] = {name: [min(r["ratio"][name] for r in runs), max(r["ratio"][name] for r in runs)]
                                       for name in runs[0]["ratio"]}
        section.data["four_negatives_cost"] = [1 / x for x in reversed(section.data["ratio_range"]["gnnrec_lite-4neg"])]
    print("\n### LightGCN seconds per training epoch (ML-100K 80/20, 64 dims, 3 layers, batch 2048, 1 negative)\n")
    headers = [h for i in range(len(runs)) for h in (f"run {i + 1} s/epoch", "ours / this")]
    cells = {name: [x for r in runs for x in (f"{r['s_per_epoch'][name]['median']:.3f}", f"{r['ratio'][name]:.3f}")]
             for name in runs[0]["ratio"]}
    print(table(["implementation", *headers], [[name, *row] for name, row in cells.items()]))
    return section


# ----------------------------------------------------------------- profile
def section_profile(args) -> Section:
    """Wall time of an epoch split into the sparse products, sampling and the Adam step (timers around each)."""
    train, _ = ml100k()
    config = TrainConfig(num_negatives=1, reg=1e-4, progress=False)
    steps = math.ceil(len(train) / config.batch_size)
    clock = collections.Counter()

    def timed(key, fn):
        def wrapper(*a, **kw):
            start = time.perf_counter()
            out = fn(*a, **kw)
            clock[key] += time.perf_counter() - start
            return out
        return wrapper

    spmm = propagate._SymmetricSpMM
    saved = spmm.__dict__["forward"], spmm.__dict__["backward"]
    with Section("profile", num_epochs=args.epochs_profile, steps=steps, batch_size=config.batch_size,
                 num_negatives=1, reg=1e-4) as section, deterministic():
        model = build_model("lightgcn", train, seed=0)
        strategy = build_negatives(train, config)
        strategy.sampler.sample = timed("sampling", strategy.sampler.sample)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        spmm.forward = staticmethod(timed("sparse", saved[0].__func__))
        spmm.backward = staticmethod(timed("sparse", saved[1].__func__))
        try:
            start = time.perf_counter()
            for epoch in range(1, args.epochs_profile + 1):
                for _ in range(steps):
                    step = strategy.step(model, config.batch_size, epoch, config.reg)
                    optimizer.zero_grad(set_to_none=True)
                    step.loss.backward()
                    timed("adam", optimizer.step)()
            total = time.perf_counter() - start
        finally:
            spmm.forward, spmm.backward = saved
        section.data |= {"seconds": dict(clock) | {"epochs": total},
                         "share": {key: v / total for key, v in clock.items()}}
    print(f"\n### Where an epoch goes ({steps} steps, {args.epochs_profile} epochs, {total:.1f} s)\n")
    print(table(["part", "share of the time"], [(k, f"{v:.1%}") for k, v in section.data["share"].items()]))
    return section


# ----------------------------------------------------------------- quality
def _row(hist, final) -> dict:
    return {"recall@20": final["recall@20"], "ndcg@20": final["ndcg@20"], "train_seconds": hist.train_seconds,
            "s_per_epoch": spread(r["seconds"] for r in hist.rows), "epochs": len(hist.rows)}


def section_quality(args) -> Section:
    train, test = ml100k()
    fit, val = gl.random_split(train, 0.9, seed=1)
    with Section("quality", num_epochs=args.epochs_quality, eval_every=10, val_fraction=0.1, es_eval_every=5,
                 patience=4) as section:
        same, stopped = {}, {}
        for name in MODELS:
            hist = train_bpr(build_model(name, train, seed=0), train, test=test, num_epochs=args.epochs_quality,
                             progress=False)
            best = max(hist.evaluations(), key=lambda r: r["test/recall@20"])
            same[name] = _row(hist, hist.final("test")) | {"best_recall@20": best["test/recall@20"],
                                                           "best_epoch": best["epoch"]}
        # the fair protocol: each model stops on its own validation split (10% of train), never on test
        for name in MODELS:
            hist = train_bpr(build_model(name, fit, seed=0), fit, val=val, test=test,
                             num_epochs=args.epochs_quality, eval_every=5, patience=4, progress=False)
            f = {k[len("best/test/"):]: v for k, v in hist.rows[-1].items() if k.startswith("best/test/")}
            stopped[name] = _row(hist, f or hist.final("test")) | {"best_epoch": hist.best_epoch,
                                                                   "stopped_early": hist.stopped_early}
        section.data |= {"same_budget": same, "early_stopping": stopped}
    print(f"\n### Same budget: {args.epochs_quality} epochs of the defaults, ML-100K 80/20 seed 0\n")
    print(table(["model", "Recall@20", "NDCG@20", "peak Recall@20 seen", "s/epoch"],
                [(n, f"{r['recall@20']:.4f}", f"{r['ndcg@20']:.4f}", f"{r['best_recall@20']:.4f} (epoch "
                  f"{r['best_epoch']})", f"{r['s_per_epoch']['median']:.3f}") for n, r in same.items()]))
    print("\n### Early stopping on a validation split (10% of train, patience 4 evaluations, every 5 epochs)\n")
    print(table(["model", "test Recall@20", "test NDCG@20", "best epoch (val)", "s/epoch", "train s"],
                [(n, f"{r['recall@20']:.4f}", f"{r['ndcg@20']:.4f}", r["best_epoch"],
                  f"{r['s_per_epoch']['median']:.3f}", f"{r['train_seconds']:.1f}") for n, r in stopped.items()]))
    return section


# ----------------------------------------------------------------- default
DEFAULT_RUNS = {"seed-0": [], "seed-1": ["--seed", "1"], "seed-2": ["--seed", "2"], "draw-edges": ["--draw", "edges"]}


def section_default(args) -> Section:
    model_defaults = {k: p.default for k, p in inspect.signature(LightGCN).parameters.items()
                      if p.default is not inspect.Parameter.empty}
    with Section("default", runs={k: " ".join(v) for k, v in DEFAULT_RUNS.items()}) as section, \
            tempfile.TemporaryDirectory() as tmp:
        rows = {}
        for key, flags in DEFAULT_RUNS.items():
            out = Path(tmp) / f"{key}.json"
            cmd = [sys.executable, "-m", "gnnrec_lite.cli", "train", "--dataset", "ml-100k", "--quiet",
                   "--json", str(out), *flags]
            subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, env=child_env())
            res = json.loads(out.read_text())
            rows[key] = {"final": res["final"], "train_seconds": res["train_seconds"],
                         "s_per_epoch": spread(r["seconds"] for r in res["history"]), "epochs": len(res["history"]),
                         "config": {k: v for k, v in res["config"].items() if k in TrainConfig.__dataclass_fields__}}
        section.data |= {"rows": rows, "model": model_defaults}
    print("\n### `gnnrec train --model lightgcn --dataset ml-100k` with the default flags\n")
    print(table(["flags", "Recall@20", "NDCG@20", "Recall@10", "NDCG@10", "train s", "s/epoch", "epochs"],
                [(key, *(f"{r['final'][m]:.4f}" for m in ("recall@20", "ndcg@20", "recall@10", "ndcg@10")),
                  f"{r['train_seconds']:.1f}", f"{r['s_per_epoch']['median']:.3f}", r["epochs"])
                 for key, r in rows.items()]))
    return section


# ------------------------------------------------------------------ tuning
def section_tuning(args) -> Section:
    train, _ = ml100k()
    fit, val = gl.random_split(train, 0.9, seed=1)
    with Section("tuning", num_epochs=args.epochs_tuning, eval_every=10, val_split="random_split(train, 0.9, seed=1)",
                 plateau=PLATEAU, configs=TUNING) as section:
        rows = {}
        for key, overrides in TUNING.items():
            hist = train_bpr(build_model("lightgcn", fit, seed=0), fit, val=val, num_epochs=args.epochs_tuning,
                             eval_every=10, progress=False, **overrides)
            curve = {r["epoch"]: r["val/recall@20"] for r in hist.evaluations()}
            plateau = min(e for e, v in curve.items() if v >= (1 - PLATEAU) * hist.best_score)
            rows[key] = {"best_recall@20": hist.best_score, "best_epoch": hist.best_epoch, "plateau_epoch": plateau,
                         "s_per_epoch": spread(r["seconds"] for r in hist.rows), "val_recall@20": curve}
            print(f"done {key}: best {hist.best_score:.4f} at epoch {hist.best_epoch}", file=sys.stderr, flush=True)
        section.data["rows"] = rows
    print(f"\n### Choosing the defaults on a validation split, {args.epochs_tuning} epochs\n")
    print(table(["config", "best val Recall@20", "at epoch", f"within {PLATEAU:.0%} from", "s/epoch"],
                [(k, f"{r['best_recall@20']:.4f}", r["best_epoch"], r["plateau_epoch"],
                  f"{r['s_per_epoch']['median']:.3f}") for k, r in rows.items()]))
    return section


# ------------------------------------------------------------------ msr
def section_msr(args) -> Section:
    train, test = ml100k(0.75)
    with Section("msr", num_epochs=args.epochs_msr, max_seconds=120, split=0.75, published=MSR_PUBLISHED) as section:
        hist = train_bpr(build_model("lightgcn", train, seed=0), train, test=test, num_epochs=args.epochs_msr,
                         progress=False, k=(10,), monitor="recall@10", eval_every=0, max_seconds=120)
        f = hist.final("test")
        section.data["gnnrec_lite"] = {name: f[name] for name in ("recall@10", "precision@10", "ndcg@10")} | {
            "epochs": len(hist.rows), "train_seconds": hist.train_seconds}
    r = section.data["gnnrec_lite"]
    print("\n### Microsoft Recommenders protocol (75/25, seen items removed), LightGCN\n")
    print(table(["source", "Recall@10", "Precision@10", "NDCG@10", "train s"], [
        ("published, 50 epochs", MSR_PUBLISHED["recall@10"], MSR_PUBLISHED["precision@10"],
         MSR_PUBLISHED["ndcg@10"], "-"),
        (f"gnnrec_lite, {r['epochs']} epochs", f"{r['recall@10']:.4f}", f"{r['precision@10']:.4f}",
         f"{r['ndcg@10']:.4f}", f"{r['train_seconds']:.1f}")]))
    return section


# ----------------------------------------------------------------- gowalla
GOWALLA = (29858, 40981, 1_012_500)  # users, items, interactions: 80% of them is ~810k training edges, as in Gowalla


def _gowalla_child() -> None:
    data = gl.synthetic(*GOWALLA, seed=0)
    train, test = gl.random_split(data, 0.8, seed=0)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = build_model("lightgcn", train, seed=0)
    hist = train_bpr(model, train, num_epochs=1, eval_every=0, progress=False)
    t = time.perf_counter()
    result = gl.evaluate(model(), train, test, k=20)
    eval_s = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"train_edges": len(train), "test_edges": len(test), "epoch_s": hist.train_seconds,
                      "eval_s": eval_s, "recall@20": result["recall@20"], "rss_data_mb": base / 1024,
                      "peak_rss_mb": peak / 1024}))


def section_gowalla(args) -> Section:
    with Section("gowalla", synthetic=list(GOWALLA), split=0.8) as section:
        proc = subprocess.run([sys.executable, __file__, "--gowalla-child"], capture_output=True, text=True,
                              check=True, env=child_env())
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        section.data |= r
    print("\n### Gowalla size (synthetic): 29,858 users x 40,981 items, LightGCN 64 dims, 3 layers\n")
    print(table(["train edges", "one epoch s", "evaluate all users s", "RSS after data MB", "peak RSS MB"],
                [(f"{r['train_edges']:,}", f"{r['epoch_s']:.1f}", f"{r['eval_s']:.1f}",
                  f"{r['rss_data_mb']:.0f}", f"{r['peak_rss_mb']:.0f}")]))
    return section


SECTIONS = {"speed": section_speed, "profile": section_profile, "quality": section_quality,
            "default": section_default, "tuning": section_tuning, "msr": section_msr, "gowalla": section_gowalla}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--section", choices=list(SECTIONS), action="append", help="run only this section (repeatable)")
    p.add_argument("--epochs-speed", type=int, default=6)
    p.add_argument("--speed-runs", type=int, default=2, help="independent repeats of the whole speed comparison")
    p.add_argument("--epochs-profile", type=int, default=3)
    p.add_argument("--epochs-quality", type=int, default=100)
    p.add_argument("--epochs-tuning", type=int, default=150)
    p.add_argument("--epochs-msr", type=int, default=100)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--gowalla-child", action="store_true", help=argparse.SUPPRESS)
    add_json_argument(p, __file__)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.gowalla_child:
        _gowalla_child()
        return
    done = []
    try:
        for name in args.section or list(SECTIONS):
            done.append(SECTIONS[name](args))
    finally:  # what finished is kept even if a later section fails
        if done:
            save(args.json, "bench_train.py", done)


if __name__ == "__main__":
    main()
