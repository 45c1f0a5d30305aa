r"""Hard negatives from random walks: items close to the user in the graph, but not its items.

Introduced in lecture 06 (PinSAGE). :func:`hard_negative_pool` ranks items by
random-walk visits from each user and keeps a window of ranks;
:class:`HardNegatives` trains with the shared negatives of
:mod:`~gnnrec_lite.negatives.shared` plus ``h`` negatives per user drawn
from that pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .. import walks
from .._checks import as_index_tensor, check_choice, check_int
from ..interactions import Interactions, rows_mask
from ..models.base import EmbeddingModel
from .base import Step, to_device
from .shared import SharedNegatives, shared_step_loss


@dataclass
class HardNegativePool:
    """Each user's hard-negative candidates, stored CSR-style.

    ``items[indptr[r]:indptr[r + 1]]`` are the candidates of ``users[r]``,
    ordered from most to least visited. ``row_of`` maps a user id to its row
    (``-1`` for users without a pool).
    """

    users: Tensor  # (S,) int64
    indptr: Tensor  # (S + 1,) int64
    items: Tensor  # (nnz,) int64
    row_of: Tensor  # (num_users,) int64

    def pool(self, user: int) -> Tensor:
        """The candidates of one user, most visited first."""
        row = int(self.row_of[user])
        if row < 0:
            raise ValueError(f"user {user} has no hard-negative pool")
        return self.items[self.indptr[row]:self.indptr[row + 1]]

    def sizes(self) -> Tensor:
        return self.indptr[1:] - self.indptr[:-1]  # (S,)

    def sample(self, users: Tensor, k: int, *, generator: torch.Generator | None = None) -> Tensor:
        """``(B, k)`` items drawn uniformly, with replacement, from each user's pool."""
        k = check_int("k", k, minimum=0)
        rows = self.row_of[users]  # (B,)
        if (rows < 0).any():
            bad = int(users[rows < 0][0])
            raise ValueError(f"user {bad} has no hard-negative pool")
        size = (self.indptr[rows + 1] - self.indptr[rows])[:, None]  # (B, 1), >= 1 by construction
        offset = (torch.rand(users.numel(), k, generator=generator) * size).long()  # (B, k)
        return self.items[self.indptr[rows][:, None] + offset]  # (B, k)


DEFAULT_HARD_WINDOW = (0.05, 0.25)


def hard_negative_pool(train: Interactions, users, *, window=None, method: str = "walk", num_walks: int = 200,
                       num_hops: int = 20, restart_prob: float = 0.5, seed: int = 0) -> HardNegativePool:
    r"""Hard negatives per user: items close to the user in the graph, but not its items.

    Introduced in lecture 06 (PinSAGE). For each start user :math:`u`, items are
    ranked by their visit count :math:`c_u(v)` under random walks with restart
    from :math:`u` (``method="walk"``, :func:`~gnnrec_lite.walks.visit_counts`)
    or by the exact expected visit share :math:`(\pi_u P_{UI})_v`
    (``method="ppr"``, :func:`~gnnrec_lite.walks.personalized_pagerank`). The
    user's training items are dropped, leaving :math:`C_u = |I| - \deg(u)`
    candidates, and the ranks :math:`[lo, hi)` of what is left form the pool:

    .. math::
        \mathcal{H}_u = \{\, v_{(r)} : lo \le r < hi \,\}, \qquad
        c_u(v_{(0)}) \ge c_u(v_{(1)}) \ge \dots, \quad v_{(r)} \notin N(u).

    Ties (e.g. items no walk reached) go to the lower item id.

    **The window.** PinSAGE keeps ranks 2000-5000 of a catalogue of billions: a
    tiny top slice, yet it skips the first 2000 because the very closest
    unseen items are often items the user would like (false negatives). On a
    small catalogue fixed ranks do not transfer (ML-100K has 1,682 items), so
    the window scales with the candidate count. ``window`` is either

    * two floats ``(f_lo, f_hi)`` with ``0 <= f_lo < f_hi <= 1``: fractions of
      :math:`C_u`, ``lo = floor(f_lo C_u)``, ``hi = max(ceil(f_hi C_u), lo + 1)``,
      so every user with a candidate gets a non-empty pool; or
    * two ints ``(lo, hi)`` with ``0 <= lo < hi``: absolute ranks as in the
      lecture; ``hi`` is clipped to :math:`C_u`, and a user with
      :math:`C_u \le lo` (nothing left in the window) is an error.

    The default ``(0.05, 0.25)`` skips the closest 5% of the candidates (on
    ML-100K about 80 items, where a user's held-out items concentrate) and keeps
    the next 20% (about 320 items): close, but not too close.

    Args:
        train (Interactions): the graph; its items are each user's positives.
        users (array of int): start users ``(S,)``; each needs a training interaction.
        window (tuple, optional): the rank window, see above. (default: ``(0.05, 0.25)``)
        method (str): ``"walk"`` (Monte-Carlo, scales) or ``"ppr"`` (exact, dense: small graphs).
        num_walks, num_hops, restart_prob, seed: of the walks, see
            :func:`~gnnrec_lite.walks.visit_counts`; ``method="ppr"`` uses only ``restart_prob``.

    Returns:
        :class:`HardNegativePool` for ``users``; never contains a training positive.

    Raises:
        ValueError: a bad ``window``, ``method``, ``restart_prob``, ``num_walks`` or
            ``num_hops``; a user without interactions; an empty pool (a user who has
            every item, or integer ranks past the user's candidates).
    """
    users = as_index_tensor("users", users, size=train.num_users)
    lo_f, hi_f, as_fraction = _check_window(window)
    check_choice("method", method, ("walk", "ppr"))
    if method == "walk":
        scores = walks.visit_counts(train, users, num_walks=num_walks, num_hops=num_hops,
                                    restart_prob=restart_prob, seed=seed)  # (S, I)
    else:
        scores = walks.personalized_pagerank(train, users, restart_prob=restart_prob)  # (S, I)
    scores = scores.to(torch.float64)
    num_items = train.num_items
    owned = rows_mask(*train.csr(), users, num_items)  # (S, I) the users' training items
    scores = scores.masked_fill(owned, -1.0)  # positives sort after every candidate (scores are >= 0)
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices  # (S, I), ties to the lower id
    cand = num_items - owned.sum(1)  # (S,) candidates C_u
    if (cand == 0).any():
        bad = int(users[cand == 0][0])
        raise ValueError(f"user {bad} has every item: its hard-negative pool is empty")
    if as_fraction:
        lo = torch.floor(lo_f * cand.double()).long()
        hi = torch.maximum(torch.ceil(hi_f * cand.double()).long(), lo + 1)
    else:
        lo = torch.full_like(cand, int(lo_f))
        hi = torch.minimum(torch.full_like(cand, int(hi_f)), cand)
        if (cand <= lo).any():
            r = int(torch.nonzero(cand <= lo)[0])
            raise ValueError(f"window {window!r} starts past the {int(cand[r])} candidates of user "
                             f"{int(users[r])}: its hard-negative pool is empty")
    rank = torch.arange(num_items)[None, :]  # (1, I)
    keep = (rank >= lo[:, None]) & (rank < hi[:, None])  # (S, I)
    ptr = torch.zeros(users.numel() + 1, dtype=torch.int64)
    ptr[1:] = torch.cumsum(keep.sum(1), 0)
    row_of = torch.full((train.num_users,), -1, dtype=torch.int64)
    row_of[users] = torch.arange(users.numel())
    return HardNegativePool(users=users, indptr=ptr, items=order[keep], row_of=row_of)


