"""Top-K recommendation: the ``k`` best unseen items per user, from scores in any of the course's forms.

Introduced in lecture 01. :func:`recommend` ranks every item for each user,
leaves out the items to exclude (normally the user's training items) and keeps
the ``k`` best; :mod:`~gnnrec_lite.metrics` then measures those lists.

Edge cases, defined once here:

* **Ties** are broken by the lower item id, so results never depend on the
  order in which torch happens to return equal scores.
* **K larger than a user's candidates** (items not excluded): the list is
  padded with ``-1``, which is never a hit. ``k`` larger than ``num_items`` is
  an error.
* **Scores** must be finite: NaN or infinity is an error, not a silent rank.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Union

import torch
from torch import Tensor

from ._checks import as_index_tensor, check_int, check_k, check_scores
from .interactions import Interactions, rows_mask

Scorer = Union[Tensor, tuple, Callable[[Tensor], Tensor]]  # noqa: UP007  (a runtime alias; 3.10 lacks X | Y here)
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
            mask = rows_mask(indptr, indices, batch, num_items).to(scores.device)
        out[start:start + batch.numel()] = _topk_rows(scores, k, mask).cpu()
        del scores, mask  # free this block before the next one is computed
    return out


def _as_score_rows(scorer: Scorer, exclude: Interactions | None, num_items: int | None):
    """Normalize the accepted scorer forms to ``(rows(user_ids) -> scores, num_users, num_items)``."""
    if exclude is not None and not isinstance(exclude, Interactions):
        raise TypeError(f"exclude must be Interactions or None, got {type(exclude).__name__}")
    rows, num_users, n_items = _score_source(scorer)
    if exclude is not None:
        if num_users is not None and num_users != exclude.num_users:
            raise ValueError(f"scorer has {num_users} users but exclude has {exclude.num_users}")
        n_items = exclude.num_items if n_items is None else n_items
        if n_items != exclude.num_items:
            raise ValueError(f"scorer has {n_items} items but exclude has {exclude.num_items}")
        num_users = exclude.num_users
    if n_items is None and num_items is None:
        raise ValueError("pass exclude (or num_items) so the catalogue size is known")
    if num_items is not None and n_items is not None and num_items != n_items:
        raise ValueError(f"num_items is {num_items} but the scorer has {n_items} items")
    return rows, num_users, n_items if n_items is not None else num_items


def _score_source(scorer: Scorer):
    """``(rows, num_users or None, num_items or None)`` for one scorer form, checked."""
    if isinstance(scorer, tuple):
        return _from_embeddings(scorer)
    if isinstance(scorer, Tensor) and scorer.dim() in (1, 2):
        scores = check_scores("scorer", scorer).detach()
        if scores.dim() == 2:  # (U, I)
            return (lambda b: scores[b.to(scores.device)]), scores.shape[0], scores.shape[1]
        return (lambda b: scores.expand(b.numel(), -1)), None, scores.shape[0]  # (I,) shared by every user
    if callable(scorer):
        def rows(b):
            with torch.no_grad():
                return scorer(b)
        return rows, None, None
    raise TypeError("scorer must be (user_emb, item_emb), a score tensor or a callable, "
                    f"got {type(scorer).__name__}")


def _from_embeddings(scorer: tuple):
    """Dot-product scores of ``(user_emb (U, D), item_emb (I, D))``."""
    if len(scorer) != 2:
        raise ValueError(f"scorer tuple must be (user_emb, item_emb), got {len(scorer)} items")
    user_emb, item_emb = (check_scores(name, t, ndim=2).detach() for name, t in zip(("user_emb", "item_emb"), scorer))
    if user_emb.shape[1] != item_emb.shape[1]:
        raise ValueError(f"user_emb and item_emb must share the embedding size, "
                         f"got {user_emb.shape[1]} and {item_emb.shape[1]}")
    return (lambda b: user_emb[b.to(user_emb.device)] @ item_emb.T), user_emb.shape[0], item_emb.shape[0]  # (B, I)


__all__ = ["Scorer", "recommend", "topk_from_scores"]
