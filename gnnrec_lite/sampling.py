"""Mini-batch sampling for BPR training.

Introduced in lecture 02: a mini-batch samples users :math:`U_{mini}`; each
gets one positive item and a set of uniformly sampled negative items.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ._checks import as_index_tensor, check_int
from .interactions import Interactions, sorted_member


class BPRSampler:
    """Draws BPR mini-batches from fixed training interactions (the CSR is built once).

    Args:
        train (Interactions): the positive edges.
        num_negatives (int): negatives per positive ``M``. (default: 1)
        mode (str): ``"users"`` draws users uniformly, then one of each user's
            items, as the lecture describes; ``"edges"`` draws training
            interactions uniformly, so active users appear more often, as in
            the LightGCN authors' code. (default: ``"users"``)
        reject_positives (bool): redraw negatives that are positives of the
            user, so none is returned (a user who has every item keeps its draw).
        seed (int): seeds the sampler's own generator. (default: 0)
    """

    def __init__(self, train: Interactions, *, num_negatives: int = 1, mode: str = "users",
                 reject_positives: bool = True, seed: int = 0) -> None:
        self.num_negatives = check_int("num_negatives", num_negatives, minimum=1)
        if mode not in ("users", "edges"):
            raise ValueError(f"mode must be 'users' or 'edges', got {mode!r}")
        if len(train) == 0:
            raise ValueError("train is empty: there is nothing to sample")
        self.mode = mode
        self.reject_positives = bool(reject_positives)
        self.num_users, self.num_items = train.num_users, train.num_items
        self.indptr, self.indices = train.csr()
        self.degree = self.indptr[1:] - self.indptr[:-1]
        self.active = torch.nonzero(self.degree > 0).flatten()
        self.edge_user = torch.repeat_interleave(torch.arange(train.num_users), self.degree)
        self.keys = self.edge_user * train.num_items + self.indices  # sorted (user, item) keys
        self.generator = torch.Generator().manual_seed(check_int("seed", seed))

    def sample(self, batch_size: int) -> tuple[Tensor, Tensor, Tensor]:
        """``users (B,)``, ``pos_items (B,)``, ``neg_items (B, M)``, all int64."""
        batch_size = check_int("batch_size", batch_size, minimum=1)
        gen = self.generator
        if self.mode == "users":
            users = self.active[torch.randint(self.active.numel(), (batch_size,), generator=gen)]  # (B,)
            offset = (torch.rand(batch_size, generator=gen) * self.degree[users]).long()
            pos_items = self.indices[self.indptr[users] + offset]  # (B,)
        else:
            edges = torch.randint(self.indices.numel(), (batch_size,), generator=gen)
            users, pos_items = self.edge_user[edges], self.indices[edges]
        neg_items = torch.randint(self.num_items, (batch_size, self.num_negatives), generator=gen)  # (B, M)
        if self.reject_positives:
            self._reject(users, neg_items)
        return users, pos_items, neg_items

    def _reject(self, users: Tensor, neg_items: Tensor) -> None:
        """Redraw negatives that are positives, in place: a few cheap rounds, then exactly."""
        gen = self.generator
        for _ in range(5):
            clash = sorted_member(users[:, None] * self.num_items + neg_items, self.keys)
            if not clash.any():
                return
            neg_items[clash] = torch.randint(self.num_items, (int(clash.sum()),), generator=gen)
        # what is left belongs to users who hold much of the catalogue: draw from their complement
        for row, col in torch.nonzero(clash).tolist():
            u = int(users[row])
            owned = self.indices[self.indptr[u]:self.indptr[u + 1]]
            free = torch.ones(self.num_items, dtype=torch.bool)
            free[owned] = False
            choices = torch.nonzero(free).flatten()
            if choices.numel():  # a user who has every item keeps its draw
                neg_items[row, col] = choices[torch.randint(choices.numel(), (1,), generator=gen)]


def sample_bpr_batch(
    train: Interactions,
    batch_size: int,
    *,
    num_negatives: int = 1,
    seed: int = 0,
    mode: str = "users",
    reject_positives: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """One BPR mini-batch ``(users (B,), pos_items (B,), neg_items (B, M))``.

    A one-off convenience around :class:`BPRSampler` (see it for the
    arguments); ``generator``, when given, replaces the seeded one. For
    training, build one sampler and call ``sample`` often.
    """
    sampler = BPRSampler(train, num_negatives=num_negatives, mode=mode,
                         reject_positives=reject_positives, seed=seed)
    if generator is not None:
        sampler.generator = generator
    return sampler.sample(batch_size)


# ------------------------------------------------------------------ lecture 06: PinSAGE-style negatives
class SharedNegativeSampler(BPRSampler):
    r"""BPR batches whose ``M`` uniform negatives are shared by every user of the batch.

    Introduced in lecture 06 (PinSAGE). With per-user negatives a batch needs
    :math:`|U_{mini}| \cdot |V_{neg}|` negative item embeddings; sharing one set
    :math:`V_{neg}` needs only :math:`|V_{neg}|`, a saving by a factor of
    :math:`|U_{mini}|`. Scores become one matrix product,

    .. math::
        S_{neg} = Z_U[U_{mini}]\, Z_I[V_{neg}]^\top \in \mathbb{R}^{B \times M}.

    Shared negatives are drawn uniformly from all items, without rejection: a
    shared negative may be a positive of some user in the batch. :meth:`clashes`
    finds those (user, negative) pairs so that the loss can leave them out.

    Args:
        train (Interactions): the positive edges.
        num_negatives (int): shared negatives per batch, ``M``. (default: 64)
        mode (str): how users are drawn, as in :class:`BPRSampler`.
        seed (int): seeds the sampler's own generator.

    Shapes:
        ``sample(B)`` returns ``users (B,)``, ``pos_items (B,)``, ``neg_items (M,)``.
    """

    def __init__(self, train: Interactions, *, num_negatives: int = 64, mode: str = "users", seed: int = 0) -> None:
        super().__init__(train, num_negatives=num_negatives, mode=mode, reject_positives=False, seed=seed)

    def sample(self, batch_size: int) -> tuple[Tensor, Tensor, Tensor]:
        """``users (B,)``, ``pos_items (B,)``, ``neg_items (M,)`` shared by the whole batch, all int64."""
        users, pos_items, _ = super().sample(batch_size)  # the (B, M) per-user draw is discarded
        neg_items = torch.randint(self.num_items, (self.num_negatives,), generator=self.generator)  # (M,)
        return users, pos_items, neg_items

    def clashes(self, users: Tensor, neg_items: Tensor) -> Tensor:
        """``(B, M)`` bool, True where shared negative ``m`` is a training positive of user ``b``."""
        return self.positive_mask(users)[:, neg_items]  # (B, M)

    def positive_mask(self, users: Tensor) -> Tensor:
        """``(B, num_items)`` bool, True at each batch user's training items (a scatter, no search)."""
        deg = self.degree[users]  # (B,)
        rows = torch.arange(users.numel()).repeat_interleave(deg)  # one entry per (batch user, item)
        first = torch.cumsum(deg, 0) - deg
        at = self.indptr[users].repeat_interleave(deg) + torch.arange(rows.numel()) - first.repeat_interleave(deg)
        mask = torch.zeros(users.numel(), self.num_items, dtype=torch.bool)
        mask[rows, self.indices[at]] = True
        return mask

    def hard(self, pool: HardNegativePool, users: Tensor, k: int) -> Tensor:
        """``k`` hard negatives per user ``(B, k)``, uniform within each user's pool, from this generator."""
        return pool.sample(users, k, generator=self.generator)


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
    from . import walks

    users = as_index_tensor("users", users, size=train.num_users)
    lo_f, hi_f, as_fraction = _check_window(window)
    if method == "walk":
        scores = walks.visit_counts(train, users, num_walks=num_walks, num_hops=num_hops,
                                    restart_prob=restart_prob, seed=seed)  # (S, I)
    elif method == "ppr":
        scores = walks.personalized_pagerank(train, users, restart_prob=restart_prob)  # (S, I)
    else:
        raise ValueError(f"method must be 'walk' or 'ppr', got {method!r}")
    scores = scores.to(torch.float64)
    num_items = train.num_items
    indptr, indices = train.csr()
    owned = torch.zeros(users.numel(), num_items, dtype=torch.bool)  # (S, I)
    deg = (indptr[1:] - indptr[:-1])[users]  # (S,)
    rows = torch.arange(users.numel()).repeat_interleave(deg)
    first = torch.cumsum(deg, 0) - deg  # (S,) where each user's run starts in `rows`
    cols = indices[indptr[users].repeat_interleave(deg) + torch.arange(rows.numel()) - first.repeat_interleave(deg)]
    owned[rows, cols] = True
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


