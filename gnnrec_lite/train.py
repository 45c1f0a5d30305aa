r"""Training embedding models with mini-batch BPR: the loop, its configuration and its history.

Introduced in lecture 03. Each step asks the negative strategy (by default
:class:`~gnnrec_lite.negatives.uniform.UniformNegatives`: users, one positive
and ``M`` uniform negatives each) for the loss

.. math::
    \mathcal{L} = \frac{1}{|U_{mini}|} \sum_{u} \frac{1}{M} \sum_{j=1}^{M}
        -\log \sigma\big(f(u, v_{pos}) - f(u, v_{neg,j})\big)
        + \frac{\lambda}{2 |U_{mini}|} \big(\|\mathbf{e}_u\|^2 + \|\mathbf{e}_{pos}\|^2
        + \tfrac{1}{M} \textstyle\sum_j \|\mathbf{e}_{neg,j}\|^2\big)

and takes an Adam step; the L2 term acts on the batch's *initial* embeddings
:math:`E^{(0)}`, as in the LightGCN paper. Every ``eval_every`` epochs the
model ranks all unseen items; the validation split picks the best epoch and
the test split is only reported.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field, fields

import torch
from tqdm.auto import tqdm

from ._checks import check_choice, check_int, check_ks, check_positive
from ._runtime import deterministic, median
from .interactions import Interactions, merge
from .metrics import METRICS, evaluate
from .models.base import EmbeddingModel
from .negatives import NEGATIVES, build_negatives
from .sampling import DRAWS


@dataclass
class TrainConfig:
    """Hyperparameters of :func:`train_bpr`; the defaults are the course's LightGCN recipe (and ``gnnrec train``'s)."""

    num_epochs: int = 100          # passes; one pass = ceil(|train| / batch_size) steps
    batch_size: int = 2048         # sampled (user, positive) pairs per step
    lr: float = 5e-3               # Adam learning rate
    reg: float = 1e-3              # lambda of the L2 term on the batch's initial embeddings
    num_negatives: int = 4         # negatives per positive, M ("uniform" and "distance")
    draw: str = "users"            # "users" (as in the lecture) or "edges": how (user, positive) pairs are drawn
    eval_every: int = 10           # epochs between evaluations (0: only at the end)
    k: tuple = (10, 20)            # cutoffs of the reported metrics (the monitor's is added)
    monitor: str = "recall@20"     # metric that picks the best epoch on the validation split
    patience: int | None = None    # evaluations without improvement before stopping (needs val)
    max_seconds: float | None = None  # stop after this much training time
    seed: int = 0                  # seeds the negatives' sampler; the model's weights are seeded by build_model
    # Negatives (lecture 06), one class each in gnnrec_lite.negatives: "uniform" (num_negatives per user),
    # "shared" (num_shared per batch), "hard" (shared + num_hard walk-based hard negatives per user),
    # "curriculum" (shared + min(num_hard, epoch - 1) hard ones), "distance" (num_negatives, distance-weighted).
    negatives: str = "uniform"
    num_shared: int = 256          # M of the shared modes (64 cost 8% Recall@20 on ML-100K, 256 about 3%)
    num_hard: int = 2              # hard negatives per user ("hard"), the cap for "curriculum"
    hard_window: tuple | None = None  # rank window of hard_negative_pool (None: its scaled default)
    hard_method: str = "walk"      # "walk" (visit counts) or "ppr" (exact personalized PageRank)
    device: str = "cpu"            # "cuda" works when present
    progress: bool = True          # a tqdm progress bar

    def __post_init__(self) -> None:
        for name, low in (("num_epochs", 1), ("batch_size", 1), ("num_negatives", 1), ("eval_every", 0),
                          ("num_shared", 1), ("num_hard", 0)):
            check_int(name, getattr(self, name), minimum=low)
        check_int("seed", self.seed)
        check_positive("lr", self.lr)
        check_positive("reg", self.reg, allow_zero=True)
        if self.patience is not None:
            check_int("patience", self.patience, minimum=1)
        check_choice("draw", self.draw, DRAWS)
        check_choice("negatives", self.negatives, NEGATIVES)
        check_choice("hard_method", self.hard_method, ("walk", "ppr"))
        name, _, cut = str(self.monitor).partition("@")
        if name not in METRICS or not cut.isdigit() or int(cut) < 1:
            raise ValueError(f"monitor must look like 'recall@20', got {self.monitor!r}")
        self.k = tuple(sorted(set(check_ks(self.k)) | {int(cut)}))
        if self.hard_window is not None:
            self.hard_window = tuple(self.hard_window)

    def replace(self, **overrides) -> TrainConfig:
        """A copy with some fields changed; an unknown name is a TypeError that lists the known ones."""
        names = {f.name for f in fields(self)}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(names)}")
        return TrainConfig(**(asdict(self) | overrides))


@dataclass
class History:
    """What happened during training: one row per epoch, metrics on the evaluated ones."""

    rows: list = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False
    train_seconds: float = 0.0

    @property
    def seconds_per_epoch(self) -> float:
        return median(r["seconds"] for r in self.rows)

    def evaluations(self) -> list:
        return [r for r in self.rows if any("@" in key for key in r)]

    def final(self, split: str = "test") -> dict:
        """Metrics of the last evaluation on ``split`` ("test" or "val")."""
        for row in reversed(self.rows):
            found = {key[len(split) + 1:]: v for key, v in row.items() if key.startswith(f"{split}/")}
            if found:
                return found
        return {}

    def to_dict(self) -> dict:
        return asdict(self) | {"seconds_per_epoch": self.seconds_per_epoch}

    def plot(self, metrics=("recall@20", "ndcg@20"), ax=None):
        """Loss and metric curves in one figure; returns the matplotlib axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(10, 3.5))
        ax[0].plot([r["epoch"] for r in self.rows], [r["loss"] for r in self.rows])
        ax[0].set(xlabel="epoch", ylabel="BPR loss", title="training loss")
        for split in ("val", "test"):
            for metric in metrics:
                pts = [(r["epoch"], r[f"{split}/{metric}"]) for r in self.rows if f"{split}/{metric}" in r]
                if pts:
                    ax[1].plot(*zip(*pts), marker="o", ms=3, label=f"{split} {metric}")
        ax[1].set(xlabel="epoch", title="ranking quality")
        ax[1].legend()
        return ax


