"""Training embedding models with mini-batch BPR.

Introduced in lecture 03. Each step samples users, one positive and ``M``
uniform negatives each, computes the final embeddings with the model's
encoder, and minimizes

.. math::
    \\mathcal{L} = \\frac{1}{|U_{mini}|} \\sum_{u} \\frac{1}{M} \\sum_{j=1}^{M}
        -\\log \\sigma\\big(f(u, v_{pos}) - f(u, v_{neg,j})\\big)
        + \\frac{\\lambda}{2 |U_{mini}|} \\big(\\|\\mathbf{e}_u\\|^2 + \\|\\mathbf{e}_{pos}\\|^2
        + \\tfrac{1}{M} \\textstyle\\sum_j \\|\\mathbf{e}_{neg,j}\\|^2\\big)

with Adam; the L2 term acts on the batch's *initial* embeddings
:math:`E^{(0)}`, as in the LightGCN paper.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import asdict, dataclass, field, fields

import torch
from tqdm.auto import tqdm

from ._checks import check_int, check_ks
from .interactions import Interactions, merge
from .losses import bpr_loss
from .metrics import evaluate
from .models.base import EmbeddingModel
from .sampling import (
    BPRSampler,
    CurriculumSchedule,
    SharedNegativeSampler,
    distance_weighted_negatives,
    hard_negative_pool,
)

NEGATIVES = ("uniform", "shared", "hard", "curriculum", "distance")


@dataclass
class TrainConfig:
    """Hyperparameters of :func:`train_bpr`; the defaults are the course's LightGCN recipe."""

    num_epochs: int = 100          # passes; one pass = ceil(|train| / batch_size) steps
    batch_size: int = 2048         # sampled (user, positive) pairs per step
    lr: float = 5e-3               # Adam learning rate
    reg: float = 1e-3              # lambda of the L2 term on the batch's initial embeddings
    num_negatives: int = 4         # uniform negatives per positive, M
    sampler: str = "users"         # "users" (as in the lecture) or "edges"
    eval_every: int = 10           # epochs between evaluations (0: only at the end)
    k: tuple = (10, 20)            # cutoffs of the reported metrics (the monitor's is added)
    monitor: str = "recall@20"     # metric that picks the best epoch on the validation split
    patience: int | None = None    # evaluations without improvement before stopping (needs val)
    max_seconds: float | None = None  # stop after this much training time
    seed: int = 0                  # seeds the sampler; the model's weights are seeded by build_model
    # Negatives (lecture 06): "uniform" (num_negatives per user, the recipe above), "shared" (num_shared
    # per batch, shared by all its users), "hard" (shared + num_hard hard negatives per user from random
    # walks), "curriculum" (shared + min(num_hard, epoch - 1) hard ones), "distance" (num_negatives per
    # user, distance-weighted on the current embeddings).
    negatives: str = "uniform"
    num_shared: int = 256          # M of the shared modes (64 cost 8% Recall@20 on ML-100K, 256 about 3%)
    num_hard: int = 2              # hard negatives per user ("hard"), the cap for "curriculum"
    hard_window: tuple | None = None  # rank window of hard_negative_pool (None: its scaled default)
    hard_method: str = "walk"      # "walk" (visit counts) or "ppr" (exact personalized PageRank)
    device: str = "cpu"            # "cuda" works when present
    progress: bool = True          # a tqdm progress bar

    def __post_init__(self) -> None:
        check_int("num_epochs", self.num_epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("num_negatives", self.num_negatives, minimum=1)
        check_int("eval_every", self.eval_every, minimum=0)
        check_int("seed", self.seed)
        self.k = check_ks(self.k)
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.reg >= 0:
            raise ValueError(f"reg must be >= 0, got {self.reg}")
        if self.patience is not None:
            check_int("patience", self.patience, minimum=1)
        name, _, cut = str(self.monitor).partition("@")
        if name not in ("recall", "precision", "ndcg", "hit_rate") or not cut.isdigit() or int(cut) < 1:
            raise ValueError(f"monitor must look like 'recall@20', got {self.monitor!r}")
        if self.sampler not in ("users", "edges"):
            raise ValueError(f"sampler must be 'users' or 'edges', got {self.sampler!r}")
        self.k = tuple(sorted(set(self.k) | {int(cut)}))
        if self.negatives not in NEGATIVES:
            raise ValueError(f"negatives must be one of {NEGATIVES}, got {self.negatives!r}")
        check_int("num_shared", self.num_shared, minimum=1)
        check_int("num_hard", self.num_hard, minimum=0)
        if self.hard_method not in ("walk", "ppr"):
            raise ValueError(f"hard_method must be 'walk' or 'ppr', got {self.hard_method!r}")
        if self.hard_window is not None:
            self.hard_window = tuple(self.hard_window)


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
        times = [r["seconds"] for r in self.rows]
        return sorted(times)[len(times) // 2] if times else math.nan  # median

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
        epochs = [r["epoch"] for r in self.rows]
        ax[0].plot(epochs, [r["loss"] for r in self.rows])
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
    config = config or TrainConfig()
    names = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise TypeError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(names)}")
    config = TrainConfig(**(asdict(config) | overrides))
    if (model.num_users, model.num_items) != (train.num_users, train.num_items):
        raise ValueError("model and train have different user or item counts")
    if config.patience is not None and val is None:
        raise ValueError("patience needs a validation split: pass val=")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    device = torch.device(config.device)
    model.to(device)
    with _cpu_settings(device):
        return _train_loop(model, train, val, test, config, device, callback)


@contextlib.contextmanager
def _cpu_settings(device: torch.device):
    """Deterministic kernels on the CPU: with two threads the default embedding and
    index-add backward kernels sum in a varying order, so the same seed gave slightly
    different weights (and NGCF visibly different metrics). Not slower here."""
    if device.type != "cpu":
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


def _train_loop(model, train, val, test, config: TrainConfig, device: torch.device, callback=None) -> History:
    step_fn, sampler, per_epoch = _negative_plan(train, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps = math.ceil(len(train) / config.batch_size)
    history = History()
    best_state, bad_evals = None, 0
    bar = tqdm(range(1, config.num_epochs + 1), disable=not config.progress, desc=type(model).__name__)
    for epoch in bar:
        model.train()
        start, total = time.perf_counter(), 0.0
        neg_emb = 0
        for _ in range(steps):
            loss, count = step_fn(model, epoch, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            neg_emb += count
        seconds = time.perf_counter() - start
        history.train_seconds += seconds
        row = {"epoch": epoch, "loss": total / steps, "seconds": seconds, "negative_embeddings": neg_emb}
        if per_epoch is not None:
            row["hard_negatives"] = per_epoch(epoch)
        out_of_time = config.max_seconds is not None and history.train_seconds >= config.max_seconds
        last = epoch == config.num_epochs or out_of_time
        if (config.eval_every and epoch % config.eval_every == 0) or last:
            model.eval()
            with torch.no_grad():
                emb = model()
            for split, data in (("val", val), ("test", test)):
                if data is not None:
                    exclude = train if split == "val" or val is None else merge(train, val)
                    result = evaluate(emb, exclude, data, config.k)
                    row.update({f"{split}/{key}": v for key, v in result.items() if "@" in key})
            if val is not None:
                score = row[f"val/{config.monitor}"]
                if history.best_score is None or score > history.best_score:
                    history.best_epoch, history.best_score, bad_evals = epoch, score, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    bad_evals += 1
            bar.set_postfix(loss=f"{row['loss']:.4f}",
                            **{k.split("/")[0]: f"{v:.4f}" for k, v in row.items()
                               if k.endswith(config.monitor)})
        else:
            bar.set_postfix(loss=f"{row['loss']:.4f}")
        history.rows.append(row)
        if callback is not None:
            with torch.no_grad():
                callback(epoch, model, row)
        if config.patience is not None and bad_evals >= config.patience:
            history.stopped_early = True
            break
        if out_of_time:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
        if test is not None and history.best_epoch != history.rows[-1]["epoch"]:
            with torch.no_grad():
                result = evaluate(model.eval()(), merge(train, val), test, config.k)
            history.rows[-1].update({f"best/test/{k}": v for k, v in result.items() if "@" in k})
    return history


def _negative_plan(train: Interactions, config: TrainConfig):
    """``(step_fn, sampler, schedule)``: ``step_fn(model, epoch, device) -> (loss, negative embeddings)``.

    The negative-embedding count is what the lecture's saving is about: item
    embeddings computed for negatives, ``B * M`` per batch for per-user
    negatives, ``M`` for shared ones (plus ``B * h`` for ``h`` hard ones per user).
    """
    mode, batch, reg = config.negatives, config.batch_size, config.reg
    if mode in ("uniform", "distance"):
        sampler = BPRSampler(train, num_negatives=config.num_negatives, mode=config.sampler, seed=config.seed)
    else:
        sampler = SharedNegativeSampler(train, num_negatives=config.num_shared, mode=config.sampler,
                                        seed=config.seed)
    if mode == "uniform":
        def step(model, epoch, device):
            users, pos, neg = (t.to(device) for t in sampler.sample(batch))
            return bpr_step_loss(model, users, pos, neg, reg), neg.numel()  # B * M
        return step, sampler, None
    if mode == "distance":
        def step(model, epoch, device):
            users, pos, _ = sampler.sample(batch)
            return distance_step_loss(model, sampler, users.to(device), pos.to(device), config.num_negatives,
                                      reg), users.numel() * config.num_negatives  # B * M
        return step, sampler, None
    pool = schedule = None
    if mode in ("hard", "curriculum"):
        pool = hard_negative_pool(train, sampler.active, window=config.hard_window, method=config.hard_method,
                                  seed=config.seed)
        schedule = (lambda epoch: config.num_hard) if mode == "hard" else CurriculumSchedule(config.num_hard)

    def step(model, epoch, device):
        users, pos, shared = sampler.sample(batch)  # (B,), (B,), (M,)
        valid = ~sampler.clashes(users, shared)  # (B, M)
        h = schedule(epoch) if schedule is not None else 0
        hard = sampler.hard(pool, users, h) if h else None  # (B, h)
        loss = shared_step_loss(model, users.to(device), pos.to(device), shared.to(device), reg,
                                valid=valid.to(device), hard=None if hard is None else hard.to(device))
        return loss, shared.numel() + (hard.numel() if hard is not None else 0)  # M (+ B * h)
    return step, sampler, schedule


def shared_step_loss(model: EmbeddingModel, users, pos, shared, reg: float, *, valid=None, hard=None):
    r"""BPR with negatives shared by the batch, plus optional per-user hard negatives.

    Introduced in lecture 06. Shared scores are one product,
    :math:`S = Z_U[U_{mini}] Z_I[V_{neg}]^\top` ``(B, M)``; hard scores are
    per user ``(B, h)``. The loss is the mean of :math:`-\log\sigma(s_{pos} - s_{neg})`
    over the valid pairs (a shared negative that is a positive of that user is
    left out), and the L2 term counts each shared negative once per user, as
    per-user negatives would.

    Shapes:
        ``users (B,)``, ``pos (B,)``, ``shared (M,)``, ``valid (B, M)`` bool, ``hard (B, h)``.
    """
    user_z, item_z = model()
    u = user_z[users]  # (B, D')
    pos_scores = (u * item_z[pos]).sum(-1)  # (B,)
    neg_scores = u @ item_z[shared].T  # (B, M)
    mask = torch.ones_like(neg_scores, dtype=torch.bool) if valid is None else valid
    if hard is not None and hard.numel():
        neg_scores = torch.cat([neg_scores, torch.einsum("bd,bhd->bh", u, item_z[hard])], dim=1)  # (B, M + h)
        mask = torch.cat([mask, torch.ones_like(hard, dtype=torch.bool)], dim=1)
    pairs = torch.nn.functional.softplus(neg_scores - pos_scores[:, None])  # (B, M + h)
    loss = (pairs * mask).sum() / mask.sum().clamp(min=1)
    if reg:
        e_u, e_p, e_s = model.user_emb(users), model.item_emb(pos), model.item_emb(shared)
        n_neg = neg_scores.shape[1]
        l2_neg = users.numel() * e_s.pow(2).sum()
        if hard is not None and hard.numel():
            l2_neg = l2_neg + model.item_emb(hard).pow(2).sum()
        l2 = e_u.pow(2).sum() + e_p.pow(2).sum() + l2_neg / n_neg
        loss = loss + reg * l2 / (2 * users.numel())
    return loss


def distance_step_loss(model: EmbeddingModel, sampler: BPRSampler, users, pos, num_negatives: int, reg: float):
    """BPR whose ``M`` negatives per user are drawn by :func:`~gnnrec_lite.sampling.distance_weighted_negatives`
    on the current (detached, L2-normalized) user and item embeddings, the user's positives excluded.

    Introduced in lecture 06. Scoring the candidates needs all ``num_items``
    item embeddings, which a full-graph model computes anyway.
    """
    user_z, item_z = model()
    u = user_z[users]  # (B, D')
    users_cpu = users.cpu()
    deg = sampler.degree[users_cpu]  # (B,)
    rows = torch.arange(users.numel()).repeat_interleave(deg)  # one entry per (batch user, training item)
    first = torch.cumsum(deg, 0) - deg
    cols = sampler.indices[sampler.indptr[users_cpu].repeat_interleave(deg) + torch.arange(rows.numel())
                           - first.repeat_interleave(deg)]
    exclude = torch.zeros(users.numel(), sampler.num_items, dtype=torch.bool)  # (B, I): the users' positives
    exclude[rows, cols] = True
    # the empirical density keeps distances uniform over [0.5, 1.4] for clustered, trained embeddings
    neg = distance_weighted_negatives(u, item_z, num_negatives, exclude=exclude.to(u.device), density="empirical",
                                      generator=sampler.generator).to(users.device)  # (B, M)
    return bpr_step_loss(model, users, pos, neg, reg, scores=(u, item_z))


def bpr_step_loss(model: EmbeddingModel, users, pos, neg, reg: float, *, scores=None):
    """BPR plus the L2 term for one batch: ``users (B,)``, ``pos (B,)``, ``neg (B, M)``."""
    if scores is None:
        user_z, item_z = model()
        u = user_z[users]  # (B, D')
    else:  # the caller already ran the encoder: (u (B, D'), item_z (I, D'))
        u, item_z = scores
    pos_scores = (u * item_z[pos]).sum(-1)  # (B,)
    neg_scores = torch.einsum("bd,bmd->bm", u, item_z[neg])  # (B, M)
    loss = bpr_loss(pos_scores, neg_scores)
    if reg:
        e_u, e_p, e_n = model.user_emb(users), model.item_emb(pos), model.item_emb(neg)
        l2 = e_u.pow(2).sum() + e_p.pow(2).sum() + e_n.pow(2).sum() / neg.shape[1]
        loss = loss + reg * l2 / (2 * users.numel())
    return loss
