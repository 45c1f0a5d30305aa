r"""Baselines that need no training: most popular, and item-kNN over co-interactions.

Introduced in lecture 01 (most popular) and lecture 03 (item-kNN).

**Most popular** shows every user the items with the most training
interactions that the user has not seen yet.

**Item-kNN** is the classic neighbourhood method of collaborative filtering
(Sarwar et al., WWW 2001): two items are similar when the same users
interacted with both, measured by the cosine of their user columns of
:math:`R`,

.. math::
    s_{ij} = \frac{|U(i) \cap U(j)|}{\sqrt{|U(i)|\,|U(j)|}}, \qquad i \ne j,

each item keeps its ``num_neighbors`` most similar items :math:`N_k(i)`, and
a user's score for item :math:`i` sums the similarities to the items the
user has:

.. math::
    \text{score}(u, i) = \sum_{j \in N(u) \cap N_k(i)} s_{ij}.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_int, quiet_sparse_csr
from .interactions import Interactions, rows_mask


def most_popular(train: Interactions) -> Tensor:
    """Item scores ``(num_items,)`` equal to training popularity, shared by all users.

    Pass the result as the scorer of :func:`gnnrec_lite.metrics.evaluate`.
    """
    return train.item_degree().float()


def item_similarities(train: Interactions, *, num_neighbors: int = 100, chunk_size: int = 512) -> Tensor:
    r"""The sparse ``(I, I)`` matrix of :math:`s_{ij}`, each row keeping its ``num_neighbors`` largest.

    Ties at the cut go to the lower item id; zero similarities are dropped;
    repeated (user, item) pairs count once. Items are processed
    ``chunk_size`` at a time, so memory stays at ``chunk_size x (U + I)``
    dense entries however large the catalogue.
    """
    num_neighbors = check_int("num_neighbors", num_neighbors, minimum=1)
    chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    num_users, num_items = train.num_users, train.num_items
    pairs = torch.unique(train.user * num_items + train.item)
    user, item = pairs // num_items, pairs % num_items
    with quiet_sparse_csr():
        r_t = torch.sparse_coo_tensor(torch.stack([item, user]), torch.ones(pairs.numel()), (num_items, num_users),
                                      check_invariants=True).coalesce().to_sparse_csr()  # (I, U), 0/1
    deg = torch.bincount(item, minlength=num_items).float()  # |U(i)|
    keep = min(num_neighbors, num_items - 1)
    rows, cols, vals = [], [], []
    for lo in range(0, num_items, chunk_size):
        hi = min(lo + chunk_size, num_items)
        block = torch.zeros(num_users, hi - lo)  # (U, C): the users of items lo..hi-1
        sel = (item >= lo) & (item < hi)
        block[user[sel], item[sel] - lo] = 1.0
        with quiet_sparse_csr():
            common = torch.sparse.mm(r_t, block).T  # (C, I): |U(i) ∩ U(j)|
        sims = common / (deg[lo:hi, None] * deg[None, :]).sqrt().clamp(min=1e-12)  # (C, I)
        sims[torch.arange(hi - lo), torch.arange(lo, hi)] = 0.0  # never its own neighbour
        top_v, top_j = torch.sort(sims, dim=1, descending=True, stable=True)  # ties: lower id first
        top_v, top_j = top_v[:, :keep], top_j[:, :keep]  # (C, k)
        nonzero = top_v > 0
        rows.append(torch.arange(lo, hi)[:, None].expand_as(top_j)[nonzero])
        cols.append(top_j[nonzero])
        vals.append(top_v[nonzero])
    index = torch.stack([torch.cat(rows), torch.cat(cols)])
    return torch.sparse_coo_tensor(index, torch.cat(vals), (num_items, num_items), check_invariants=True).coalesce()


def item_knn(train: Interactions, *, num_neighbors: int = 100):
    """Item-kNN as a scorer for :func:`~gnnrec_lite.metrics.evaluate`: ``users (B,) -> scores (B, I)``.

    Args:
        train (Interactions): the interactions that give the similarities and each user's items.
        num_neighbors (int): ``k``, similar items kept per item. (default: 100)
    """
    sims = item_similarities(train, num_neighbors=num_neighbors)  # (I, I), row i holds N_k(i)
    indptr, indices = train.csr()

    def scores(users: Tensor) -> Tensor:
        owned = rows_mask(indptr, indices, users.cpu(), train.num_items).float()  # (B, I): [j in N(u)]
        return torch.sparse.mm(sims, owned.T).T  # (B, I): sum_j s_ij [j in N(u)]

    return scores


__all__ = ["item_knn", "item_similarities", "most_popular"]
