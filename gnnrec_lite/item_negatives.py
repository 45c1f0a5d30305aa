r"""Negatives for item-to-item training: shared by a batch, drawn per pair, and hard ones from random walks.

Introduced in lecture 06. For a batch of related pairs :math:`(q, p)`,

* **shared** negatives are one set of :math:`M` items for the whole batch
  (Ying et al., KDD 2018, section 3.3): the batch embeds :math:`M` extra
  items, however many pairs it holds;
* **per-pair** negatives are :math:`M` items for every pair: :math:`B M`
  extra items, each with its own computation graph unless items repeat;
* **hard** negatives are items close to the query in the graph but not its
  positives: ranked by visits of walks with restart from the query
  (:func:`~gnnrec_lite.walks.item_visit_counts`), the query and its training
  partners removed, a window of ranks kept, as
  :func:`~gnnrec_lite.negatives.hard_negative_pool` does for users.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import as_index_tensor, check_int
from .interactions import Interactions
from .negatives.hard import HardNegativePool, _check_window
from .walks import item_visit_counts


def hard_item_pool(train: Interactions, pairs: Tensor, *, window=None, num_walks: int = 200, num_hops: int = 10,
                   restart_prob: float = 0.5, seed: int = 0, chunk_size: int = 4_000_000) -> HardNegativePool:
    r"""Hard negatives per query item: a window of its walk ranking, its positives left out.

    For each query :math:`q` of ``pairs``, items are ranked by visit count
    :math:`c_q(v)`; :math:`q` and its partners :math:`P(q)` in ``pairs`` are
    dropped, leaving :math:`C_q` candidates (items with training edges), and the ranks
    :math:`[lo, hi)` of what is left form the pool:

    .. math::
        \mathcal{H}_q = \{\, v_{(r)} : lo \le r < hi \,\}, \qquad
        c_q(v_{(0)}) \ge c_q(v_{(1)}) \ge \dots, \quad v_{(r)} \notin P(q) \cup \{q\}.

    ``window`` is as in :func:`~gnnrec_lite.negatives.hard_negative_pool`:
    fractions of :math:`C_q` (default ``(0.05, 0.25)``, which skips the items
    closest to the query, where its held-out partners are likely to be) or
    absolute ranks. Ties go to the lower item id.

    Args:
        train (Interactions): the graph the walks run on; every query needs an interaction there.
        pairs (Tensor): ``(P, 2)`` training pairs ``(query, partner)``.
        window (tuple, optional): the rank window. (default: ``(0.05, 0.25)``)
        num_walks, num_hops, restart_prob, seed: of the walks (:func:`~gnnrec_lite.walks.item_visit_counts`).
        chunk_size (int): bound on ``queries * num_items`` count cells held at once.

    Returns:
        :class:`~gnnrec_lite.negatives.hard.HardNegativePool` whose ``users``
        are the query items and ``row_of`` is indexed by item id.
    """
    pairs = torch.as_tensor(pairs)
    queries = as_index_tensor("pairs", pairs[:, 0], size=train.num_items).unique()  # (S,)
    partners = as_index_tensor("pairs", pairs[:, 1], size=train.num_items)
    lo_f, hi_f, as_fraction = _check_window(window)
    num_items = train.num_items
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    isolated = train.item_degree() == 0  # (I,)
    row_of = torch.full((num_items,), -1, dtype=torch.int64)
    row_of[queries] = torch.arange(queries.numel())
    lengths, chunks = torch.zeros(queries.numel(), dtype=torch.int64), []
    step = max(1, check_int("chunk_size", chunk_size, minimum=1) // num_items)
    for lo in range(0, queries.numel(), step):
        chunk = queries[lo:lo + step]  # (S,)
        counts = item_visit_counts(train, chunk, num_walks=num_walks, num_hops=num_hops,
                                   restart_prob=restart_prob, generator=gen).double()  # (S, I)
        counts[torch.arange(chunk.numel()), chunk] = -1.0  # the query itself
        counts[:, isolated] = -1.0  # items without edges (cold ones) are never training negatives
        mine = (row_of[pairs[:, 0]] >= lo) & (row_of[pairs[:, 0]] < lo + step)
        counts[row_of[pairs[mine, 0]] - lo, partners[mine]] = -1.0  # its positives sort after every candidate
        order = torch.sort(counts, dim=1, descending=True, stable=True).indices  # (S, I), ties to the lower id
        cand = (counts >= 0).sum(1)  # (S,) C_q
        first, last = _window_bounds(cand, lo_f, hi_f, as_fraction, window)
        rank = torch.arange(num_items)[None, :]
        keep = (rank >= first[:, None]) & (rank < last[:, None])  # (S, I)
        chunks.append(order[keep])
        lengths[lo:lo + step] = keep.sum(1)
    ptr = torch.zeros(queries.numel() + 1, dtype=torch.int64)
    ptr[1:] = torch.cumsum(lengths, 0)
    return HardNegativePool(users=queries, indptr=ptr, items=torch.cat(chunks), row_of=row_of)


def _window_bounds(cand: Tensor, lo_f: float, hi_f: float, as_fraction: bool, window) -> tuple[Tensor, Tensor]:
    """First and one-past-last rank of each row's pool; an empty pool is an error."""
    if (cand == 0).any():
        raise ValueError("a query item has every other item as a positive: its hard-negative pool is empty")
    if as_fraction:
        lo = torch.floor(lo_f * cand.double()).long()
        return lo, torch.maximum(torch.ceil(hi_f * cand.double()).long(), lo + 1)
    if (cand <= lo_f).any():
        raise ValueError(f"window {window!r} starts past the {int(cand.min())} candidates of a query item")
    return torch.full_like(cand, int(lo_f)), torch.minimum(torch.full_like(cand, int(hi_f)), cand)


def draw_negatives(candidates: Tensor, num_queries: int, num_negatives: int, *, per_pair: bool,
                   generator: torch.Generator | None = None) -> Tensor:
    """Uniform negatives from ``candidates``: ``(M,)`` shared by the batch, or ``(B, M)`` with ``per_pair``."""
    shape = (num_queries, num_negatives) if per_pair else (num_negatives,)
    return candidates[torch.randint(candidates.numel(), shape, generator=generator)]


__all__ = ["draw_negatives", "hard_item_pool"]
