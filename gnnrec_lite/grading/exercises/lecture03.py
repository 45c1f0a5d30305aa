"""Lecture 03's exercises: the training loop's pieces and item-kNN's similarity.

The negative sampler that rejects positives, one BPR step with its L2 term,
early stopping that restores the best weights, and the cosine similarity of
item-kNN. Each checker runs the learner's code on small cases where a known
mistake is recognisable (and named), then on MovieLens-100K.
"""

from __future__ import annotations

import copy

import torch

from ... import baselines, datasets, metrics, splits
from ...interactions import Interactions
from ...models import build_model
from ...negatives.uniform import bpr_step_loss
from ...sampling import BPRSampler
from .. import hwcheck
from .base import Wrong, call, close, exercise, from_scratch, ml100k_split, written


def _close(got, want, what: str, tol: float = 1e-6) -> None:
    close(got, want, what, tol)


def _ml100k():
    return ml100k_split()  # (train, test)


# ----------------------------------------------------------------------------------------------- 03-1
def _draw(answer, train, users, m: int, seed: int, case: str) -> torch.Tensor:
    with from_scratch("sample_negatives", "gnnrec_lite.sampling", "gnnrec_lite.negatives"):
        got = call(answer, train, users.clone(), m, torch.Generator().manual_seed(seed), case=case)
    got = torch.as_tensor(got)
    if tuple(got.shape) != (users.numel(), m):
        raise Wrong(f"on {case} expected negatives of shape (B, M) = ({users.numel()}, {m}), got {tuple(got.shape)}")
    if got.dtype.is_floating_point or got.dtype == torch.bool:
        raise Wrong(f"on {case} the negatives must be integer item ids, got dtype {got.dtype}")
    if got.numel() and (int(got.min()) < 0 or int(got.max()) >= train.num_items):
        raise Wrong(f"on {case} every negative must be an item id in 0..{train.num_items - 1}, "
                    f"got values from {int(got.min())} to {int(got.max())}")
    return got.long()


def _positives_left(train, users, neg) -> int:
    keys = torch.unique(train.user * train.num_items + train.item)
    query = users[:, None] * train.num_items + neg
    pos = torch.searchsorted(keys, query).clamp(max=keys.numel() - 1)
    return int((keys[pos] == query).sum())


@exercise("03-1", "uniform negatives that reject positives")
def sample_negatives(answer) -> str:
    """``answer(train, users (B,), num_negatives, generator) -> (B, M)``: uniform items the user does not have."""
    toy = Interactions(3, 10, [0] * 9 + [1], list(range(9)) + [0])  # user 0 owns 0..8, user 1 owns 0, user 2 none
    users = torch.tensor([0, 1, 2]).repeat_interleave(2000)
    case = "a 3-user, 10-item toy (user 0 has items 0..8, user 1 has item 0, user 2 none), 2000 draws each, M = 2"
    neg = _draw(answer, toy, users, 2, 0, case)
    left = _positives_left(toy, users, neg)
    if left:
        raise Wrong(f"on {case} {left} negatives are items the user has in training (user 0 must always get item 9): "
                    "redraw every clash, and keep redrawing until none is left")
    for u, free in ((1, range(1, 10)), (2, range(10))):
        counts = torch.bincount(neg[users == u].flatten(), minlength=10)[list(free)].double()
        expected = 4000 / len(free)
        if (counts - expected).abs().max() > 0.35 * expected:
            raise Wrong(f"on {case} user {u}'s negatives must be uniform over its {len(free)} free items (about "
                        f"{expected:.0f} each), got counts {counts.long().tolist()}: a clash must be drawn again, "
                        "not moved to a neighbouring id")
    again = _draw(answer, toy, users, 2, 0, case + ", same seed")
    if not torch.equal(neg, again):
        raise Wrong(f"on {case} two calls with generators seeded alike must give the same negatives: draw with "
                    "torch.randint(..., generator=generator), never the global random state")
    train, _ = _ml100k()
    users = torch.randint(train.num_users, (2048,), generator=hwcheck.generator(3))
    neg = _draw(answer, train, users, 4, 1, "ML-100K, 2048 users, M = 4")
    if _positives_left(train, users, neg):
        raise Wrong("on ML-100K (2048 users, M = 4) some negatives are the user's training items: reject them")
    clash = float((train.user_degree()[users].double() / train.num_items).mean())
    return (f"none of the 8192 ML-100K negatives is a training item; without rejection about {clash:.1%} would have "
            "been (a positive scored as a negative pushes a liked item down).")


