"""Baselines that need no training.

Introduced in lecture 01: the most-popular recommender shows every user the
items with the most training interactions that the user has not seen yet.
"""

from __future__ import annotations

from torch import Tensor

from .interactions import Interactions


def most_popular(train: Interactions) -> Tensor:
    """Item scores ``(num_items,)`` equal to training popularity, shared by all users.

    Pass the result as the scorer of :func:`gnnrec_lite.metrics.evaluate`.
    """
    return train.item_degree().float()
