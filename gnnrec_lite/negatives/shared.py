r"""Shared negatives: one set of ``M`` uniform items for the whole mini-batch.

Introduced in lecture 06 (PinSAGE). With per-user negatives a batch needs
:math:`|U_{mini}| \cdot |V_{neg}|` negative item embeddings; sharing one set
:math:`V_{neg}` needs only :math:`|V_{neg}|`, a saving by a factor of
:math:`|U_{mini}|`. Scores become one matrix product,

.. math::
    S_{neg} = Z_U[U_{mini}]\, Z_I[V_{neg}]^\top \in \mathbb{R}^{B \times M}.

Shared negatives are drawn without rejection, so one may be a positive of some
user in the batch; those (user, negative) pairs are left out of the loss, the
mean of :math:`-\log\sigma(s_{pos} - s_{neg})` over the pairs that remain.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..interactions import Interactions, rows_mask
from ..models.base import EmbeddingModel
from .base import NegativeStrategy, Step, l2_penalty, pair_scores, to_device


class SharedNegatives(NegativeStrategy):
    """``num_shared`` uniform negatives per batch (``M``, default 256), shared by all its users."""

    name = "shared"

    def __init__(self, train: Interactions, *, num_shared: int = 256, draw: str = "users", seed: int = 0) -> None:
        super().__init__(train, num_negatives=num_shared, draw=draw, seed=seed, reject_positives=False)

    @classmethod
    def from_config(cls, train: Interactions, config) -> SharedNegatives:
        return cls(train, num_shared=config.num_shared, draw=config.draw, seed=config.seed)

    def sample(self, batch_size: int) -> tuple[Tensor, Tensor, Tensor]:
        """``users (B,)``, ``pos_items (B,)``, ``neg_items (M,)`` shared by the whole batch, all int64."""
        users, pos_items, _ = self.sampler.sample(batch_size)  # the (B, M) per-user draw is not used
        neg_items = torch.randint(self.sampler.num_items, (self.sampler.num_negatives,),
                                  generator=self.sampler.generator)  # (M,)
        return users, pos_items, neg_items

    def clashes(self, users: Tensor, neg_items: Tensor) -> Tensor:
        """``(B, M)`` bool, True where shared negative ``m`` is a training positive of user ``b``."""
        s = self.sampler
        return rows_mask(s.indptr, s.indices, users, s.num_items)[:, neg_items]  # (B, M)

    def step(self, model: EmbeddingModel, batch_size: int, epoch: int, reg: float) -> Step:
        users, pos, shared = self.sample(batch_size)  # (B,), (B,), (M,)
        valid = ~self.clashes(users, shared)  # (B, M)
        users, pos, shared, valid = to_device(model.device, users, pos, shared, valid)
        return Step(shared_step_loss(model, users, pos, shared, reg, valid=valid), shared.numel())


def shared_step_loss(model: EmbeddingModel, users, pos, shared, reg: float, *, valid=None, hard=None):
    r"""BPR with negatives shared by the batch, plus optional per-user hard negatives.

    Shared scores are one product ``(B, M)``; hard scores are per user
    ``(B, h)``. The loss is the mean of :math:`-\log\sigma(s_{pos} - s_{neg})`
    over the valid pairs, and the L2 term counts each shared negative once
    per user, as per-user negatives would.

    Shapes:
        ``users (B,)``, ``pos (B,)``, ``shared (M,)``, ``valid (B, M)`` bool, ``hard (B, h)``.
    """
    u, item_z, pos_scores = pair_scores(model, users, pos)
    neg_scores = u @ item_z[shared].T  # (B, M)
    mask = torch.ones_like(neg_scores, dtype=torch.bool) if valid is None else valid
    if hard is not None and hard.numel():
        neg_scores = torch.cat([neg_scores, torch.einsum("bd,bhd->bh", u, item_z[hard])], dim=1)  # (B, M + h)
        mask = torch.cat([mask, torch.ones_like(hard, dtype=torch.bool)], dim=1)
    pairs = -torch.nn.functional.logsigmoid(pos_scores[:, None] - neg_scores)  # (B, M + h)
    loss = (pairs * mask).sum() / mask.sum().clamp(min=1)
    if reg:
        squares = users.numel() * model.item_emb(shared).pow(2).sum()  # each shared negative, once per user
        if hard is not None and hard.numel():
            squares = squares + model.item_emb(hard).pow(2).sum()
        loss = loss + l2_penalty(model, users, pos, squares, neg_scores.shape[1], reg)
    return loss
