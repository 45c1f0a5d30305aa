r"""Surrogate losses for Recall@K: the binary loss and BPR.

Introduced in lecture 02. With :math:`\sigma` the logistic function,
:math:`E` the positive edges and :math:`E_{neg}` the negative ones:

.. math::
    \mathcal{L}_{binary} = -\frac{1}{|E|} \sum_{(u,v) \in E} \log \sigma(f(u,v))
                           -\frac{1}{|E_{neg}|} \sum_{(u,v) \in E_{neg}} \log(1 - \sigma(f(u,v)))

.. math::
    \mathcal{L}_{BPR} = \frac{1}{|U|} \sum_{u \in U} \frac{1}{|E(u)|\,|E_{neg}(u)|}
        \sum_{v_{pos} \in E(u)} \sum_{v_{neg} \in E_{neg}(u)} -\log \sigma(f(u, v_{pos}) - f(u, v_{neg}))

The binary loss compares every positive with every negative edge across
*all* users; BPR compares them only within each user, as Recall@K does
(Rendle et al., UAI 2009, without the prior on the parameters).

Every log-sigmoid is torch's ``logsigmoid``, which stays finite for scores of
any size (``log(sigmoid(x))`` written out would give ``-inf`` once
``sigmoid(x)`` rounds to 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import check_per_user_scores, check_scores
from .interactions import Interactions


# ----------------------------------------------------------------- mini-batch
def binary_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    """Binary loss from sampled edges: separate means over positive and negative scores.

    Args:
        pos_scores (Tensor): scores of positive edges, any shape (flattened).
        neg_scores (Tensor): scores of negative edges, any shape (flattened).
    """
    check_scores("pos_scores", pos_scores, nonempty=True)
    check_scores("neg_scores", neg_scores, nonempty=True)
    return -F.logsigmoid(pos_scores).mean() - F.logsigmoid(-neg_scores).mean()  # log(1 - σ(x)) = log σ(-x)


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    """Mini-batch BPR: each sampled user has one positive and ``M`` negatives.

    Args:
        pos_scores (Tensor): ``(B,)`` score of each user's positive item.
        neg_scores (Tensor): ``(B, M)`` scores of its negatives, or ``(B,)`` for ``M = 1``.

    Returns:
        scalar: the mean over users and negatives of ``-log sigmoid(pos - neg)``.
    """
    check_scores("pos_scores", pos_scores, ndim=1, nonempty=True)
    neg_scores = check_per_user_scores("neg_scores", neg_scores, batch=pos_scores.shape[0])  # (B, M)
    return -F.logsigmoid(pos_scores[:, None] - neg_scores).mean()


# ----------------------------------------------------------------- full forms
def positive_mask(positives, shape) -> Tensor:
    """A ``(U, I)`` bool mask from Interactions or a bool tensor."""
    if isinstance(positives, Interactions):
        if (positives.num_users, positives.num_items) != tuple(shape):
            raise ValueError(f"positives is {positives.num_users} x {positives.num_items}, "
                             f"scores is {tuple(shape)}")
        mask = torch.zeros(shape, dtype=torch.bool)
        mask[positives.user, positives.item] = True
        return mask
    if isinstance(positives, Tensor) and positives.dtype == torch.bool and positives.shape == tuple(shape):
        return positives.cpu()
    raise TypeError(f"positives must be Interactions or a bool tensor of shape {tuple(shape)}")


def binary_loss_full(scores: Tensor, positives) -> Tensor:
    """The binary loss over all ``U x I`` pairs: observed ones positive, the rest negative.

    Args:
        scores (Tensor): ``(U, I)`` scores.
        positives: :class:`Interactions` or ``(U, I)`` bool mask.
    """
    check_scores("scores", scores, ndim=2)
    mask = positive_mask(positives, scores.shape).to(scores.device)
    if mask.all() or not mask.any():
        raise ValueError("positives must leave at least one positive and one negative pair")
    return binary_loss(scores[mask], scores[~mask])


def bpr_loss_full(scores: Tensor, positives) -> Tensor:
    """BPR over all pairs: per user, every positive against every negative; then the mean over users.

    Users with no positive or no negative have no pair and are left out.
    Memory is ``O(I^2)`` per user: meant for small examples, not training.
    """
    check_scores("scores", scores, ndim=2)
    mask = positive_mask(positives, scores.shape).to(scores.device)
    per_user = []
    for u in range(scores.shape[0]):
        pos, neg = scores[u][mask[u]], scores[u][~mask[u]]
        if pos.numel() and neg.numel():
            per_user.append(-F.logsigmoid(pos[:, None] - neg[None, :]).mean())  # (P, N) pairs -> ()
    if not per_user:
        raise ValueError("positives leave no user with both a positive and a negative item")
    return torch.stack(per_user).mean()
