"""Matrix factorization: the shallow encoder of collaborative filtering.

Introduced in lecture 03.
"""

from __future__ import annotations

from torch import Tensor

from ..interactions import Interactions
from .base import EmbeddingModel


class MF(EmbeddingModel):
    r"""Shallow encoder: one learnable vector per user and per item.

    .. math::
        \mathbf{z}_u = \mathbf{e}_u, \qquad \mathbf{z}_v = \mathbf{e}_v, \qquad
        f(u, v) = \mathbf{z}_u^\top \mathbf{z}_v

    The graph enters only through the training loss, which sees first-order
    structure (the edges) and nothing further.

    Args:
        train (Interactions): training interactions (sets the sizes).
        embedding_dim (int): ``D``. (default: 64)

    Shapes:
        forward: ``() -> ((U, D), (I, D))``
    """

    def __init__(self, train: Interactions, embedding_dim: int = 64, **kwargs) -> None:
        super().__init__(train, embedding_dim, **kwargs)
        self.reset_parameters()

    def encode(self, x: Tensor) -> Tensor:
        return x  # (U + I, D): the embeddings are the representation
