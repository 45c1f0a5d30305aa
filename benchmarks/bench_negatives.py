"""PinSAGE-style negatives (lecture 06) on MovieLens-100K with LightGCN: cost and quality.

    python benchmarks/bench_negatives.py                  # 30 epochs per sampler, one thread
    python benchmarks/bench_negatives.py --epochs 60 --num-shared 128
    python benchmarks/bench_negatives.py --hist-only      # only the distance histogram (trains 30 epochs)

Per-user random 80/20 split, seed 0; same model, recipe and epochs for every
sampler, evaluated once at the end (full ranking, training items excluded).
``distance-empirical`` is what ``TrainConfig(negatives="distance")`` trains
with; ``distance-sphere`` is the same strategy with the paper's density q(d).
Prints the tables, the time to build hard-negative pools for all users (3
repeats) and a histogram of sampled distances; writes the measurements to
``benchmarks/results/negatives.json`` (sections ``runs``, ``pools``,
``histogram``). Asserts nothing; the machine is shared, so times are only
comparable within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import Section, add_json_argument, save, spread  # noqa: E402

import gnnrec_lite as gl  # noqa: E402
from gnnrec_lite.models import build_model  # noqa: E402
from gnnrec_lite.negatives import DEFAULT_HARD_WINDOW, distance_weighted_negatives, hard_negative_pool  # noqa: E402
from gnnrec_lite.negatives import distance as distance_module  # noqa: E402
from gnnrec_lite.train import train_bpr  # noqa: E402

warnings.filterwarnings("ignore", message=r".*[Ss]parse CSR tensor support is in beta.*")
MODES = ("uniform", "shared", "hard", "curriculum", "distance-sphere", "distance-empirical")
EDGES = [0.0, 0.25, 0.5, 0.75, 1.0, 1.2, 1.4, 1.6, 2.0]  # histogram bins of query-negative distances
DRAWS = 32  # distance-weighted draws per user in the histogram


@contextlib.contextmanager
def paper_density():
    """``DistanceNegatives`` with the paper's sphere q(d) instead of the empirical density it uses."""
    original = distance_module.distance_weighted_negatives
    distance_module.distance_weighted_negatives = lambda *a, **kw: original(*a, **(kw | {"density": "sphere"}))
    try:
        yield
    finally:
        distance_module.distance_weighted_negatives = original


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--neg", type=int, default=4, help="per-user negatives (uniform, distance)")
    p.add_argument("--num-shared", type=int, default=256)
    p.add_argument("--extra-shared", type=int, nargs="*", default=[64, 1024],
                   help="more shared-mode rows with these M (the hard modes use --num-shared)")
    p.add_argument("--num-hard", type=int, default=2)
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier on a shared machine)")
    p.add_argument("--hist-only", action="store_true", help="only the distance histogram (trains 30 epochs)")
    add_json_argument(p, __file__)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    train, test = gl.random_split(gl.load("ml-100k"), 0.8, seed=0)
    sections = []
    if not args.hist_only:
        sections += [pools(train), runs(train, test, args)]
    sections.append(distance_histogram(train, args.epochs))
    save(args.json, "bench_negatives.py", sections)


def pools(train) -> Section:
    users = torch.nonzero(train.user_degree() > 0).flatten()
    with Section("pools", users=users.numel(), window=list(DEFAULT_HARD_WINDOW), num_walks=200,
                 num_hops=20) as section:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            pool = hard_negative_pool(train, users)
            times.append(time.perf_counter() - start)
        section.data |= {"seconds": spread(times), "mean_pool_size": float(pool.sizes().float().mean())}
    print(f"Hard-negative pools for all {users.numel()} users (the library's default walks and window): "
          f"{statistics.median(times):.3f} s median of 3; mean pool size {pool.sizes().float().mean():.0f} items\n")
    return section