def train_bpr(model: EmbeddingModel, train: Interactions, *, val: Interactions | None = None,
              test: Interactions | None = None, config: TrainConfig | None = None, callback=None,
              **overrides) -> History:
    """Train ``model`` in place with mini-batch BPR and return its :class:`History`.

    Args:
        model: an :class:`~gnnrec_lite.models.base.EmbeddingModel` built on ``train``.
        train (Interactions): positives to sample from (and to exclude when ranking).
        val (Interactions, optional): picks the best epoch; with ``patience``
            it stops training early. The best weights are restored at the end.
        test (Interactions, optional): reported at each evaluation, never
            used for a decision.
        config (TrainConfig, optional): hyperparameters; keyword arguments
            override single fields, e.g. ``train_bpr(m, tr, num_epochs=10)``.
        callback (callable, optional): ``callback(epoch, model, row)`` after
            every epoch, with the epoch's history row; lecture 03 uses it to
            save embedding snapshots. It runs outside autograd.
    """
    config = (config or TrainConfig()).replace(**overrides)
    if (model.num_users, model.num_items) != (train.num_users, train.num_items):
        raise ValueError("model and train have different user or item counts")
    if config.patience is not None and val is None:
        raise ValueError("patience needs a validation split: pass val=")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    model.to(torch.device(config.device))
    with deterministic(config.device):
        return _train_loop(model, train, val, test, config, callback)


