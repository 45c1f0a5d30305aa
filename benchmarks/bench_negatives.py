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
from gnnrec_lite.sampling import hard_negative_pool  # noqa: E402
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

    headers = ("sampler", "negatives", "s/epoch (median)", "negative embeddings / epoch", "Recall@20", "Recall@5",
               "NDCG@20")
    print(f"ML-100K 80/20 seed 0, LightGCN 64-d 3 layers, {args.epochs} epochs, batch 2048, lr 5e-3, L2 1e-3\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nHard-negative pools for all {users.numel()} users (walks, 200 x 20 hops, window {(0.05, 0.25)}): "
          f"{statistics.median(times):.3f} s median of 3; mean pool size {pool.sizes().float().mean():.0f} items")


if __name__ == "__main__":
    main()
