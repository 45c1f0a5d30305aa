r"""Recall@K and its family: how many of a user's future items made the top-K list.

Introduced in lecture 01. For a user :math:`u` with future positives
:math:`P_u` and top-K list :math:`R_u` (already-seen training items excluded,
see :func:`~gnnrec_lite.ranking.recommend`):

.. math::
    \text{Recall@}K(u) = \frac{|P_u \cap R_u|}{|P_u|}, \qquad
    \text{Precision@}K(u) = \frac{|P_u \cap R_u|}{K}, \qquad
    \text{HitRate@}K(u) = [\,|P_u \cap R_u| > 0\,]

.. math::
    \text{NDCG@}K(u) = \frac{\sum_{r=1}^{K} [R_u(r) \in P_u] / \log_2(r+1)}
                           {\sum_{r=1}^{\min(|P_u|, K)} 1 / \log_2(r+1)}

The reported value is the mean over users with at least one positive; users
without positives are left out (their per-user value is NaN). ``P_u`` is a set:
a repeated test pair counts once.

:func:`recall_at_k` and its three siblings are written as the formulas, one
user at a time, for reading. :func:`ranking_metrics` computes all four at
several cutoffs in one batched pass; it is what :func:`evaluate` uses, and a
test checks that the two agree.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._checks import as_index_tensor, check_choice, check_k, check_ks
from .interactions import Interactions, sorted_member
from .ranking import Scorer, recommend, topk_from_scores  # noqa: F401  (topk_from_scores: kept importable here)

METRICS = ("recall", "precision", "ndcg", "hit_rate")


# ----------------------------------------------------------------- the formulas, one user at a time
def recall_at_k(recommended: Tensor, test: Interactions, k: int, *, users=None, reduction: str = "mean"):
    r"""Recall@K: the share of each user's test positives found in the top ``k``, averaged over users.

    :math:`\text{Recall@}K(u) = |P_u \cap R_u| / |P_u|`.

    Args:
        recommended (LongTensor): ``(U, K)`` top lists from
            :func:`~gnnrec_lite.ranking.recommend`, row ``j`` belonging to
            user ``users[j]`` (default: row ``u`` is user ``u``); ``K >= k``.
        test (Interactions): the held-out positives :math:`P_u`.
        k (int): the cutoff.
        reduction (str): ``"mean"`` gives a float; ``"none"`` a float64
            tensor ``(test.num_users,)``, NaN for users not evaluated.
    """
    def recall(P_u: set, R_u: list) -> float:
        return len(P_u & set(R_u)) / len(P_u)
    return _average_over_users(recall, recommended, test, k, users, reduction)


def precision_at_k(recommended: Tensor, test: Interactions, k: int, *, users=None, reduction: str = "mean"):
    r"""Precision@K: the share of the ``k`` slots that hold a test positive (a ``-1`` pad never does).

    :math:`\text{Precision@}K(u) = |P_u \cap R_u| / K`; arguments as in :func:`recall_at_k`.
    """
    def precision(P_u: set, R_u: list) -> float:
        return len(P_u & set(R_u)) / len(R_u)
    return _average_over_users(precision, recommended, test, k, users, reduction)


def hit_rate_at_k(recommended: Tensor, test: Interactions, k: int, *, users=None, reduction: str = "mean"):
    r"""HitRate@K: the share of users with at least one test positive in their top ``k``.

    :math:`\text{HitRate@}K(u) = [\,|P_u \cap R_u| > 0\,]`; arguments as in :func:`recall_at_k`.
    """
    def hit(P_u: set, R_u: list) -> float:
        return float(len(P_u & set(R_u)) > 0)
    return _average_over_users(hit, recommended, test, k, users, reduction)


def ndcg_at_k(recommended: Tensor, test: Interactions, k: int, *, users=None, reduction: str = "mean"):
    r"""NDCG@K: hits discounted by :math:`1/\log_2(r+1)` at rank :math:`r`, over the best possible list.

    Unlike Recall@K, a hit at rank 1 counts more than a hit at rank ``k``;
    arguments as in :func:`recall_at_k`.
    """
    def ndcg(P_u: set, R_u: list) -> float:
        dcg = sum(1 / math.log2(r + 1) for r, item in enumerate(R_u, start=1) if item in P_u)
        ideal = sum(1 / math.log2(r + 1) for r in range(1, min(len(P_u), len(R_u)) + 1))
        return dcg / ideal
    return _average_over_users(ndcg, recommended, test, k, users, reduction)


def _average_over_users(formula, recommended: Tensor, test: Interactions, k: int, users, reduction: str):
    """``formula(P_u, R_u)`` for every user with a test positive, then the mean (or the per-user tensor)."""
    k = check_k(k)
    recommended, users, _ = _check_inputs(recommended, test, k, users, reduction)
    positives: dict[int, set] = {}
    for u, v in zip(test.user.tolist(), test.item.tolist()):
        positives.setdefault(u, set()).add(v)
    per_user = torch.full((test.num_users,), math.nan, dtype=torch.float64)
    for u, R_u in zip(users.tolist(), recommended[:, :k].tolist()):
        if u in positives:  # users without test positives are left out
            per_user[u] = formula(positives[u], R_u)
    evaluated = per_user[users]
    if torch.isnan(evaluated).all():
        raise ValueError("none of the evaluated users has a test positive")
    return per_user if reduction == "none" else float(evaluated[~torch.isnan(evaluated)].mean())


# ----------------------------------------------------------------- all four at once, batched
def hits_matrix(recommended: Tensor, test: Interactions, *, users=None) -> Tensor:
    """``(U, k)`` bool: is the item at each rank a test positive of that user?"""
    recommended, users = _check_recommended(recommended, test, users)
    key = torch.sort(test.user * test.num_items + test.item).values  # sorted (user, item) keys
    rec_key = users[:, None] * test.num_items + recommended.clamp(min=0)  # (U, k)
    return sorted_member(rec_key, key) & (recommended >= 0)


def ranking_metrics(recommended: Tensor, test: Interactions, k=(10, 20), *, users=None,
                    reduction: str = "mean") -> dict:
    """Recall, Precision, NDCG and HitRate at each cutoff in ``k``, in one batched pass.

    Arguments as in :func:`recall_at_k`, with ``k`` an int or a list of cutoffs.

    Returns:
        dict with keys like ``"recall@20"`` (and ``"users"``, the number of
        users averaged over, when ``reduction="mean"``).
    """
    recommended, users, ks = _check_inputs(recommended, test, k, users, reduction)
    hits = hits_matrix(recommended, test, users=users).double()  # (U, K)
    pairs = torch.unique(test.user * test.num_items + test.item)  # P_u are sets: repeats count once
    num_pos = torch.bincount(pairs // test.num_items, minlength=test.num_users)[users].double()  # (U,) |P_u|
    valid = num_pos > 0
    if not valid.any():
        raise ValueError("none of the evaluated users has a test positive")
    discount = 1.0 / torch.log2(torch.arange(2, recommended.shape[1] + 2, dtype=torch.float64))  # (K,)
    ideal = torch.cumsum(discount, 0)  # ideal DCG for 1..K positives
    out: dict = {}
    for kk in ks:
        found = hits[:, :kk].sum(1)  # (U,) |P_u ∩ R_u|
        values = {
            "recall": found / num_pos.clamp(min=1),
            "precision": found / kk,
            "ndcg": (hits[:, :kk] * discount[:kk]).sum(1) / ideal[(num_pos.clamp(min=1, max=kk) - 1).long()],
            "hit_rate": (found > 0).double(),
        }
        for name in METRICS:
            per_user = torch.full((test.num_users,), math.nan, dtype=torch.float64)
            per_user[users[valid]] = values[name][valid]
            out[f"{name}@{kk}"] = per_user if reduction == "none" else float(values[name][valid].mean())
    if reduction == "mean":
        out["users"] = int(valid.sum())
    return out


def _check_inputs(recommended: Tensor, test: Interactions, k, users, reduction: str):
    """``(recommended, users, ks)`` checked against each other, or an error naming the argument."""
    check_choice("reduction", reduction, ("mean", "none"))
    ks = check_ks(k)
    recommended, users = _check_recommended(recommended, test, users)
    if ks[-1] > recommended.shape[1]:
        raise ValueError(f"k must be <= the length of the recommended lists ({recommended.shape[1]}), "
                         f"got {ks[-1]}")
    if len(test) == 0:
        raise ValueError("test is empty: there are no positives to recall")
    return recommended, users, ks


def _check_recommended(recommended: Tensor, test: Interactions, users) -> tuple[Tensor, Tensor]:
    if not isinstance(test, Interactions):
        raise TypeError(f"test must be Interactions, got {type(test).__name__}")
    if not isinstance(recommended, Tensor) or recommended.dim() != 2:
        raise ValueError("recommended must be a 2-D LongTensor of item ids (users x k)")
    if recommended.is_floating_point() or recommended.dtype == torch.bool:
        raise TypeError(f"recommended must hold item ids, got dtype {recommended.dtype}")
    recommended = recommended.long().cpu()
    if recommended.numel() and (recommended.min() < -1 or recommended.max() >= test.num_items):
        raise ValueError(f"recommended holds ids outside -1..{test.num_items - 1}")
    if users is None:
        if recommended.shape[0] != test.num_users:
            raise ValueError(f"recommended has {recommended.shape[0]} rows but test has {test.num_users} users; "
                             "pass users= to say which users the rows are")
        return recommended, torch.arange(test.num_users)
    users = as_index_tensor("users", users, size=test.num_users)
    if users.numel() != recommended.shape[0]:
        raise ValueError(f"users has {users.numel()} ids for {recommended.shape[0]} rows of recommended")
    return recommended, users


def evaluate(scorer: Scorer, train: Interactions, test: Interactions, k=(10, 20), *,
             batch_size: int | None = None, reduction: str = "mean") -> dict:
    """Full-ranking evaluation: rank every item for every test user, train items excluded.

    ``scorer`` takes any form :func:`~gnnrec_lite.ranking.recommend` accepts.
    Only the ``(users, max k)`` lists are kept, so memory stays bounded for
    large catalogues.
    """
    if train.num_users != test.num_users or train.num_items != test.num_items:
        raise ValueError(f"train ({train.num_users} x {train.num_items}) and test "
                         f"({test.num_users} x {test.num_items}) must share the id spaces")
    ks = check_ks(k, maximum=train.num_items)
    users = torch.unique(test.user)
    if users.numel() == 0:
        raise ValueError("test is empty: there are no positives to recall")
    recommended = recommend(scorer, ks[-1], exclude=train, users=users, batch_size=batch_size)
    return ranking_metrics(recommended, test, ks, users=users, reduction=reduction)


__all__ = ["METRICS", "evaluate", "hit_rate_at_k", "hits_matrix", "ndcg_at_k", "precision_at_k", "ranking_metrics",
           "recall_at_k", "recommend", "topk_from_scores"]
