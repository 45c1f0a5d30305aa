"""Mini-batch sampling for BPR training.

Introduced in lecture 02: a mini-batch samples users :math:`U_{mini}`; each
gets one positive item and a set of uniformly sampled negative items.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_int
from .interactions import Interactions


def sample_bpr_batch(
    train: Interactions,
    batch_size: int,
    *,
    num_negatives: int = 1,
    generator: torch.Generator | None = None,
    reject_positives: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """Sample ``(users, pos_items, neg_items)`` for mini-batch BPR.

    Users are drawn uniformly among those with a training item, each with one
    of its items uniformly at random; negatives are uniform over the catalogue.

    Args:
        train (Interactions): the positive edges.
        batch_size (int): number of sampled users ``B``.
        num_negatives (int): negatives per user ``M``. (default: 1)
        generator (torch.Generator, optional): for reproducible draws.
        reject_positives (bool): redraw negatives that are positives of the
            user (a few rounds; a user who has every item keeps its draw).

    Returns:
        ``users (B,)``, ``pos_items (B,)``, ``neg_items (B, M)``, all int64.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    num_negatives = check_int("num_negatives", num_negatives, minimum=1)
    if len(train) == 0:
        raise ValueError("train is empty: there is nothing to sample")
    indptr, indices = train.csr()
    degree = indptr[1:] - indptr[:-1]
    active = torch.nonzero(degree > 0).flatten()
    users = active[torch.randint(active.numel(), (batch_size,), generator=generator)]  # (B,)
    offset = (torch.rand(batch_size, generator=generator) * degree[users]).long()
    pos_items = indices[indptr[users] + offset]  # (B,)
    neg_items = torch.randint(train.num_items, (batch_size, num_negatives), generator=generator)  # (B, M)
    if reject_positives:
        keys = indices + torch.repeat_interleave(torch.arange(train.num_users), degree) * train.num_items
        for _ in range(10):
            clash = torch.isin(users[:, None] * train.num_items + neg_items, keys)
            if not clash.any():
                break
            neg_items[clash] = torch.randint(train.num_items, (int(clash.sum()),), generator=generator)
    return users, pos_items, neg_items
