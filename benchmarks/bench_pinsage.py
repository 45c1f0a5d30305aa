"""Item-to-item benchmark on ML-100K: PinSAGE-lite against a shallow and a features-only encoder (lecture 06).

    python benchmarks/bench_pinsage.py [--epochs 20] [--seed 0] [--threads 1] [--json PATH]

Every encoder trains on the same related pairs (co-interaction, top-10 per
item), the same training graph (2% of the items are "cold": all their edges
removed) and the same margin loss, with ``train_pinsage``'s own recipe except
the number of epochs, then ranks all items for the held-out pairs. Cold
columns use only the cold items' pairs; genre share is the share of a cold
item's 10 nearest items that share a genre with it (chance in the header).
Prints a markdown table and writes the measurements to
``benchmarks/results/pinsage.json``; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import torch
from _results import Section, add_json_argument, save, spread

import gnnrec_lite as g
from gnnrec_lite.item2item import prepare_item2item
from gnnrec_lite.train_item2item import train_pinsage

RUNS = {  # key in the JSON -> (label, train_pinsage options)
    "untrained": ("untrained PinSAGE-lite", dict(encoder="pinsage", num_epochs=0)),
    "pinsage": ("PinSAGE-lite (features + graph)", dict(encoder="pinsage")),
    "pinsage-dropout": ("PinSAGE-lite, neighbour dropout 0.3", dict(encoder="pinsage", neighbor_dropout=0.3)),
    "pinsage-embedding": ("PinSAGE-lite + per-item embedding", dict(encoder="pinsage", item_embedding=True)),
    "shallow": ("shallow encoder (embedding only)", dict(encoder="shallow")),
    "features": ("features only (no graph)", dict(encoder="features")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids oversubscription)")
    add_json_argument(parser, __file__)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    inter = g.load("ml-100k")
    with Section("item2item", num_epochs=args.epochs, seed=args.seed) as section:
        start = time.perf_counter()
        data = prepare_item2item(inter, seed=args.seed)
        prep = time.perf_counter() - start
        print(f"ML-100K: {len(data['train_pairs'])} train / {len(data['test_pairs'])} test pairs, "
              f"{len(data['cold_items'])} cold items with {len(data['cold_pairs'])} pairs, "
              f"{data['features'].shape[1]} input features; preparation {prep:.1f} s; torch threads {args.threads}\n")
        rows = {}
        for key, (_, kwargs) in RUNS.items():
            kwargs = {"num_epochs": args.epochs} | kwargs
            res = train_pinsage(inter, data=data, seed=args.seed, progress=False, **kwargs)
            rows[key] = {"metrics": res.metrics, "cold": res.cold, "train_seconds": res.train_seconds,
                         "epochs": len(res.history),
                         "s_per_epoch": spread(r["seconds"] for r in res.history) if res.history else None}
        section.data |= {"rows": rows, "prepare_seconds": prep, "train_pairs": len(data["train_pairs"]),
                         "test_pairs": len(data["test_pairs"]), "cold_items": len(data["cold_items"]),
                         "cold_pairs": len(data["cold_pairs"]), "features": int(data["features"].shape[1])}
    chance = rows["untrained"]["cold"]["genre_chance"]
    print(f"| model | Hit@10 | MRR | cold Hit@10 | cold MRR | cold genre share@10 (chance {chance:.3f}) "
          "| s/epoch | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for key, (name, _) in RUNS.items():
        m, c, r = rows[key]["metrics"], rows[key]["cold"], rows[key]
        per_epoch = f"{r['s_per_epoch']['median']:.3f}" if r["s_per_epoch"] else "-"
        print(f"| {name} | {m['hit@10']:.4f} | {m['mrr']:.4f} | {c['cold_hit@10']:.4f} | {c['cold_mrr']:.4f} "
              f"| {c['cold_genre_share@10']:.3f} | {per_epoch} | {r['train_seconds']:.1f} |")
    save(args.json, "bench_pinsage.py", [section])


if __name__ == "__main__":
    main()
