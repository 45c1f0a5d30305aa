"""``gnnrec train --model pinsage``: item-to-item PinSAGE (lecture 06), Hit@K and MRR, warm and cold.

Options left out keep :func:`~gnnrec_lite.train_item2item.train_pinsage`'s
own recipe (its defaults differ from the embedding models': 30 epochs,
batches of 256 pairs, lr 0.01, 2 layers).
"""

from __future__ import annotations

import sys
import time

from .. import datasets
from ..datasets.cache import atomic_write_json
from ..train_item2item import train_pinsage

# gnnrec train option (its argparse dest) -> train_pinsage keyword
OPTIONS = {"dim": "embedding_dim", "layers": "num_layers", "num_epochs": "num_epochs", "batch_size": "batch_size",
           "lr": "lr", "seed": "seed"}


def run_pinsage(args) -> int:
    """Train, print a table to stdout (progress to stderr), write the JSON (atomically) on success."""
    name = args.dataset or "ml-100k"
    inter = datasets.load(name, data_dir=args.data_dir)
    print(f"pinsage on {name}: {inter.num_items} items, {len(inter)} interactions", file=sys.stderr)
    given = {kw: getattr(args, dest) for dest, kw in OPTIONS.items() if getattr(args, dest) is not None}
    start = time.perf_counter()
    res = train_pinsage(inter, k=tuple(args.k), progress=not args.quiet, **given)
    wall = time.perf_counter() - start
    ks = sorted(set(args.k))
    cold_key = f"cold_hit@{max(ks)}"
    print(f"{'k':>4}  {'hit':>8}  {'mrr':>8}  {cold_key:>12}")
    for kk in ks:
        cold = res.cold.get(cold_key, float("nan"))
        print(f"{kk:>4}  {res.metrics[f'hit@{kk}']:>8.4f}  {res.metrics['mrr']:>8.4f}  {cold:>12.4f}")
    print(f"{len(res.history)} epochs, {res.train_seconds:.1f} s training "
          f"({res.seconds_per_epoch:.3f} s/epoch median), {wall:.1f} s in all")
    if args.json:
        atomic_write_json(args.json, {
            "config": {kk: v for kk, v in vars(args).items() if kk != "func"} | given, "model": repr(res.model),
            "history": res.history, "metrics": res.metrics, "cold": res.cold, "train_seconds": res.train_seconds,
            "seconds_per_epoch": res.seconds_per_epoch, "wall_seconds": wall,
            "data": {"train_pairs": len(res.data["train_pairs"]), "test_pairs": len(res.data["test_pairs"]),
                     "cold_pairs": len(res.data["cold_pairs"]), "cold_items": len(res.data["cold_items"])},
        })
    return 0
