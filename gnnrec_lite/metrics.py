r"""Top-K recommendation and the Recall@K family of metrics.

Introduced in lecture 01. For a user :math:`u` with future positives
:math:`P_u` and top-K list :math:`R_u` (already-seen training items excluded):

.. math::
    \text{Recall@}K(u) = \frac{|P_u \cap R_u|}{|P_u|}, \qquad
    \text{Precision@}K(u) = \frac{|P_u \cap R_u|}{K}, \qquad
    \text{HitRate@}K(u) = [\,|P_u \cap R_u| > 0\,]

.. math::
    \text{NDCG@}K(u) = \frac{\sum_{r=1}^{K} [R_u(r) \in P_u] / \log_2(r+1)}
                           {\sum_{r=1}^{\min(|P_u|, K)} 1 / \log_2(r+1)}

The reported value is the mean over users with at least one positive; users
without positives are left out (their per-user value is NaN).

Edge cases, defined once here:

* **Ties** are broken by the lower item id, so results never depend on the
  order in which torch happens to return equal scores.
* **K larger than a user's candidates** (items not excluded): the list is
  padded with ``-1``, which is never a hit; Precision@K still divides by K.
  ``k`` larger than ``num_items`` is an error.
* **Scores** must be finite: NaN or infinity is an error, not a silent rank.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Union

import torch
from torch import Tensor

from ._checks import as_index_tensor, check_int, check_k, check_ks, check_scores
from .interactions import Interactions, sorted_member

Scorer = Union[Tensor, tuple, Callable[[Tensor], Tensor]]  # noqa: UP007  (a runtime alias; 3.10 lacks X | Y here)
METRICS = ("recall", "precision", "ndcg", "hit_rate")
_ELEMENTS_PER_BATCH = 1 << 22  # scores held at once: 16 MB of float32, cache-friendly


def topk_from_scores(scores: Tensor, k: int, *, exclude: Tensor | None = None) -> Tensor:
    """Indices of the ``k`` highest scores in each row, ties to the lower index.

    Args:
        scores (Tensor): ``(B, num_items)`` finite scores.
        k (int): list length, ``1 <= k <= num_items``.
        exclude (Tensor, optional): ``(B, num_items)`` bool, True where an
            item must not be recommended (e.g. training items).

    Returns:
        LongTensor ``(B, k)``, best first; ``-1`` pads rows with fewer than
        ``k`` candidates.
    """
    check_scores("scores", scores, ndim=2)
    k = check_k(k, maximum=scores.shape[1])
    if exclude is not None and (exclude.shape != scores.shape or exclude.dtype != torch.bool):
        raise ValueError(f"exclude must be a bool tensor of shape {tuple(scores.shape)}, "
                         f"got {exclude.dtype} {tuple(exclude.shape)}")
    return _topk_rows(scores, k, exclude)


def _topk_rows(scores: Tensor, k: int, exclude: Tensor | None) -> Tensor:
    """:func:`topk_from_scores` without the argument checks."""
    if exclude is not None:
        scores = scores.masked_fill(exclude, -math.inf)
    vals, idx = torch.topk(scores, k, dim=1)  # (B, k)
    kth = vals[:, -1:]  # (B, 1)
    ambiguous = ((scores >= kth).sum(1) > k).nonzero().flatten()  # rows with ties across the cut
    if ambiguous.numel():
        idx[ambiguous] = _exact_topk(scores[ambiguous], kth[ambiguous], k)
    idx = idx.sort(dim=1).values  # ascending ids, then a stable sort by score
    vals = scores.gather(1, idx)
    order = torch.sort(vals, dim=1, descending=True, stable=True).indices
    idx, vals = idx.gather(1, order), vals.gather(1, order)
    return idx.masked_fill(vals == -math.inf, -1)


def _exact_topk(scores: Tensor, kth: Tensor, k: int) -> Tensor:
    """All items above the cut plus the lowest-id items that tie with it."""
    above = scores > kth
    tied = scores == kth
    need = k - above.sum(1, keepdim=True)
    chosen = above | (tied & (tied.cumsum(1) <= need))  # exactly k per row
    return chosen.nonzero()[:, 1].view(-1, k)


def recommend(
    scorer: Scorer,
    k: int,
    *,
    exclude: Interactions | None = None,
    users=None,
    num_items: int | None = None,
    batch_size: int | None = None,
) -> Tensor:
    """Top-``k`` items for each user, training items excluded, batched over users.

    Args:
        scorer: one of
            ``(user_emb, item_emb)`` with shapes ``(U, D)`` and ``(I, D)``
            (score = dot product); a dense ``(U, I)`` score tensor; a 1-D
            ``(I,)`` tensor of scores shared by every user (e.g. popularity);
            or a callable mapping a LongTensor of user ids ``(B,)`` to scores
            ``(B, I)``.
        k (int): list length.
        exclude (Interactions, optional): items each user must not get,
            normally the training interactions.
        users (array of int, optional): which users; default all.
        num_items (int, optional): needed only for a callable scorer without
            ``exclude`` to know the catalogue size.
        batch_size (int, optional): users scored at once; by default as many as
            keep one score block near 4M entries (16 MB), so memory stays
            bounded however large the catalogue.

    Returns:
        LongTensor ``(len(users), k)`` on the CPU; ``-1`` where a user has
        fewer than ``k`` candidates.
    """
    score_rows, num_users, num_items = _as_score_rows(scorer, exclude, num_items)
    k = check_k(k, maximum=num_items)
    if users is None and num_users is None:
        raise ValueError("pass users= (or exclude) so the users to rank are known")
    users = (torch.arange(num_users) if users is None
             else as_index_tensor("users", users, size=num_users))
    if batch_size is None:
        batch_size = max(1, _ELEMENTS_PER_BATCH // num_items)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    indptr = indices = None
    if exclude is not None:
        indptr, indices = exclude.csr()
    out = torch.empty(users.numel(), k, dtype=torch.int64)
    for start in range(0, users.numel(), batch_size):
        batch = users[start:start + batch_size]
        scores = score_rows(batch)  # (B, I)
        if scores.shape != (batch.numel(), num_items):
            raise ValueError(f"scorer returned shape {tuple(scores.shape)} for {batch.numel()} users, "
                             f"expected {(batch.numel(), num_items)}")
        if not torch.isfinite(scores.sum()):  # cheap: any NaN or inf makes the sum non-finite
            check_scores("scores", scores)  # the exact check, which names the problem
        mask = None
        if indptr is not None:
            mask = _row_mask(indptr, indices, batch, num_items).to(scores.device)
        out[start:start + batch.numel()] = _topk_rows(scores, k, mask).cpu()
        del scores, mask  # free this block before the next one is computed
    return out


def _as_score_rows(scorer: Scorer, exclude: Interactions | None, num_items: int | None):
    """Normalize the accepted scorer forms to ``(rows(user_ids) -> scores, num_users, num_items)``."""
    if exclude is not None and not isinstance(exclude, Interactions):
        raise TypeError(f"exclude must be Interactions or None, got {type(exclude).__name__}")
    if isinstance(scorer, tuple):
        if len(scorer) != 2:
            raise ValueError(f"scorer tuple must be (user_emb, item_emb), got {len(scorer)} items")
        user_emb, item_emb = scorer
        check_scores("user_emb", user_emb, ndim=2)
        check_scores("item_emb", item_emb, ndim=2)
        if user_emb.shape[1] != item_emb.shape[1]:
            raise ValueError(f"user_emb and item_emb must share the embedding size, "
                             f"got {user_emb.shape[1]} and {item_emb.shape[1]}")
        user_emb, item_emb = user_emb.detach(), item_emb.detach()
        rows = lambda b: user_emb[b.to(user_emb.device)] @ item_emb.T  # noqa: E731  (B, I)
        sizes = (user_emb.shape[0], item_emb.shape[0])
    elif isinstance(scorer, Tensor) and scorer.dim() == 2:
        check_scores("scorer", scorer)
        dense = scorer.detach()
        rows = lambda b: dense[b.to(dense.device)]  # noqa: E731
        sizes = tuple(dense.shape)
    elif isinstance(scorer, Tensor) and scorer.dim() == 1:
        check_scores("scorer", scorer)
        shared = scorer.detach()
        rows = lambda b: shared.expand(b.numel(), -1)  # noqa: E731
        sizes = (exclude.num_users if exclude is not None else None, shared.shape[0])
    elif callable(scorer):
        def rows(b):
            with torch.no_grad():
                return scorer(b)
        sizes = (exclude.num_users if exclude is not None else None,
                 exclude.num_items if exclude is not None else num_items)
    else:
        raise TypeError("scorer must be (user_emb, item_emb), a score tensor or a callable, "
                        f"got {type(scorer).__name__}")
    num_users, n_items = sizes
    if exclude is not None:
        if num_users is not None and num_users != exclude.num_users:
            raise ValueError(f"scorer has {num_users} users but exclude has {exclude.num_users}")
        if n_items != exclude.num_items:
            raise ValueError(f"scorer has {n_items} items but exclude has {exclude.num_items}")
        num_users = exclude.num_users
    if n_items is None:
        raise ValueError("pass exclude (or num_items) so the catalogue size is known")
    if num_items is not None and num_items != n_items:
        raise ValueError(f"num_items is {num_items} but the scorer has {n_items} items")
    return rows, num_users, n_items


def _row_mask(indptr: Tensor, indices: Tensor, users: Tensor, num_items: int) -> Tensor:
    """Dense ``(B, num_items)`` bool mask of the CSR rows ``users``."""
    starts, ends = indptr[users], indptr[users + 1]
    counts = ends - starts
    rows = torch.repeat_interleave(torch.arange(users.numel()), counts)
    offsets = torch.arange(int(counts.sum())) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    cols = indices[torch.repeat_interleave(starts, counts) + offsets]
    mask = torch.zeros(users.numel(), num_items, dtype=torch.bool)
    mask[rows, cols] = True
    return mask


def hits_matrix(recommended: Tensor, test: Interactions, *, users=None) -> Tensor:
    """``(U, k)`` bool: is the item at each rank a test positive of that user?"""
    recommended, users = _check_recommended(recommended, test, users)
    key = torch.sort(test.user * test.num_items + test.item).values  # sorted (user, item) keys
    rec_key = users[:, None] * test.num_items + recommended.clamp(min=0)  # (U, k)
    return sorted_member(rec_key, key) & (recommended >= 0)


def ranking_metrics(recommended: Tensor, test: Interactions, k=(10, 20), *, users=None,
                    reduction: str = "mean") -> dict:
    """Recall, Precision, NDCG and HitRate at each cutoff in ``k``.

    Args:
        recommended (LongTensor): ``(U, K)`` top lists from :func:`recommend`,
            row ``j`` belonging to user ``users[j]`` (default: row ``u`` is user
            ``u``); ``K`` must be at least ``max(k)``.
        test (Interactions): the held-out positives :math:`P_u`.
        k (int or list of int): cutoffs.
        reduction (str): ``"mean"`` gives floats averaged over users with a
            positive; ``"none"`` gives per-user float64 tensors of length
            ``test.num_users`` with NaN for users not evaluated.

    Returns:
        dict with keys like ``"recall@20"`` (and ``"users"``, the number of
        users averaged over, when ``reduction="mean"``).
    """
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    ks = check_ks(k)
    recommended, users = _check_recommended(recommended, test, users)
    if ks[-1] > recommended.shape[1]:
        raise ValueError(f"k must be <= the length of the recommended lists ({recommended.shape[1]}), "
                         f"got {ks[-1]}")
    if len(test) == 0:
        raise ValueError("test is empty: there are no positives to recall")
    hits = hits_matrix(recommended, test, users=users).double()  # (U, K)
    pairs = torch.unique(test.user * test.num_items + test.item)  # P_u are sets: repeats count once
    num_pos = torch.bincount(pairs // test.num_items, minlength=test.num_users)[users].double()  # (U,)
    valid = num_pos > 0
    if not valid.any():
        raise ValueError("none of the evaluated users has a test positive")
    discount = 1.0 / torch.log2(torch.arange(2, recommended.shape[1] + 2, dtype=torch.float64))  # (K,)
    ideal = torch.cumsum(discount, 0)  # ideal DCG for 1..K positives
    out: dict = {}
    for kk in ks:
        found = hits[:, :kk].sum(1)
        values = {
            "recall": found / num_pos.clamp(min=1),
            "precision": found / kk,
            "ndcg": (hits[:, :kk] * discount[:kk]).sum(1)
            / ideal[(num_pos.clamp(min=1, max=kk) - 1).long()],
            "hit_rate": (found > 0).double(),
        }
        for name in METRICS:
            per_user = torch.full((test.num_users,), math.nan, dtype=torch.float64)
            per_user[users[valid]] = values[name][valid]
            out[f"{name}@{kk}"] = per_user if reduction == "none" else float(values[name][valid].mean())
    if reduction == "mean":
        out["users"] = int(valid.sum())
    return out


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
        users = torch.arange(test.num_users)
    else:
        users = as_index_tensor("users", users, size=test.num_users)
        if users.numel() != recommended.shape[0]:
            raise ValueError(f"users has {users.numel()} ids for {recommended.shape[0]} rows of recommended")
    return recommended, users


def _one(name: str):
    def metric(recommended: Tensor, test: Interactions, k: int, *, users=None, reduction: str = "mean"):
        k = check_k(k)
        return ranking_metrics(recommended, test, k, users=users, reduction=reduction)[f"{name}@{k}"]
    metric.__name__ = f"{name}_at_k"
    metric.__doc__ = (f"{name.replace('_', ' ').title()}@K of top lists against ``test`` "
                      "(see :func:`ranking_metrics` for the arguments).")
    return metric


recall_at_k = _one("recall")
precision_at_k = _one("precision")
ndcg_at_k = _one("ndcg")
hit_rate_at_k = _one("hit_rate")


def evaluate(scorer: Scorer, train: Interactions, test: Interactions, k=(10, 20), *,
             batch_size: int | None = None, reduction: str = "mean") -> dict:
    """Full-ranking evaluation: rank every item for every test user, train items excluded.

    ``scorer`` takes any form :func:`recommend` accepts. Only the ``(users,
    max k)`` lists are kept, so memory stays bounded for large catalogues.
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