def _check_window(window) -> tuple[float, float, bool]:
    """``(lo, hi, as_fraction)`` from a window, or a ValueError naming ``window``."""
    if window is None:
        window = DEFAULT_HARD_WINDOW
    try:
        lo, hi = window
    except (TypeError, ValueError):
        raise ValueError(f"window must be a pair (lo, hi), got {window!r}") from None
    ints = all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in (lo, hi))
    floats = all(isinstance(x, float) for x in (lo, hi))
    if not (ints or floats):
        raise ValueError(f"window must be two ints (ranks) or two floats (fractions), got {window!r}")
    if floats and not (0.0 <= lo < hi <= 1.0):
        raise ValueError(f"window as fractions needs 0 <= lo < hi <= 1, got {window!r}")
    if ints and not (0 <= lo < hi):
        raise ValueError(f"window as ranks needs 0 <= lo < hi, got {window!r}")
    return float(lo), float(hi), floats


class HardNegatives(SharedNegatives):
    """Shared negatives plus ``num_hard`` hard negatives per user from :func:`hard_negative_pool`.

    Args:
        train (Interactions): the positive edges; every user who can be drawn gets a pool.
        num_shared (int): shared negatives per batch. (default: 256)
        num_hard (int): hard negatives per user. (default: 2)
        window, method: of :func:`hard_negative_pool`.
        draw (str), seed (int): as in :class:`~gnnrec_lite.negatives.base.NegativeStrategy`.
    """

    name = "hard"

    def __init__(self, train: Interactions, *, num_shared: int = 256, num_hard: int = 2, window=None,
                 method: str = "walk", draw: str = "users", seed: int = 0) -> None:
        super().__init__(train, num_shared=num_shared, draw=draw, seed=seed)
        self.num_hard = check_int("num_hard", num_hard, minimum=0)
        self.pool = hard_negative_pool(train, self.sampler.active, window=window, method=method, seed=seed)

    @classmethod
    def from_config(cls, train: Interactions, config) -> HardNegatives:
        return cls(train, num_shared=config.num_shared, num_hard=config.num_hard, window=config.hard_window,
                   method=config.hard_method, draw=config.draw, seed=config.seed)

    def hard_negatives(self, epoch: int) -> int:
        return self.num_hard

    def step(self, model: EmbeddingModel, batch_size: int, epoch: int, reg: float) -> Step:
        users, pos, shared = self.sample(batch_size)  # (B,), (B,), (M,)
        valid = ~self.clashes(users, shared)  # (B, M)
        h = self.hard_negatives(epoch)
        hard = self.pool.sample(users, h, generator=self.sampler.generator) if h else None  # (B, h)
        users, pos, shared, valid = to_device(model.device, users, pos, shared, valid)
        hard = None if hard is None else hard.to(model.device)
        loss = shared_step_loss(model, users, pos, shared, reg, valid=valid, hard=hard)
        return Step(loss, shared.numel() + (hard.numel() if hard is not None else 0))  # M (+ B * h)
