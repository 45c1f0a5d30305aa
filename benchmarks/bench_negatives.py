"""PinSAGE-style negatives (lecture 06) on MovieLens-100K with LightGCN: cost and quality.

    python benchmarks/bench_negatives.py                  # 30 epochs per sampler
    python benchmarks/bench_negatives.py --epochs 60 --num-shared 128

Per-user random 80/20 split, seed 0; same model, recipe and epochs for every
sampler, evaluated once at the end (full ranking, training items excluded).
Prints one markdown table and the time to build hard-negative pools for all
users (median of 3). Asserts nothing; the machine is shared, so times are
only comparable within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gnnrec_lite as gl  # noqa: E402
from gnnrec_lite.models import build_model  # noqa: E402
from gnnrec_lite.sampling import distance_weighted_negatives, hard_negative_pool  # noqa: E402
from gnnrec_lite.train import train_bpr  # noqa: E402

warnings.filterwarnings("ignore", message=r".*[Ss]parse CSR tensor support is in beta.*")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--neg", type=int, default=4, help="per-user negatives (uniform, distance)")
    p.add_argument("--num-shared", type=int, default=256)
    p.add_argument("--extra-shared", type=int, nargs="*", default=[64, 1024],
                   help="more shared-mode rows with these M (the hard modes use --num-shared)")
    p.add_argument("--num-hard", type=int, default=2)
    p.add_argument("--modes", nargs="+", default=["uniform", "shared", "hard", "curriculum", "distance"])
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--hist-only", action="store_true", help="only the distance histogram (trains 30 epochs)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    data = gl.load("ml-100k")
    train, test = gl.random_split(data, 0.8, seed=0)
    users = torch.nonzero(train.user_degree() > 0).flatten()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        pool = hard_negative_pool(train, users)
        times.append(time.perf_counter() - start)

    if args.hist_only:
        args.modes, args.extra_shared = [], []
    rows = []
    runs = [(mode, args.num_shared) for mode in args.modes]
    if "shared" in args.modes:
        at = args.modes.index("shared") + 1
        runs[at:at] = [("shared", m) for m in args.extra_shared]
    for mode, num_shared in runs:
        model = build_model("lightgcn", train, seed=0, embedding_dim=64, num_layers=3)
        h = train_bpr(model, train, test=test, num_epochs=args.epochs, eval_every=0, k=(5, 20), progress=False,
                      negatives=mode, num_negatives=args.neg, num_shared=num_shared, num_hard=args.num_hard)
        final = h.final("test")
        per_epoch = statistics.median(r["negative_embeddings"] for r in h.rows)
        what = {"uniform": f"per-user, M={args.neg}", "shared": f"shared, M={num_shared}",
                "hard": f"shared M={args.num_shared} + {args.num_hard} hard/user",
                "curriculum": f"shared M={args.num_shared} + min({args.num_hard}, n-1) hard/user",
                "distance": f"per-user distance-weighted, M={args.neg}"}[mode]
        rows.append((mode, what, f"{h.seconds_per_epoch:.3f}", f"{per_epoch:,.0f}",
                     f"{final['recall@20']:.4f}", f"{final['recall@5']:.4f}", f"{final['ndcg@20']:.4f}"))
        print(f"done {mode}: {rows[-1]}", file=sys.stderr, flush=True)

    distance_histogram(train, args.epochs)
    if args.hist_only:
        return
    headers = ("sampler", "negatives", "s/epoch (median)", "negative embeddings / epoch", "Recall@20", "Recall@5",
               "NDCG@20")
    print(f"ML-100K 80/20 seed 0, LightGCN 64-d 3 layers, {args.epochs} epochs, batch 2048, lr 5e-3, L2 1e-3\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nHard-negative pools for all {users.numel()} users (walks, 200 x 20 hops, window {(0.05, 0.25)}): "
          f"{statistics.median(times):.3f} s median of 3; mean pool size {pool.sizes().float().mean():.0f} items")


def distance_histogram(train, epochs: int) -> None:
    """Query-negative distances on normalized embeddings: uniform draws vs distance-weighted draws."""
    gen = torch.Generator().manual_seed(0)
    model = build_model("lightgcn", train, seed=0)
    train_bpr(model, train, num_epochs=epochs, eval_every=0, progress=False)
    with torch.no_grad():
        user_z, item_z = model()
    cases = {"random 64-d points": (torch.randn(943, 64, generator=gen), torch.randn(1682, 64, generator=gen)),
             f"LightGCN after {epochs} epochs": (user_z, item_z)}
    edges = [0.0, 0.25, 0.5, 0.75, 1.0, 1.2, 1.4, 1.6, 2.0]
    print("\nQuery-negative distance histogram (share of 943 x 32 draws per bin, L2-normalized embeddings)\n")
    print("| embeddings | sampling | " + " | ".join(f"{a}-{b}" for a, b in zip(edges, edges[1:])) + " |")
    print("|---|---|" + "---|" * (len(edges) - 1))
    for name, (u, v) in cases.items():
        un = torch.nn.functional.normalize(u, dim=1)
        vn = torch.nn.functional.normalize(v, dim=1)
        uniform = torch.randint(vn.shape[0], (un.shape[0], 32), generator=gen)
        d_uni = (un[:, None, :] - vn[uniform]).norm(dim=-1)
        _, d_dw = distance_weighted_negatives(u, v, 32, generator=gen, return_distances=True)
        _, d_emp = distance_weighted_negatives(u, v, 32, generator=gen, return_distances=True, density="empirical")
        for label, d in (("uniform", d_uni), ("distance-weighted, sphere q(d)", d_dw),
                         ("distance-weighted, empirical", d_emp)):
            counts = torch.histogram(d.flatten().double().clamp(max=1.999), bins=torch.tensor(edges).double())[0]
            share = counts / counts.sum()
            print(f"| {name} | {label} | " + " | ".join(f"{x:.2f}" for x in share.tolist()) + " |")


if __name__ == "__main__":
    main()
