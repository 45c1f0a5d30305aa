"""``gnnrec train``: one model, one split, a metrics table, optional JSON and top-K files.

Progress goes to stderr and the table to stdout. Output files are written
only when the run succeeds, each to a temporary name and then renamed. Every
training default comes from :class:`~gnnrec_lite.train.TrainConfig` (and the
models' own defaults): an option left out is simply not passed on.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from dataclasses import asdict

import torch

from .. import datasets
from ..baselines import item_knn, most_popular
from ..datasets.cache import atomic_write_json, atomic_write_text
from ..datasets.files import load_train_test
from ..interactions import merge
from ..metrics import evaluate
from ..models import MODELS, LightGCN, build_model
from ..negatives import NEGATIVES
from ..ranking import recommend
from ..sampling import DRAWS
from ..splits import parse_split, random_split
from ..train import TrainConfig, train_bpr

_CONFIG = TrainConfig()
_MODEL_DEFAULTS = {name: p.default for name, p in inspect.signature(LightGCN).parameters.items()}
BASELINES = ("popular", "itemknn")  # no training: scored straight from the training interactions
# option -> (TrainConfig field, type, help); the default shown is the field's
TRAINING = {
    "--epochs": ("num_epochs", int, "training epochs"),
    "--batch-size": ("batch_size", int, "(user, positive) pairs per step"),
    "--lr": ("lr", float, "Adam learning rate"),
    "--reg": ("reg", float, "L2 on the batch's initial embeddings"),
    "--neg": ("num_negatives", int, "negatives per positive (uniform, distance)"),
    "--draw": ("draw", DRAWS, "how a batch's (user, positive) pairs are drawn"),
    "--negatives": ("negatives", NEGATIVES, "uniform (--neg per user), shared (--num-shared per batch), hard / "
                    "curriculum (shared plus --num-hard walk-based hard negatives per user), distance (weighted)"),
    "--num-shared": ("num_shared", int, "negatives shared by a batch (shared modes)"),
    "--num-hard": ("num_hard", int, "hard negatives per user; the cap for curriculum"),
    "--eval-every": ("eval_every", int, "epochs between evaluations"),
    "--patience": ("patience", int, "stop after this many evaluations without improvement on --val"),
    "--max-seconds": ("max_seconds", float, "training time budget"),
    "--seed": ("seed", int, "seeds the split, the weights and the sampler"),
    "--device": ("device", str, "cpu, or cuda where present"),
}


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=sorted(MODELS) + list(BASELINES) + ["pinsage"], default="lightgcn",
                   help="mf, ngcf, lightgcn; the baselines popular and itemknn (no training); or pinsage, "
                        "item-to-item PinSAGE (lecture 06) (default: lightgcn)")
    src = p.add_argument_group("data (a dataset and a split, or two files)")
    src.add_argument("--dataset", choices=sorted(datasets.DATASETS), default=None,
                     help="a named dataset (default ml-100k unless --train/--test are given)")
    src.add_argument("--split", default="random:0.8",
                     help="random:FRACTION, temporal:FRACTION or loo (default: random:0.8)")
    src.add_argument("--train", dest="train_file", default=None, help="TSV/CSV: user, item[, timestamp]")
    src.add_argument("--test", dest="test_file", default=None, help="TSV/CSV with the same columns")
    hp = p.add_argument_group("model and training")
    hp.add_argument("--dim", type=int, default=None,
                    help=f"embedding size (default: {_MODEL_DEFAULTS['embedding_dim']})")
    hp.add_argument("--layers", type=int, default=None,
                    help=f"propagation layers of NGCF and LightGCN (default: {_MODEL_DEFAULTS['num_layers']})")
    for flag, (name, kind, text) in TRAINING.items():
        choices = kind if isinstance(kind, tuple) else None
        hp.add_argument(flag, dest=name, type=None if choices else kind, choices=choices, default=None,
                        help=f"{text} (default: {getattr(_CONFIG, name)})")
    hp.add_argument("--neighbors", type=int, default=100, help="similar items kept per item by itemknn (default: 100)")
    hp.add_argument("--k", type=int, nargs="+", default=list(_CONFIG.k),
                    help=f"cutoffs of the reported metrics (default: {' '.join(map(str, _CONFIG.k))})")
    hp.add_argument("--val", type=float, default=0.0,
                    help="fraction of each user's train items held out for picking the best epoch (default: 0, none)")
    out = p.add_argument_group("outputs")
    out.add_argument("--json", default=None, help="write config, history and final metrics here")
    out.add_argument("--save-topk", default=None, help="write each test user's top-K items (raw ids) here")
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def training_config(args) -> TrainConfig:
    """The options given on the command line over :class:`TrainConfig`'s defaults."""
    given = {name: getattr(args, name) for name, _, _ in TRAINING.values() if getattr(args, name) is not None}
    return _CONFIG.replace(**given, k=tuple(args.k), progress=not args.quiet)


