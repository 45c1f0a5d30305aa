"""Mini-batch sampling for BPR training.

Introduced in lecture 02: a mini-batch samples users :math:`U_{mini}`; each
gets one positive item and a set of uniformly sampled negative items.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import _compat
from ._checks import check_choice, check_int
from .interactions import Interactions, sorted_member

DRAWS = ("users", "edges")  # how a batch's (user, positive) pairs are drawn


class BPRSampler:
    """Draws BPR mini-batches from fixed training interactions (the CSR is built once).

    Args:
        train (Interactions): the positive edges.
        num_negatives (int): negatives per positive ``M``. (default: 1)
        draw (str): ``"users"`` draws users uniformly, then one of each user's
            items, as the lecture describes; ``"edges"`` draws training
            interactions uniformly, so active users appear more often, as in
            the LightGCN authors' code. (default: ``"users"``)
        reject_positives (bool): redraw negatives that are positives of the
            user, so none is returned (a user who has every item keeps its draw).
        seed (int): seeds the sampler's own generator. (default: 0)
    """

    def __init__(self, train: Interactions, *, num_negatives: int = 1, draw: str = "users",
                 reject_positives: bool = True, seed: int = 0) -> None:
        self.num_negatives = check_int("num_negatives", num_negatives, minimum=1)
        self.draw = check_choice("draw", draw, DRAWS)
        if len(train) == 0:
            raise ValueError("train is empty: there is nothing to sample")
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
        if self.draw == "users":
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
    draw: str = "users",
    reject_positives: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """One BPR mini-batch ``(users (B,), pos_items (B,), neg_items (B, M))``.

    A one-off convenience around :class:`BPRSampler` (see it for the
    arguments); ``generator``, when given, replaces the seeded one. For
    training, build one sampler and call ``sample`` often.
    """
    sampler = BPRSampler(train, num_negatives=num_negatives, draw=draw,
                         reject_positives=reject_positives, seed=seed)
    if generator is not None:
        sampler.generator = generator
    return sampler.sample(batch_size)


def __getattr__(name: str):  # names that moved to gnnrec_lite.negatives keep working from here
    return _compat.moved_attribute(__name__, name)