@dataclass(frozen=True)
class CurriculumSchedule:
    r"""How many hard negatives each user gets per epoch, on top of the shared ones.

    Introduced in lecture 06 (PinSAGE): at epoch :math:`n` (from 1), add
    :math:`n - 1` hard negatives, so negatives get harder as training goes on:

    .. math::
        h(n) = \min\big(\text{max\_hard},\ \text{step} \cdot (n - 1)\big).

    Args:
        max_hard (int): the cap. (default: 8)
        step (int): hard negatives added per epoch. (default: 1, as in the lecture)
    """

    max_hard: int = 8
    step: int = 1

    def __post_init__(self) -> None:
        check_int("max_hard", self.max_hard, minimum=0)
        check_int("step", self.step, minimum=0)

    def __call__(self, epoch: int) -> int:
        epoch = check_int("epoch", epoch, minimum=1)
        return min(self.max_hard, self.step * (epoch - 1))


def distance_weighted_negatives(anchors: Tensor, candidates: Tensor, num_samples: int, *, cutoff: float = 0.5,
                                nonzero_loss_cutoff: float = 1.4, exclude: Tensor | None = None,
                                generator: torch.Generator | None = None, return_distances: bool = False,
                                density: str = "sphere", num_bins: int = 18):
    r"""Distance-weighted negative sampling (Wu et al., ICCV 2017, "Sampling Matters in Deep Embedding Learning").

    Introduced in lecture 06. On the unit sphere in :math:`D` dimensions,
    pairwise distances of random points follow

    .. math::
        q(d) \propto d^{D-2} \left(1 - \tfrac{d^2}{4}\right)^{\frac{D-3}{2}},

    sharply peaked near :math:`\sqrt 2` in high dimension, so uniform
    negatives all sit at about the same distance. Sampling candidate :math:`n`
    for anchor :math:`a` with probability

    .. math::
        P(n \mid a) \propto \frac{1}{q(\max(d_{an}, \text{cutoff}))}\,
            [\, d_{an} < \text{nonzero\_loss\_cutoff} \,]

    spreads the sampled distances roughly uniformly over
    ``[cutoff, nonzero_loss_cutoff]`` (0.5 and 1.4 in the paper): the cutoff
    tempers the huge weights of very close (noisy) pairs, and pairs beyond 1.4
    would give no loss in the paper's margin loss. Weights are computed in log
    space and normalized by the row maximum before exponentiating. A row left
    with no positive weight falls back to uniform over its allowed candidates.

    Args:
        anchors (Tensor): ``(B, D)`` query embeddings (users); L2-normalized here.
        candidates (Tensor): ``(N, D)`` candidate embeddings (items); L2-normalized here.
        num_samples (int): negatives per anchor, ``M``, drawn with replacement.
        cutoff (float): lower clip of the distance. (default: 0.5)
        nonzero_loss_cutoff (float): candidates at this distance or farther get weight 0. (default: 1.4)
        exclude (Tensor, optional): ``(B, N)`` bool, True where a candidate must
            never be drawn (the anchor's positives).
        generator (torch.Generator, optional): for the draw.
        return_distances (bool): also return the sampled distances ``(B, M)``.
        density (str): ``"sphere"`` uses the paper's :math:`q(d)`, exact for
            points spread uniformly on the sphere. Trained embeddings are not:
            they cluster, so many pairs fall below the cutoff, where the
            clipped weight is largest, and the draws pile up there.
            ``"empirical"`` divides by each anchor's own histogram of
            distances instead (``num_bins`` bins over ``[cutoff,
            nonzero_loss_cutoff)``, each bin gets equal mass, closer pairs weight 0),
            which makes the sampled distances roughly uniform over that range for
            any embedding. (default: ``"sphere"``)
        num_bins (int): histogram bins for ``density="empirical"``. (default: 18)

    Returns:
        int64 ``(B, M)`` candidate indices, and their distances if asked.
    """
    num_samples = check_int("num_samples", num_samples, minimum=1)
    if anchors.dim() != 2 or candidates.dim() != 2 or anchors.shape[1] != candidates.shape[1]:
        raise ValueError(f"anchors (B, D) and candidates (N, D) must share D, got {tuple(anchors.shape)} "
                         f"and {tuple(candidates.shape)}")
    dim = anchors.shape[1]
    if dim < 3:
        raise ValueError(f"distance weighting needs D >= 3 dimensions, got {dim}")
    if not 0 < cutoff < nonzero_loss_cutoff <= 2:
        raise ValueError(f"need 0 < cutoff < nonzero_loss_cutoff <= 2, got cutoff={cutoff}, "
                         f"nonzero_loss_cutoff={nonzero_loss_cutoff}")
    with torch.no_grad():
        a = torch.nn.functional.normalize(anchors.detach().float(), dim=1)
        c = torch.nn.functional.normalize(candidates.detach().float(), dim=1)
        dist = (2 - 2 * a @ c.T).clamp(min=0).sqrt()  # (B, N), in [0, 2]
        if density == "sphere":
            d = dist.clamp(min=cutoff)
            log_q = (dim - 2) * d.log() + (dim - 3) / 2 * (1 - d.pow(2) / 4).clamp(min=1e-30).log()  # (B, N)
            log_w = -log_q
            allowed = dist < nonzero_loss_cutoff  # (B, N)
        elif density == "empirical":
            num_bins = check_int("num_bins", num_bins, minimum=1)
            allowed = (dist >= cutoff) & (dist < nonzero_loss_cutoff)  # (B, N)
            width = (nonzero_loss_cutoff - cutoff) / num_bins
            bins = ((dist - cutoff) / width).floor().long().clamp(0, num_bins - 1)  # (B, N)
            counts = torch.zeros(dist.shape[0], num_bins).scatter_add_(1, bins, allowed.float())  # (B, bins)
            log_w = -counts.gather(1, bins).clamp(min=1).log()  # 1 / (candidates in the same bin)
        else:
            raise ValueError(f"density must be 'sphere' or 'empirical', got {density!r}")
        free = torch.ones_like(allowed) if exclude is None else ~exclude.to(allowed.device)
        log_w = log_w.masked_fill(~(allowed & free), -math.inf)
        empty = ~torch.isfinite(log_w).any(1)  # (B,) rows with nothing in range
        log_w[empty] = torch.zeros_like(log_w[empty]).masked_fill(~free[empty], -math.inf)
        if (~torch.isfinite(log_w).any(1)).any():
            raise ValueError("exclude leaves an anchor with no candidate")
        w = (log_w - log_w.max(1, keepdim=True).values).exp()  # (B, N), max 1 per row
        idx = torch.multinomial(w, num_samples, replacement=True, generator=generator)  # (B, M)
    if return_distances:
        return idx, dist.gather(1, idx).to(anchors.dtype)
    return idx
