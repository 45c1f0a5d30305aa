"""``gnnrec train --model pinsage``: item-to-item PinSAGE (lecture 06), Hit@K and MRR, warm and cold.

Options left out keep :func:`~gnnrec_lite.train_item2item.train_pinsage`'s
own recipe (its defaults differ from the embedding models': 30 epochs,
batches of 256 pairs, lr 0.01, 2 layers, 128 negatives shared per batch).
``--negatives`` picks the item-to-item negatives: ``shared`` (``--num-shared``
per batch), ``uniform`` (``--neg`` per pair) or ``hard`` (shared plus
``--num-hard`` walk-based hard negatives per pair).
"""

from __future__ import annotations

import sys
import time

from .. import datasets
from ..datasets.cache import atomic_write_json
from ..train import TrainConfig
from ..train_item2item import train_pinsage

# gnnrec train option (its argparse dest) -> train_pinsage keyword
OPTIONS = {"dim": "embedding_dim", "layers": "num_layers", "num_epochs": "num_epochs", "batch_size": "batch_size",
           "lr": "lr", "seed": "seed", "device": "device"}
# --negatives -> (train_pinsage's negatives, option giving M, option giving the hard negatives per pair)
NEGATIVES = {"shared": ("shared", "num_shared", None), "uniform": ("per_pair", "num_negatives", None),
             "hard": ("shared", "num_shared", "num_hard")}


def negative_options(args) -> dict:
    """train_pinsage's negative keywords from ``--negatives`` and the sizes given with it."""
    mode = getattr(args, "negatives", None)
    if mode is None:
        return {}
    if mode not in NEGATIVES:
        raise ValueError(f"--negatives {mode} is not available for --model pinsage; use one of {sorted(NEGATIVES)}")
    kind, size, hard = NEGATIVES[mode]
    given = {"negatives": kind, "num_negatives": getattr(args, size, None),
             "num_hard": getattr(args, hard, None) if hard else None}
    if hard and given["num_hard"] is None:
        given["num_hard"] = TrainConfig().num_hard  # the default of --num-hard
    return {key: value for key, value in given.items() if value is not None}


def run_pinsage(args) -> int:
    """Train, print a table to stdout (progress to stderr), write the JSON (atomically) on success."""
    given = {kw: getattr(args, dest) for dest, kw in OPTIONS.items() if getattr(args, dest, None) is not None}
    given |= negative_options(args)
    name = args.dataset or "ml-100k"
    inter = datasets.load(name, data_dir=args.data_dir)
    print(f"pinsage on {name}: {inter.num_items} items, {len(inter)} interactions", file=sys.stderr)
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