def runs(train, test, args) -> Section:
    plan = [(mode, args.num_shared) for mode in args.modes]
    if "shared" in args.modes:
        at = args.modes.index("shared") + 1
        plan[at:at] = [("shared", m) for m in args.extra_shared]
    with Section("runs", num_epochs=args.epochs, num_negatives=args.neg, num_shared=args.num_shared,
                 num_hard=args.num_hard, batch_size=2048, lr=5e-3, reg=1e-3, embedding_dim=64, num_layers=3,
                 threads=args.threads) as section:
        rows = {}
        for mode, num_shared in plan:
            key = f"shared-{num_shared}" if mode == "shared" else mode
            model = build_model("lightgcn", train, seed=0, embedding_dim=64, num_layers=3)
            strategy = mode.removesuffix("-sphere").removesuffix("-empirical")
            with paper_density() if mode == "distance-sphere" else contextlib.nullcontext():
                h = train_bpr(model, train, test=test, num_epochs=args.epochs, eval_every=0, k=(5, 20),
                              progress=False, negatives=strategy, num_negatives=args.neg, num_shared=num_shared,
                              num_hard=args.num_hard)
            final = h.final("test")
            rows[key] = {"negatives": strategy, "num_shared": num_shared, "train_seconds": h.train_seconds,
                         "s_per_epoch": spread(r["seconds"] for r in h.rows),
                         "negative_embeddings_per_epoch": statistics.median(r["negative_embeddings"] for r in h.rows),
                         **{name: final[name] for name in ("recall@20", "recall@5", "ndcg@20")}}
            print(f"done {key}: {rows[key]['s_per_epoch']['median']:.3f} s/epoch, Recall@20 {final['recall@20']:.4f}",
                  file=sys.stderr, flush=True)
        section.data["rows"] = rows
    print(f"ML-100K 80/20 seed 0, LightGCN 64-d 3 layers, {args.epochs} epochs, batch 2048, lr 5e-3, L2 1e-3\n")
    print("| sampler | s/epoch (median) | negative embeddings / epoch | Recall@20 | Recall@5 | NDCG@20 |")
    print("|---|---|---|---|---|---|")
    for key, r in rows.items():
        print(f"| {key} | {r['s_per_epoch']['median']:.3f} | {r['negative_embeddings_per_epoch']:,.0f} "
              f"| {r['recall@20']:.4f} | {r['recall@5']:.4f} | {r['ndcg@20']:.4f} |")
    return section


def distance_histogram(train, epochs: int) -> Section:
    """Query-negative distances on normalized embeddings: uniform draws vs distance-weighted draws."""
    bins = [f"{a}-{b}" for a, b in zip(EDGES, EDGES[1:])]
    with Section("histogram", num_epochs=epochs, draws_per_user=DRAWS, edges=EDGES, cutoff=0.5,
                 nonzero_loss_cutoff=1.4) as section:
        gen = torch.Generator().manual_seed(0)
        model = build_model("lightgcn", train, seed=0)
        train_bpr(model, train, num_epochs=epochs, eval_every=0, progress=False)
        with torch.no_grad():
            user_z, item_z = model()
        points = torch.randn(train.num_users, 64, generator=gen), torch.randn(train.num_items, 64, generator=gen)
        cases = {"random": points, "lightgcn": (user_z, item_z)}
        rows = {}
        for name, (u, v) in cases.items():
            un, vn = torch.nn.functional.normalize(u, dim=1), torch.nn.functional.normalize(v, dim=1)
            uniform = torch.randint(vn.shape[0], (un.shape[0], DRAWS), generator=gen)
            d_uni = (un[:, None, :] - vn[uniform]).norm(dim=-1)
            _, d_sph = distance_weighted_negatives(u, v, DRAWS, generator=gen, return_distances=True)
            _, d_emp = distance_weighted_negatives(u, v, DRAWS, generator=gen, return_distances=True,
                                                   density="empirical")
            rows[name] = {}
            for label, d in (("uniform", d_uni), ("sphere", d_sph), ("empirical", d_emp)):
                d = d.flatten().double()
                counts = torch.histogram(d.clamp(max=1.999), bins=torch.tensor(EDGES).double())[0]
                share = (counts / counts.sum()).tolist()
                rows[name][label] = {
                    "share": dict(zip(bins, share)),
                    "per_unit": {b: s / (hi - lo) for b, s, lo, hi in zip(bins, share, EDGES, EDGES[1:])},
                    "below_cutoff": float((d < 0.5).double().mean()),
                    "in_range": float(((d >= 0.5) & (d < 1.4)).double().mean())}
        section.data |= {"users": train.num_users, "rows": rows}
    print(f"\nQuery-negative distances (share of {train.num_users} x {DRAWS} draws per bin, L2-normalized)\n")
    print("| embeddings | sampling | " + " | ".join(bins) + " |")
    print("|---|---|" + "---|" * len(bins))
    for name, by_label in rows.items():
        for label, r in by_label.items():
            print(f"| {name} | {label} | " + " | ".join(f"{x:.2f}" for x in r["share"].values()) + " |")
    return section


if __name__ == "__main__":
    main()
