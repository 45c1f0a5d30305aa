r"""Uniform negatives: ``M`` items per user, drawn uniformly, never one of the user's positives.

Introduced in lecture 02 (sampling) and lecture 03 (the training recipe). The
step's loss is mini-batch BPR,

.. math::
    \mathcal{L} = \frac{1}{|U_{mini}|} \sum_{u} \frac{1}{M} \sum_{j=1}^{M}
        -\log \sigma\big(f(u, v_{pos}) - f(u, v_{neg,j})\big),

plus the L2 term of :mod:`~gnnrec_lite.negatives.base`. It needs
:math:`|U_{mini}| \cdot M` negative embeddings per step.
"""

from __future__ import annotations

import torch

from ..losses import bpr_loss
from ..models.base import EmbeddingModel
from .base import NegativeStrategy, Step, l2_penalty, pair_scores, to_device


class UniformNegatives(NegativeStrategy):
    """``M`` uniform negatives per user (the course's default recipe, ``M = 4``)."""

    name = "uniform"

    def step(self, model: EmbeddingModel, batch_size: int, epoch: int, reg: float) -> Step:
        users, pos, neg = to_device(model.device, *self.sampler.sample(batch_size))  # (B,), (B,), (B, M)
        return Step(bpr_step_loss(model, users, pos, neg, reg), neg.numel())


def bpr_step_loss(model: EmbeddingModel, users, pos, neg, reg: float, *, scores=None):
    """BPR plus the L2 term for one batch: ``users (B,)``, ``pos (B,)``, ``neg (B, M)``.

    ``scores``, when given, is ``(u (B, D'), item_z (I, D'))`` from an
    encoder pass the caller already made.
    """
    if scores is None:
        u, item_z, pos_scores = pair_scores(model, users, pos)
    else:
        u, item_z = scores
        pos_scores = (u * item_z[pos]).sum(-1)  # (B,)
    neg_scores = torch.einsum("bd,bmd->bm", u, item_z[neg])  # (B, M)
    loss = bpr_loss(pos_scores, neg_scores)
    if reg:
        loss = loss + l2_penalty(model, users, pos, model.item_emb(neg).pow(2).sum(), neg.shape[1], reg)
    return loss
