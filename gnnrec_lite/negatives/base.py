r"""What every negative strategy shares: a batch of (user, positive) pairs and BPR with an L2 term.

Introduced in lecture 03 (the loop) and lecture 06 (the strategies). A
strategy owns how its negatives are drawn and the loss of one training step;
:func:`~gnnrec_lite.train.train_bpr` only asks it for that loss. Every
strategy adds the same L2 term on the batch's *initial* embeddings
:math:`E^{(0)}`, as in the LightGCN paper:

.. math::
    \frac{\lambda}{2 |U_{mini}|} \Big(\|\mathbf{e}_u\|^2 + \|\mathbf{e}_{pos}\|^2
        + \tfrac{1}{M} \textstyle\sum_j \|\mathbf{e}_{neg,j}\|^2\Big)

summed over the batch, where the :math:`M` negatives are those the user was
scored against.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..interactions import Interactions
from ..models.base import EmbeddingModel
from ..sampling import BPRSampler


@dataclass
class Step:
    """One training step's loss and how many negative item embeddings it used.

    The count is what lecture 06's saving is about: ``B * M`` for per-user
    negatives, ``M`` for negatives shared by the batch (plus ``B * h`` for
    ``h`` hard ones per user).
    """

    loss: Tensor
    negative_embeddings: int


class NegativeStrategy:
    """Base class: draws the batch's users and positives; subclasses add negatives and the loss.

    Args:
        train (Interactions): the positive edges.
        num_negatives (int): negatives per user (per batch, for shared ones), ``M``.
        draw (str): how users are drawn, as in :class:`~gnnrec_lite.sampling.BPRSampler`.
        seed (int): seeds the strategy's own generator.
    """

    name = "base"

    def __init__(self, train: Interactions, *, num_negatives: int, draw: str = "users", seed: int = 0,
                 reject_positives: bool = True) -> None:
        self.sampler = BPRSampler(train, num_negatives=num_negatives, draw=draw,
                                  reject_positives=reject_positives, seed=seed)

    @classmethod
    def from_config(cls, train: Interactions, config) -> NegativeStrategy:
        """Build from a :class:`~gnnrec_lite.train.TrainConfig`."""
        return cls(train, num_negatives=config.num_negatives, draw=config.draw, seed=config.seed)

    def hard_negatives(self, epoch: int) -> int | None:
        """Hard negatives per user at ``epoch`` (``None`` for strategies without any)."""
        return None

    def step(self, model: EmbeddingModel, batch_size: int, epoch: int, reg: float) -> Step:
        raise NotImplementedError  # pragma: no cover - every strategy defines its step

    def __repr__(self) -> str:
        return f"{type(self).__name__}(M={self.sampler.num_negatives}, draw={self.sampler.draw!r})"


def l2_penalty(model: EmbeddingModel, users: Tensor, pos: Tensor, negative_squares: Tensor,
               negatives_per_user: int, reg: float) -> Tensor:
    """The L2 term above, with ``negative_squares`` the sum of the squared norms over every (user, negative) pair."""
    e_u, e_p = model.user_emb(users), model.item_emb(pos)  # (B, D), initial embeddings
    l2 = e_u.pow(2).sum() + e_p.pow(2).sum() + negative_squares / negatives_per_user
    return reg * l2 / (2 * users.numel())


def pair_scores(model: EmbeddingModel, users: Tensor, pos: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(u (B, D'), item_z (I, D'), pos_scores (B,))``: one encoder pass and the positives' scores."""
    user_z, item_z = model()
    u = user_z[users]  # (B, D')
    return u, item_z, (u * item_z[pos]).sum(-1)  # (B,)


def to_device(device: torch.device, *tensors: Tensor) -> tuple[Tensor, ...]:
    return tuple(t.to(device) for t in tensors)
