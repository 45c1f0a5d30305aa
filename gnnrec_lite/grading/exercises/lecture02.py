"""Lecture 02's exercises: the binary loss, mini-batch BPR, full BPR per user, and a batch's scores.

Each checker compares the learner's answer with the library (written without
it: :func:`~.base.from_scratch`) on small cases where a known mistake gives a
recognisable value, names that mistake, and ends on the lecture's 2 x 2 case
or a MovieLens-100K batch to say what the number means.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ... import datasets, losses, sampling, splits
from ...interactions import Interactions
from .. import hwcheck
from .base import Wrong, call, close, exercise, from_scratch, written

TOY_BINARY, TOY_BPR = 1.4010, 0.2201  # the lecture's 2 x 2 case, to 4 decimals (lecture 02 computes them)


def _close(got, want, what: str, tol: float = 1e-5) -> None:
    close(got, want, what, tol)


def _scalar(got, case: str) -> float:
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        raise Wrong(f"on {case} the loss must be a scalar tensor (shape ()), got {shape}")
    return float(got)


def _randn(*shape, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=hwcheck.generator(seed))


# ----------------------------------------------------------------------------------------------- 02-1
def _binary_hint(got: float, pos, neg) -> str:
    pos, neg = pos.reshape(-1), neg.reshape(-1)
    variants = {
        "you averaged positives and negatives together: the loss has two separate means, one over E and one "
        "over E_neg": torch.cat([F.softplus(-pos), F.softplus(neg)]).mean(),
        "the negative edges' term has the wrong sign: it is -log(1 - sigma(f)) = softplus(f)":
            F.softplus(-pos).mean() + F.softplus(-neg).mean(),
        "you summed instead of taking the two means": F.softplus(-pos).sum() + F.softplus(neg).sum(),
    }
    return next((f" ({name})" for name, value in variants.items() if abs(got - float(value)) < 1e-5), "")


@exercise("02-1", "the binary loss")
def binary_loss(answer) -> str:
    """``answer(pos_scores, neg_scores) -> scalar``: mean of softplus(-pos) plus mean of softplus(neg)."""
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    cases = [(torch.tensor([0.0]), torch.tensor([0.0]), 2 * math.log(2)),
             (torch.tensor([2.0, 1.0]), torch.tensor([-1.0]),
              -(math.log(sig(2.0)) + math.log(sig(1.0))) / 2 - math.log(1 - sig(-1.0))),
             (torch.tensor([3.0, 0.5, -1.0]), torch.tensor([[1.0, -2.0], [0.0, 4.0]]), None)]
    _values(answer, "binary_loss", losses.binary_loss, cases, _binary_hint)
    case = "scores of +-100 (pos_scores=[100, -100], neg_scores=[-100, 100])"
    big = _scalar(call(answer, torch.tensor([100.0, -100.0]), torch.tensor([-100.0, 100.0]), case=case), case)
    if not math.isfinite(big):
        raise Wrong(f"on {case} expected 100.0, got {big}: log(sigmoid(x)) rounds to log(0) = -inf for x = -100; "
                    "use torch.nn.functional.softplus (-log sigmoid(x) = softplus(-x)) or logsigmoid")
    _close(big, 100.0, f"the binary loss on {case}")
    _gradient(answer, losses.binary_loss, _randn(6, seed=21), _randn(6, 4, seed=22),
              "6 random positives and a (6, 4) block of negatives")
    toy = datasets.lecture_toy()
    mask = torch.eye(2, dtype=torch.bool)
    value = _scalar(call(answer, toy.scores[mask], toy.scores[~mask], case="the lecture's 2 x 2 case"), "the toy")
    return (f"on the lecture's 2 x 2 case your loss is {value:.4f} although Recall@1 is perfect: the negative edge "
            "(u1, v0) is punished for outscoring another user's positive.")


def _values(answer, name: str, reference, cases, hint) -> None:
    """Each ``(pos, neg, want)`` case (``want`` None: the library's value), written from scratch, to 1e-5;
    a miss names the case and, through ``hint``, the likely mistake."""
    for pos, neg, want in cases:
        case = f"pos_scores={pos.tolist()}, neg_scores={neg.tolist()}"
        with from_scratch(name, "gnnrec_lite.losses"):
            got = _scalar(call(answer, pos.clone(), neg.clone(), case=case), case)
        want = float(reference(pos, neg)) if want is None else want
        if not abs(got - want) <= 1e-5:  # NaN is never close
            raise Wrong(f"on {case} expected {want:.6f}, got {got:.6f}{hint(got, pos, neg)}")


def _gradient(answer, reference, pos, neg, case: str) -> None:
    """The answer's loss is a tensor whose gradient with respect to ``pos`` is the reference's."""
    pos = pos.requires_grad_()
    got = call(answer, pos, neg, case=case)
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        raise Wrong(f"on {case} the loss must stay a torch tensor connected to the scores (no .item(), no numpy): "
                    "training needs its gradient")
    got.backward()
    want_pos = pos.detach().clone().requires_grad_()
    reference(want_pos, neg).backward()
    _close(pos.grad, want_pos.grad, f"the gradient of your loss with respect to the positive scores ({case})")


# ----------------------------------------------------------------------------------------------- 02-2
def _bpr_hint(got: float, pos, neg) -> str:
    diff = pos[:, None] - neg
    variants = {
        "the difference is the wrong way round: it is f(u, v_pos) - f(u, v_neg)": F.softplus(diff).mean(),
        "you summed instead of averaging over users and negatives": F.softplus(-diff).sum(),
        "you paired user j's positive with user i's negatives: subtract pos_scores[:, None], one row per user":
            F.softplus(-(pos[None, :] - neg)).mean(),
    }
    return next((f" ({name})" for name, value in variants.items() if abs(got - float(value)) < 1e-5), "")


@exercise("02-2", "mini-batch BPR")
def bpr_loss(answer) -> str:
    """``answer(pos_scores (B,), neg_scores (B, M)) -> scalar``: mean of -log sigmoid(pos - neg)."""
    nl = lambda x: math.log1p(math.exp(-x))  # noqa: E731  -log sigmoid(x)
    cases = [(torch.tensor([1.0]), torch.tensor([[1.0]]), math.log(2)),
             (torch.tensor([2.0, 0.5]), torch.tensor([[0.0, 1.0], [1.5, 0.5]]),
              ((nl(2.0) + nl(1.0)) / 2 + (nl(-1.0) + nl(0.0)) / 2) / 2),
             (torch.tensor([0.3, -1.2, 2.0]), torch.tensor([[1.0, 0.0, -0.5], [0.2, -2.0, 1.5], [3.0, 1.0, 0.0]]),
              None)]
    _values(answer, "bpr_loss", losses.bpr_loss, cases, _bpr_hint)
    case = "score differences of +200 and -200 (pos_scores=[100, -100], neg_scores=[[-100], [100]])"
    big = _scalar(call(answer, torch.tensor([100.0, -100.0]), torch.tensor([[-100.0], [100.0]]), case=case), case)
    if not math.isfinite(big):
        raise Wrong(f"on {case} expected 100.0, got {big}: write -log sigmoid(x) as softplus(-x) so it stays finite")
    _close(big, 100.0, f"BPR on {case}")
    _gradient(answer, losses.bpr_loss, _randn(5, seed=31), _randn(5, 3, seed=32),
              "5 random users with 3 negatives each")
    toy = datasets.lecture_toy()
    value = _scalar(call(answer, toy.scores.diagonal().clone(), toy.scores.fliplr().diagonal()[:, None].clone(),
                         case="the lecture's 2 x 2 case"), "the toy")
    return (f"on the lecture's 2 x 2 case BPR is {value:.4f} against the binary loss's {TOY_BINARY}: each user's "
            "positive already beats its own negative, and how users compare with each other never enters.")


# ----------------------------------------------------------------------------------------------- 02-3
def _full_hint(got: float, scores, mask) -> str:
    pooled, every_item = [], []
    for u in range(scores.shape[0]):
        pos, neg = scores[u][mask[u]], scores[u][~mask[u]]
        if pos.numel() and neg.numel():
            pooled.append(F.softplus(-(pos[:, None] - neg[None, :])).flatten())
            every_item.append(F.softplus(-(pos[:, None] - scores[u][None, :])).mean())
    variants = {
        "you pooled every pair of every user into one mean: users with many positives then weigh more; take "
        "the mean per user first, then over users": torch.cat(pooled).mean(),
        "your negatives include the user's positives: E_neg(u) holds only the items u has not interacted with":
            torch.stack(every_item).mean(),
    }
    return next((f" ({name})" for name, value in variants.items() if abs(got - float(value)) < 1e-5), "")


@exercise("02-3", "full BPR, user by user")
def bpr_full(answer) -> str:
    """``answer(scores (U, I), train) -> scalar``: per user the mean over (positive, negative) pairs, then over users.
    """
    toy = datasets.lecture_toy()
    small = splits.random_split(datasets.synthetic(12, 9, 40, seed=4), 0.8, seed=4)[0]
    lonely = Interactions(3, 4, [0, 0, 1], [0, 1, 3])  # user 2 has no positive, so no pair
    cases = [(toy.scores, toy.train, "the lecture's 2 x 2 case"),
             (torch.tensor([[2.0, 0.0, 1.0, -1.0], [0.5, 0.5, 0.0, 1.0], [1.0, 2.0, 3.0, 4.0]]), lonely,
              "3 users, 4 items, positives {0: [0, 1], 1: [3]} and none for user 2"),
             (_randn(12, 9, seed=41), small, "random scores on datasets.synthetic(12, 9, 40, seed=4) (80% of it)")]
    for scores, train, case in cases:
        with from_scratch("bpr_full", "gnnrec_lite.losses"):
            got = _scalar(call(answer, scores.clone(), train, case=case), case)
        want = float(losses.bpr_loss_full(scores, train))
        if not abs(got - want) <= 1e-5:  # NaN is never close
            mask = losses.positive_mask(train, scores.shape)
            hint = " (a user without positives has no pair: leave it out)" if not math.isfinite(got) else ""
            raise Wrong(f"on {case} expected {want:.6f}, got {got:.6f}{hint or _full_hint(got, scores, mask)}")
    shifted = toy.scores.clone()
    shifted[0] += 3.0
    moved = _scalar(call(answer, shifted, toy.train, case="the 2 x 2 case with 3 added to user u0's scores"), "toy")
    _close(moved, TOY_BPR, "BPR of the 2 x 2 case after adding 3 to every score of user u0 (it must not move)", 1e-4)
    return ("your full BPR gives the lecture's 2 x 2 case 0.2201 and does not move when a user's scores shift "
            "together: it only sees differences within a user, as Recall@K does.")


# ----------------------------------------------------------------------------------------------- 02-4
@exercise("02-4", "a mini-batch's scores from embeddings")
def batch_scores(answer) -> str:
    """``answer(user_emb, item_emb, users (B,), pos (B,), neg (B, M)) -> (pos_scores (B,), neg_scores (B, M))``."""
    user_emb, item_emb = _randn(5, 3, seed=51), _randn(7, 3, seed=52)
    users, pos, neg = torch.tensor([0, 3, 3, 4]), torch.tensor([6, 1, 2, 0]), torch.tensor([[1, 2], [0, 5],
                                                                                            [6, 6], [3, 4]])
    case = "5 users, 7 items, D = 3, a batch of users [0, 3, 3, 4] with 2 negatives each"
    got = call(answer, user_emb, item_emb, users, pos, neg, case=case)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Wrong(f"on {case} expected a pair (pos_scores, neg_scores), got {type(got).__name__}")
    want_pos = (user_emb[users] * item_emb[pos]).sum(-1)  # (B,)
    want_neg = torch.einsum("bd,bmd->bm", user_emb[users], item_emb[neg])  # (B, M)
    got_pos, got_neg = (torch.as_tensor(g) for g in got)
    if tuple(got_neg.shape) == (2, 4):
        raise Wrong(f"on {case} neg_scores must have shape (B, M) = (4, 2), got (2, 4): one row per user")
    _close(got_pos, want_pos, f"pos_scores on {case}")
    _close(got_neg, want_neg, f"neg_scores on {case} (row b: the dot products of user users[b] with its negatives)")
    train = splits.random_split(datasets.load("ml-100k"), 0.8, seed=0)[0]
    users, pos, neg = sampling.BPRSampler(train, num_negatives=4, seed=0).sample(2048)
    user_emb, item_emb = 0.1 * _randn(train.num_users, 64, seed=53), 0.1 * _randn(train.num_items, 64, seed=54)
    p, n = call(answer, user_emb, item_emb, users, pos, neg, case="an ML-100K batch of 2048 users, 4 negatives each")
    _close(torch.as_tensor(n), torch.einsum("bd,bmd->bm", user_emb[users], item_emb[neg]), "neg_scores on ML-100K")
    start = float(losses.bpr_loss(torch.as_tensor(p), torch.as_tensor(n)))
    return (f"on an ML-100K batch with untrained embeddings (std 0.1) BPR is {start:.4f}, next to log 2 = 0.6931: "
            "every difference is near zero, and this is where training starts.")


written("02-5", "multiplying a user's scores by a constant")
written("02-6", "popular items as negatives")

__all__ = ["batch_scores", "binary_loss", "bpr_full", "bpr_loss"]