def _train_loop(model, train, val, test, config: TrainConfig, callback) -> History:
    """Epochs of steps; evaluation and the choice of the best epoch are helpers below."""
    strategy = build_negatives(train, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps = math.ceil(len(train) / config.batch_size)
    history, best = History(), _BestEpoch(config.monitor, config.patience)
    bar = tqdm(range(1, config.num_epochs + 1), disable=not config.progress, desc=type(model).__name__)
    for epoch in bar:
        row = _run_epoch(model, strategy, optimizer, steps, epoch, config)
        history.train_seconds += row["seconds"]
        out_of_time = config.max_seconds is not None and history.train_seconds >= config.max_seconds
        if (config.eval_every and epoch % config.eval_every == 0) or epoch == config.num_epochs or out_of_time:
            row.update(_evaluate_splits(model, train, val, test, config.k))
            best.update(history, epoch, row, model)
        bar.set_postfix(loss=f"{row['loss']:.4f}", **{key.split("/")[0]: f"{v:.4f}" for key, v in row.items()
                                                      if key.endswith(config.monitor)})
        history.rows.append(row)
        if callback is not None:
            with torch.no_grad():
                callback(epoch, model, row)
        if best.should_stop:
            history.stopped_early = True
        if best.should_stop or out_of_time:
            break
    bar.close()
    best.restore(history, model, train, val, test, config.k)
    return history


def _run_epoch(model, strategy, optimizer, steps: int, epoch: int, config: TrainConfig) -> dict:
    """One pass of ``steps`` optimizer steps; the epoch's history row (loss, seconds, negatives used)."""
    model.train()
    start, total, negatives = time.perf_counter(), 0.0, 0
    for _ in range(steps):
        step = strategy.step(model, config.batch_size, epoch, config.reg)
        optimizer.zero_grad(set_to_none=True)
        step.loss.backward()
        optimizer.step()
        total += float(step.loss.detach())
        negatives += step.negative_embeddings
    row = {"epoch": epoch, "loss": total / steps, "seconds": time.perf_counter() - start,
           "negative_embeddings": negatives}
    hard = strategy.hard_negatives(epoch)
    if hard is not None:
        row["hard_negatives"] = hard
    return row


def _evaluate_splits(model, train, val, test, k) -> dict:
    """``{"val/recall@20": ..., "test/...": ...}``: full ranking, seen items excluded.

    Validation excludes the training items; test excludes training and validation items.
    """
    model.eval()
    with torch.no_grad():
        emb = model()
    row = {}
    for split, data in (("val", val), ("test", test)):
        if data is not None:
            exclude = train if split == "val" or val is None else merge(train, val)
            result = evaluate(emb, exclude, data, k)
            row.update({f"{split}/{key}": v for key, v in result.items() if "@" in key})
    return row


class _BestEpoch:
    """Early stopping on the validation monitor: remembers the best weights and counts evaluations since."""

    def __init__(self, monitor: str, patience: int | None) -> None:
        self.key, self.patience = f"val/{monitor}", patience
        self.state, self.bad_evals = None, 0

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_evals >= self.patience

    def update(self, history: History, epoch: int, row: dict, model) -> None:
        if self.key not in row:  # no validation split: nothing to choose
            return
        if history.best_score is None or row[self.key] > history.best_score:
            history.best_epoch, history.best_score, self.bad_evals = epoch, row[self.key], 0
            self.state = copy.deepcopy(model.state_dict())
        else:
            self.bad_evals += 1

    def restore(self, history: History, model, train, val, test, k) -> None:
        """Load the best weights; when they are not the last ones, add their test metrics as ``best/test/...``."""
        if self.state is None:
            return
        model.load_state_dict(self.state)
        if test is not None and history.best_epoch != history.rows[-1]["epoch"]:
            with torch.no_grad():
                result = evaluate(model.eval()(), merge(train, val), test, k)
            history.rows[-1].update({f"best/test/{key}": v for key, v in result.items() if "@" in key})