def model_options(args) -> dict:
    given = {"embedding_dim": args.dim, "num_layers": args.layers}
    return {key: value for key, value in given.items() if value is not None}


def _load(args, seed: int):
    """``(train, test, report)`` from a dataset and split (seeded by ``seed``), or from two files."""
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
    train, test = parse_split(args.split)(datasets.load(name, data_dir=args.data_dir), seed)
    return train, test, {"source": name, "split": args.split}


def run_train(args) -> int:
    if args.model == "pinsage":
        from .pinsage import run_pinsage

        return run_pinsage(args)
    config = training_config(args)
    train, test, report = _load(args, config.seed)
    fit, val = (random_split(train, 1.0 - args.val, seed=config.seed + 1) if args.val else (train, None))
    exclude = fit if val is None else merge(fit, val)
    print(f"{args.model} on {report['source']}: {fit.num_users} users, {fit.num_items} items, "
          f"{len(fit)} train / {len(val) if val is not None else 0} val / {len(test)} test interactions",
          file=sys.stderr)
    for key in ("dropped_test_rows", "duplicate_rows", "test_rows_already_in_train"):
        if report.get(key):
            print(f"  {key.replace('_', ' ')}: {report[key]}", file=sys.stderr)
    start = time.perf_counter()
    if args.model in BASELINES:
        scorer, history = _baseline(args, fit), None
        final = {k: v for k, v in evaluate(scorer, exclude, test, k=config.k).items() if "@" in k}
    else:
        model = build_model(args.model, fit, seed=config.seed, **model_options(args))
        history = train_bpr(model, fit, val=val, test=test, config=config)
        final = {k[len("best/test/"):]: v for k, v in history.rows[-1].items() if k.startswith("best/test/")}
        final = final or history.final("test")
        model.eval()
        with torch.no_grad():
            scorer = model()
    wall = time.perf_counter() - start
    _print_table(args, final, history, wall)
    if args.save_topk:
        _save_topk(args.save_topk, scorer, train, exclude, test, max(args.k))
    if args.json:
        atomic_write_json(args.json, {
            "config": asdict(config) | {k: v for k, v in vars(args).items() if k != "func" and v is not None},
            "data": report | {"train": len(fit), "val": len(val) if val is not None else 0, "test": len(test)},
            "history": history.rows if history else [], "best_epoch": history.best_epoch if history else None,
            "stopped_early": bool(history and history.stopped_early),
            "seconds_per_epoch": history.seconds_per_epoch if history else None,
            "train_seconds": history.train_seconds if history else 0.0, "wall_seconds": wall, "final": final,
        })
    return 0


def _baseline(args, train):
    """The scorer of ``--model popular`` or ``--model itemknn``."""
    if args.model == "popular":
        return most_popular(train)
    return item_knn(train, num_neighbors=args.neighbors)


def _save_topk(path, scorer, train, exclude, test, k: int) -> None:
    """Each test user's top-``k`` items as ``user, rank, item`` rows in raw ids."""
    users = test.user.unique()
    top = recommend(scorer, k, exclude=exclude, users=users)
    lines = ["user\trank\titem"]
    for u, row in zip(users.tolist(), top.tolist()):
        raw_u = train.user_raw_ids[u]
        lines += [f"{raw_u}\t{r}\t{train.item_raw_ids[i]}" for r, i in enumerate(row, start=1) if i >= 0]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _print_table(args, final: dict, history, wall: float) -> None:
    print(f"{'k':>4}  {'recall':>8}  {'precision':>9}  {'ndcg':>8}  {'hit_rate':>8}")
    for k in sorted(set(args.k)):
        print(f"{k:>4}  {final[f'recall@{k}']:>8.4f}  {final[f'precision@{k}']:>9.4f}  "
              f"{final[f'ndcg@{k}']:>8.4f}  {final[f'hit_rate@{k}']:>8.4f}")
    if history is None:
        print(f"no training (a baseline): scored and evaluated in {wall:.1f} s")
        return
    best = f", best epoch {history.best_epoch} on validation" if history.best_epoch else ""
    print(f"{len(history.rows)} epochs, {history.train_seconds:.1f} s training "
          f"({history.seconds_per_epoch:.3f} s/epoch median){best}")


__all__ = ["add_train_arguments", "model_options", "run_train", "training_config"]
