"""``gnnrec train``: one model, one split, a metrics table, optional JSON and top-K files.

Progress goes to stderr and the table to stdout. Output files are written
only when the run succeeds, each to a temporary name and then renamed.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import datasets
from .datasets.cache import atomic_write_json, atomic_write_text
from .datasets.files import load_train_test
from .interactions import merge
from .models import MODELS, build_model
from .splits import parse_split, random_split
from .train import NEGATIVES, TrainConfig, train_bpr

# The defaults of `gnnrec train` (see benchmarks/README.md for how they were chosen).
DEFAULTS = dict(model="lightgcn", dim=64, layers=3, epochs=100, batch_size=2048, lr=5e-3, reg=1e-3, neg=4,
                eval_every=10, val=0.0, patience=None, max_seconds=None, sampler="users")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=sorted(MODELS) + ["pinsage"], default=DEFAULTS["model"],
                   help="pinsage: item-to-item PinSAGE (lecture 06), run by gnnrec_lite.item2item")
    src = p.add_argument_group("data (a dataset and a split, or two files)")
    src.add_argument("--dataset", choices=sorted(datasets.DATASETS), default=None,
                     help="a named dataset (default ml-100k unless --train/--test are given)")
    src.add_argument("--split", default="random:0.8", help="random:FRACTION, temporal:FRACTION or loo")
    src.add_argument("--train", dest="train_file", default=None, help="TSV/CSV: user, item[, timestamp]")
    src.add_argument("--test", dest="test_file", default=None, help="TSV/CSV with the same columns")
    hp = p.add_argument_group("model and training")
    hp.add_argument("--dim", type=int, default=DEFAULTS["dim"], help="embedding size")
    hp.add_argument("--layers", type=int, default=DEFAULTS["layers"], help="propagation layers (NGCF, LightGCN)")
    hp.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    hp.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    hp.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    hp.add_argument("--reg", type=float, default=DEFAULTS["reg"], help="L2 on the batch's initial embeddings")
    hp.add_argument("--neg", type=int, default=DEFAULTS["neg"], help="uniform negatives per positive")
    hp.add_argument("--sampler", choices=("users", "edges"), default=DEFAULTS["sampler"])
    hp.add_argument("--negatives", choices=NEGATIVES, default="uniform",
                    help="uniform (--neg per user), shared (--num-shared per batch), hard / curriculum "
                         "(shared plus --num-hard walk-based hard negatives per user), distance (weighted)")
    hp.add_argument("--num-shared", type=int, default=256, help="negatives shared by a batch (shared modes)")
    hp.add_argument("--num-hard", type=int, default=2, help="hard negatives per user; the cap for curriculum")
    hp.add_argument("--eval-every", type=int, default=DEFAULTS["eval_every"])
    hp.add_argument("--val", type=float, default=DEFAULTS["val"],
                    help="fraction of each user's train items held out for picking the best epoch (0: none)")
    hp.add_argument("--patience", type=int, default=DEFAULTS["patience"],
                    help="stop after this many evaluations without improvement on --val")
    hp.add_argument("--max-seconds", type=float, default=DEFAULTS["max_seconds"], help="training time budget")
    hp.add_argument("--k", type=int, nargs="+", default=[10, 20])
    hp.add_argument("--seed", type=int, default=0)
    hp.add_argument("--device", default="cpu")
    out = p.add_argument_group("outputs")
    out.add_argument("--json", default=None, help="write config, history and final metrics here")
    out.add_argument("--save-topk", default=None, help="write each test user's top-K items (raw ids) here")
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def _load(args):
    """``(train, test, report)`` from a dataset and split, or from two files."""
    if (args.train_file is None) != (args.test_file is None):
        raise ValueError("--train and --test go together")
    if args.train_file is not None:
        if args.dataset is not None:
            raise ValueError("give either --dataset or --train/--test, not both")
        split = load_train_test(args.train_file, args.test_file)
        return split.train, split.test, {"source": "files", "dropped_test_rows": split.dropped_test_rows,
                                         "duplicate_rows": split.duplicate_rows,
                                         "test_rows_already_in_train": split.overlap_rows}
    name = args.dataset or "ml-100k"
    inter = datasets.load(name, **({"path": args.data_dir} if name == "ml-100k" else {}))
    train, test = parse_split(args.split)(inter, args.seed)
    return train, test, {"source": name, "split": args.split}


def run_train(args) -> int:
    if args.model == "pinsage":  # imported lazily: gnnrec train works without the item2item module
        from .item2item import run_pinsage_cli

        return run_pinsage_cli(args)
    train, test, report = _load(args)
    val = None
    fit = train
    if args.val:
        fit, val = random_split(train, 1.0 - args.val, seed=args.seed + 1)
    config = TrainConfig(num_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, reg=args.reg,
                         num_negatives=args.neg, sampler=args.sampler, eval_every=args.eval_every,
                         k=tuple(args.k), patience=args.patience, max_seconds=args.max_seconds,
                         seed=args.seed, device=args.device, progress=not args.quiet,
                         negatives=args.negatives, num_shared=args.num_shared, num_hard=args.num_hard)
    kwargs = {"embedding_dim": args.dim}
    if args.model != "mf":
        kwargs["num_layers"] = args.layers
    model = build_model(args.model, fit, seed=args.seed, **kwargs)
    print(f"{args.model} on {report['source']}: {fit.num_users} users, {fit.num_items} items, "
          f"{len(fit)} train / {len(val) if val is not None else 0} val / {len(test)} test interactions",
          file=sys.stderr)
    for key in ("dropped_test_rows", "duplicate_rows", "test_rows_already_in_train"):
        if report.get(key):
            print(f"  {key.replace('_', ' ')}: {report[key]}", file=sys.stderr)
    start = time.perf_counter()
    history = train_bpr(model, fit, val=val, test=test, config=config)
    wall = time.perf_counter() - start
    final = {k[len("best/test/"):]: v for k, v in history.rows[-1].items() if k.startswith("best/test/")}
    final = final or history.final("test")
    _print_table(args, final, history)
    if args.save_topk:
        exclude = fit if val is None else merge(fit, val)
        users = test.user.unique()
        top = model.recommend(max(args.k), exclude=exclude, users=users)
        lines = ["user\trank\titem"]
        for u, row in zip(users.tolist(), top.tolist()):
            raw_u = train.user_raw_ids[u]
            lines += [f"{raw_u}\t{r}\t{train.item_raw_ids[i]}" for r, i in enumerate(row, start=1) if i >= 0]
        atomic_write_text(args.save_topk, "\n".join(lines) + "\n")
    if args.json:
        atomic_write_json(args.json, {
            "config": {k: v for k, v in vars(args).items() if k != "func"},
            "data": report | {"train": len(fit), "val": len(val) if val is not None else 0, "test": len(test)},
            "history": history.rows, "best_epoch": history.best_epoch, "stopped_early": history.stopped_early,
            "seconds_per_epoch": history.seconds_per_epoch, "train_seconds": history.train_seconds,
            "wall_seconds": wall, "final": final,
        })
    return 0


def _print_table(args, final: dict, history) -> None:
    print(f"{'k':>4}  {'recall':>8}  {'precision':>9}  {'ndcg':>8}  {'hit_rate':>8}")
    for k in sorted(set(args.k)):
        print(f"{k:>4}  {final[f'recall@{k}']:>8.4f}  {final[f'precision@{k}']:>9.4f}  "
              f"{final[f'ndcg@{k}']:>8.4f}  {final[f'hit_rate@{k}']:>8.4f}")
    best = f", best epoch {history.best_epoch} on validation" if history.best_epoch else ""
    print(f"{len(history.rows)} epochs, {history.train_seconds:.1f} s training "
          f"({history.seconds_per_epoch:.3f} s/epoch median){best}")


__all__ = ["add_train_arguments", "run_train"]
