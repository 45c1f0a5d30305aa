"""LightGCN (He et al., SIGIR 2020).

Introduced in lecture 05.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_int
from ..graph import to_adjacency
from ..interactions import Interactions
from ..propagate import symmetric_spmm
from .base import EmbeddingModel


class LightGCN(EmbeddingModel):
    r"""Shallow embeddings diffused over the normalized bipartite graph, then averaged.

    .. math::
        \hat A = D^{-1/2} A D^{-1/2}, \qquad
        E^{(k+1)} = \hat A E^{(k)}, \qquad
        Z = \sum_{k=0}^{K} \alpha_k E^{(k)}

    with :math:`\alpha_k = 1/(K+1)` by default. :math:`A` has no self-loops.
    Each step is one sparse product, so :math:`\hat A^K` is never formed;
    the backward pass multiplies by :math:`\hat A` again, since it is
    symmetric (:func:`gnnrec_lite.propagate.symmetric_spmm`).

    Args:
        train (Interactions): the training graph.
        embedding_dim (int): ``D``. (default: 64)
        num_layers (int): ``K``. (default: 3)
        alpha (sequence of float, optional): ``K + 1`` layer weights.

    Shapes:
        forward: ``() -> ((U, D), (I, D))``
    """

    def __init__(self, train: Interactions, embedding_dim: int = 64, num_layers: int = 3,
                 alpha=None, **kwargs) -> None:
        super().__init__(train, embedding_dim, **kwargs)
        self.num_layers = check_int("num_layers", num_layers, minimum=0)
        if alpha is None:
            alpha = torch.full((self.num_layers + 1,), 1.0 / (self.num_layers + 1))
        alpha = torch.as_tensor(alpha, dtype=torch.float32).flatten()
        if alpha.numel() != self.num_layers + 1:
            raise ValueError(f"alpha must have num_layers + 1 = {self.num_layers + 1} weights, got {alpha.numel()}")
        self.register_buffer("alpha", alpha)
        self.register_buffer("adj", to_adjacency(train), persistent=False)  # sparse CSR (U+I, U+I)
        self.reset_parameters()

    def encode(self, x: Tensor) -> Tensor:
        out = self.alpha[0] * x  # (N, D)
        for k in range(1, self.num_layers + 1):
            x = symmetric_spmm(self.adj, x)  # E(k) = Â E(k-1)
            out = out + self.alpha[k] * x
        return out

    def extra_repr(self) -> str:
        alpha = [round(a, 4) for a in self.alpha.tolist()]
        return f"{super().extra_repr()}, num_layers={self.num_layers}, alpha={alpha}"