# ----------------------------------------------------------------------------------------------- 03-2
def _number(value, case: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise Wrong(f"on {case} bpr_step must return the loss as a number, got {type(value).__name__}")


def _step_fixture():
    data = datasets.synthetic(20, 30, 150, seed=5)
    model = build_model("mf", data, seed=0, embedding_dim=8)
    sampler = BPRSampler(data, num_negatives=3, seed=0)
    return data, model, [sampler.sample(16) for _ in range(2)]


def _step_hint(got: float, model, users, pos, neg, reg: float) -> str:
    """Name the loss variant ``got`` equals, if any (computed on ``model`` before its step)."""
    with torch.no_grad():
        bpr = float(bpr_step_loss(model, users, pos, neg, 0.0))
        e_u, e_p, e_n = model.user_emb(users), model.item_emb(pos), model.item_emb(neg)
        batch, m = users.numel(), neg.shape[1]
        squares = float(e_u.pow(2).sum() + e_p.pow(2).sum() + e_n.pow(2).sum() / m)
        tables = float(model.user_emb.weight.pow(2).sum() + model.item_emb.weight.pow(2).sum())
        variants = {
            "your loss has no L2 term": bpr,
            "the L2 term covers the whole embedding tables: it acts on the batch's rows only":
                bpr + reg * tables / (2 * batch),
            "the negatives' squared norms need the 1/M": bpr + reg * float(e_u.pow(2).sum() + e_p.pow(2).sum()
                                                                          + e_n.pow(2).sum()) / (2 * batch),
            "the L2 term misses its 1/2: it is reg / (2B) times the squared norms": bpr + reg * squares / batch,
            "BPR is a mean over users and negatives, not a sum": bpr * batch * m + reg * squares / (2 * batch),
        }
    return next((f" ({name})" for name, value in variants.items() if abs(got - value) < 1e-6 * max(1, abs(value))), "")


@exercise("03-2", "one BPR step")
def bpr_step(answer) -> str:
    """``answer(model, optimizer, users, pos, neg, reg) -> float``: BPR + L2 on the batch, zero_grad, backward, step."""
    reg = 0.05
    _, model, batches = _step_fixture()
    reference = copy.deepcopy(model)
    opt, ref_opt = (torch.optim.Adam(m.parameters(), lr=0.05) for m in (model, reference))
    for step, (users, pos, neg) in enumerate(batches, start=1):
        case = f"step {step} on an MF of datasets.synthetic(20, 30, 150, seed=5), 16 users, 3 negatives, reg={reg}"
        want = bpr_step_loss(reference, users, pos, neg, reg)
        before = [p.detach().clone() for p in model.parameters()]
        with from_scratch("bpr_step", "gnnrec_lite.negatives", "gnnrec_lite.losses", "gnnrec_lite.train"):
            got = call(answer, model, opt, users, pos, neg, reg, case=case)
        got, want_value = _number(got, case), float(want.detach())
        if not abs(got - want_value) <= 1e-6 * max(1.0, abs(want_value)):
            raise Wrong(f"on {case} expected the loss {want_value:.6f}, got {got:.6f}"
                        f"{_step_hint(got, reference, users, pos, neg, reg)}")
        ref_opt.zero_grad()
        want.backward()
        ref_opt.step()
        if any(not torch.allclose(a, b, atol=1e-7) for a, b in zip(model.parameters(), reference.parameters())):
            unchanged = all(torch.equal(a, b) for a, b in zip(model.parameters(), before))
            hint = (" (the parameters did not change: call optimizer.step())" if unchanged else
                    " (the gradients of step 1 were added to step 2's: call optimizer.zero_grad() before backward)"
                    if step == 2 else "")
            raise Wrong(f"on {case} the parameters after the step must equal those of the same step done by the "
                        f"library (Adam, lr 0.05){hint}")
    return _step_on_ml100k(answer)


def _step_on_ml100k(answer) -> str:
    train, test = _ml100k()
    model = build_model("mf", train, seed=0)
    start = metrics.evaluate(model(), train, test, k=20)["recall@20"]
    optimizer, sampler = torch.optim.Adam(model.parameters(), lr=5e-3), BPRSampler(train, num_negatives=4, seed=0)
    for _ in range(80):  # two epochs of 40 steps of 2048 users
        call(answer, model, optimizer, *sampler.sample(2048), 1e-3, case="ML-100K, MF, batches of 2048 users")
    with torch.no_grad():
        after = metrics.evaluate(model(), train, test, k=20)["recall@20"]
    return (f"80 of your steps (two epochs) take MF on ML-100K from Recall@20 {start:.3f} at random to {after:.3f}: "
            "this step is all train_bpr repeats.")


# ----------------------------------------------------------------------------------------------- 03-3
def _expected_stop(scores, patience):
    """(index of the best evaluation, index at which update returns True or None): strict improvement only."""
    best, bad = 0, 0
    for i, s in enumerate(scores):
        if i == 0 or s > scores[best]:
            best, bad = i, 0
        else:
            bad += 1
            if bad >= patience:
                return best, i
    return best, None


def _run_stopper(answer, scores, patience: int, case: str):
    """Feed ``scores`` (evaluations at epochs 5, 10, ...) to the learner's stopper; weights are set to the epoch."""
    model = torch.nn.Linear(2, 2)
    stopper = call(answer, patience, case=case)
    stopped = None
    for i, score in enumerate(scores):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(5.0 * (i + 1))  # in place, as an optimizer changes them
        if call(stopper.update, 5 * (i + 1), score, model, case=case):
            stopped = i
            break
    call(stopper.restore, model, case=case)
    return stopper, stopped, float(model.weight.detach()[0, 0])


@exercise("03-3", "early stopping that restores the best weights")
def early_stopping(answer) -> str:
    """``answer(patience)``: ``update(epoch, score, model) -> bool`` (stop?), ``best_epoch``, ``restore(model)``."""
    for scores, patience in (([0.10, 0.20, 0.30, 0.25, 0.28, 0.20, 0.10], 3),
                             ([0.10, 0.20, 0.20, 0.20, 0.20, 0.10], 3), ([0.30, 0.20, 0.40], 1)):
        case = f"validation Recall@20 {scores} at epochs 5, 10, ... with patience {patience}"
        stopper, stopped, restored = _run_stopper(answer, scores, patience, case)
        best, stop = _expected_stop(scores, patience)
        if stopped != stop:
            got = "never" if stopped is None else f"at epoch {5 * (stopped + 1)}"
            off = (" (a tie is not an improvement: it counts as an evaluation without one)"
                   if scores[best] in scores[best + 1:] else
                   " (an off-by-one in patience)" if stopped is not None and abs(stopped - stop) == 1 else "")
            raise Wrong(f"on {case} update must return True at epoch {5 * (stop + 1)}, after {patience} evaluations "
                        f"in a row that did not beat the best; yours returned True {got}{off}")
        if getattr(stopper, "best_epoch", None) != 5 * (best + 1):
            tie = " (a tie is not an improvement: keep the earlier epoch)" if scores[best] in scores[best + 1:] else ""
            raise Wrong(f"on {case} best_epoch must be {5 * (best + 1)}, got {getattr(stopper, 'best_epoch', None)}"
                        f"{tie}")
        if restored != 5.0 * (best + 1):
            raise Wrong(f"on {case} restore must load the weights of epoch {5 * (best + 1)}, got those of epoch "
                        f"{restored:g}: model.state_dict() holds the live tensors, which training keeps changing; "
                        "keep a copy (copy.deepcopy(model.state_dict()))")
    return _stop_on_ml100k(answer)


def _stop_on_ml100k(answer) -> str:
    train, test = _ml100k()
    fit, val = splits.random_split(train, 0.9, seed=1)
    model = build_model("mf", fit, seed=0, embedding_dim=32)
    optimizer, sampler = torch.optim.Adam(model.parameters(), lr=0.03), BPRSampler(fit, seed=0)
    stopper, seen = call(answer, 3, case="patience 3 on ML-100K"), []
    for epoch in range(1, 13):  # a fast, over-eager recipe: it peaks after a few epochs
        for _ in range(9):
            loss = bpr_step_loss(model, *sampler.sample(8192), 1e-4)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            seen.append(metrics.evaluate(model(), fit, val, k=20)["recall@20"])
        if call(stopper.update, epoch, seen[-1], model, case="MF on ML-100K, validation Recall@20 each epoch"):
            break
    call(stopper.restore, model, case="MF on ML-100K")
    with torch.no_grad():
        z = model()
    _close(metrics.evaluate(z, fit, val, k=20)["recall@20"], max(seen), "validation Recall@20 after restore on ML-100K")
    test_recall = metrics.evaluate(z, train, test, k=20)["recall@20"]
    return (f"on ML-100K your stopper kept epoch {stopper.best_epoch} of {len(seen)} (validation Recall@20 "
            f"{max(seen):.4f}) and the test split, read once at the end, gives {test_recall:.4f}.")


# ----------------------------------------------------------------------------------------------- 03-4
def _cosine_hint(got, want, deg) -> str:
    if torch.isnan(got).any():
        return " (an item nobody interacted with divides 0 by 0: its similarities must be 0)"
    if torch.allclose(got.diagonal(), (deg > 0).to(got.dtype)) and torch.allclose(got - torch.diag(got.diagonal()),
                                                                                  want, atol=1e-6):
        return " (an item is not its own neighbour: set the diagonal to 0)"
    counts = want * (deg[:, None] * deg[None, :]).sqrt()
    if torch.allclose(got, counts / deg.clamp(min=1)[:, None], atol=1e-6):
        return " (you divided by |U(i)| alone; the cosine divides by sqrt(|U(i)| |U(j)|))"
    if torch.allclose(got, counts, atol=1e-6):
        return " (those are the raw counts |U(i) ∩ U(j)|: divide by sqrt(|U(i)| |U(j)|))"
    return ""


@exercise("03-4", "item-kNN's cosine similarity")
def item_cosine(answer) -> str:
    """``answer(train) -> (I, I)`` dense: |U(i) ∩ U(j)| / sqrt(|U(i)| |U(j)|), zero diagonal, zero for unused items."""
    hand = Interactions(3, 4, [0, 0, 1, 1, 1, 2], [0, 1, 0, 1, 2, 1])  # item 3: nobody
    cases = [(hand, "3 users, 4 items (u0: 0, 1; u1: 0, 1, 2; u2: 1; item 3 unused)"),
             (datasets.synthetic(30, 20, 150, seed=6), "datasets.synthetic(30, 20, 150, seed=6)")]
    for train, case in cases:
        with from_scratch("item_cosine", "gnnrec_lite.baselines"):
            got = torch.as_tensor(call(answer, train, case=case)).double()
        want = baselines.item_similarities(train, num_neighbors=train.num_items - 1).to_dense().double()
        if got.shape != want.shape:
            raise Wrong(f"on {case} expected an (I, I) = {tuple(want.shape)} matrix, got {tuple(got.shape)}")
        if not torch.allclose(got, want, atol=1e-6):
            i, j = divmod(int((got - want).abs().nan_to_num(1.0).argmax()), want.shape[1])
            raise Wrong(f"on {case} expected s[{i}, {j}] = {float(want[i, j]):.6f}, got {float(got[i, j]):.6f}"
                        f"{_cosine_hint(got, want, train.item_degree().double())}")
    train, test = _ml100k()
    sims = torch.as_tensor(call(answer, train, case="ML-100K's training split")).float()
    scores = train.to_csr().to_dense() @ sims  # (U, I): score(u, i) = sum over u's items j of s_ij
    full = metrics.evaluate(scores, train, test, k=20)["recall@20"]
    top100 = metrics.evaluate(baselines.item_knn(train), train, test, k=20)["recall@20"]
    return (f"scoring with every neighbour gives Recall@20 {full:.4f} on ML-100K; the library's item-kNN keeps the "
            f"100 most similar items per item and gets {top100:.4f}, with no training at all.")


written("03-5", "why the epoch is chosen on validation, not on test")
written("03-6", "the neighbours of a rarely rated movie")

__all__ = ["bpr_step", "early_stopping", "item_cosine", "sample_negatives"]
