"""Item-to-item benchmark on ML-100K: PinSAGE-lite against a shallow and a features-only encoder (lecture 06).

    python benchmarks/bench_pinsage.py [--epochs 20] [--seed 0] [--threads 1]

Every encoder trains on the same related pairs (co-interaction, top-10 per
item), the same training graph (2% of the items are "cold": all their edges
removed) and the same margin loss, then ranks all items for the held-out
pairs. Cold columns use only the cold items' pairs; genre share is the share
of a cold item's 10 nearest items that share a genre with it (chance in the
header). Prints a markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import torch

import gnnrec_lite as g
from gnnrec_lite.item2item import prepare_item2item, train_pinsage

RUNS = [
    ("untrained PinSAGE-lite", dict(encoder="pinsage", num_epochs=0)),
    ("PinSAGE-lite (features + graph)", dict(encoder="pinsage")),
    ("PinSAGE-lite, neighbour dropout 0.3", dict(encoder="pinsage", neighbor_dropout=0.3)),
    ("PinSAGE-lite + per-item embedding", dict(encoder="pinsage", item_embedding=True)),
    ("shallow encoder (embedding only)", dict(encoder="shallow")),
    ("features only (no graph)", dict(encoder="features")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids oversubscription)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    inter = g.load("ml-100k")
    start = time.perf_counter()
    data = prepare_item2item(inter, seed=args.seed)
    prep = time.perf_counter() - start
    print(f"ML-100K: {len(data['train_pairs'])} train / {len(data['test_pairs'])} test pairs, "
          f"{len(data['cold_items'])} cold items with {len(data['cold_pairs'])} pairs, "
          f"{data['features'].shape[1]} input features; preparation {prep:.1f} s; torch threads {args.threads}\n")
    rows = []
    for name, kwargs in RUNS:
        kwargs = {"num_epochs": args.epochs, "lr": 0.01, "batch_size": 256} | kwargs
        res = train_pinsage(inter, data=data, seed=args.seed, progress=False, **kwargs)
        rows.append((name, res))
    chance = rows[0][1].cold["genre_chance"]
    print(f"| model | Hit@10 | MRR | cold Hit@10 | cold MRR | cold genre share@10 (chance {chance:.3f}) "
          "| s/epoch | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, res in rows:
        m, c = res.metrics, res.cold
        print(f"| {name} | {m['hit@10']:.4f} | {m['mrr']:.4f} | {c['cold_hit@10']:.4f} | {c['cold_mrr']:.4f} "
              f"| {c['cold_genre_share@10']:.3f} | {res.seconds_per_epoch:.3f} | {res.train_seconds:.1f} |")


if __name__ == "__main__":
    main()
