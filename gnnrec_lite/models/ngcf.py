"""NGCF: Neural Graph Collaborative Filtering (Wang et al., SIGIR 2019).

Introduced in lecture 04.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_int
from ..graph import to_adjacency
from ..interactions import Interactions
from ..propagate import symmetric_spmm
from .base import EmbeddingModel


class NGCF(EmbeddingModel):
    r"""Shallow embeddings refined by ``K`` rounds of learnable neighbour aggregation.

    Layer ``k`` aggregates the neighbours (AGGR, a normalized sum), then
    combines them with the node's own embedding through two weight matrices
    and a non-linearity (COMBINE):

    .. math::
        \mathbf{m}^{(k)} = \hat A E^{(k)}, \qquad
        E^{(k+1)} = \mathrm{LeakyReLU}\big((\mathbf{m}^{(k)} + E^{(k)}) W_1^{(k)} + b_1^{(k)}
            + (\mathbf{m}^{(k)} \odot E^{(k)}) W_2^{(k)} + b_2^{(k)}\big)

    The final embedding concatenates every layer,
    :math:`\mathbf{z} = E^{(0)} \,\|\, E^{(1)} \,\|\, \dots \,\|\, E^{(K)}`, and the
    score is the dot product, as in the paper; with ``K = 0`` NGCF is MF.

    Where this departs from the paper: no message or node dropout, and the
    layer outputs are not L2-normalized before concatenation (the authors'
    code does both); :math:`\hat A = D^{-1/2} A D^{-1/2}` as in LightGCN.

    Args:
        train (Interactions): the training graph.
        embedding_dim (int): ``D``, kept by every layer. (default: 64)
        num_layers (int): ``K``. (default: 3)
        negative_slope (float): of the LeakyReLU. (default: 0.2)

    Shapes:
        forward: ``() -> ((U, D (K+1)), (I, D (K+1)))``
    """

    def __init__(self, train: Interactions, embedding_dim: int = 64, num_layers: int = 3,
                 negative_slope: float = 0.2, **kwargs) -> None:
        super().__init__(train, embedding_dim, **kwargs)
        self.num_layers = check_int("num_layers", num_layers, minimum=0)
        self.negative_slope = float(negative_slope)
        d = self.embedding_dim
        self.w_self = nn.ModuleList([nn.Linear(d, d) for _ in range(self.num_layers)])  # W1
        self.w_inter = nn.ModuleList([nn.Linear(d, d) for _ in range(self.num_layers)])  # W2
        self.register_buffer("adj", to_adjacency(train), persistent=False)  # sparse CSR (U+I, U+I)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in list(self.w_self) + list(self.w_inter):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def encode(self, x: Tensor) -> Tensor:
        layers = [x]  # E(0): (N, D)
        for w1, w2 in zip(self.w_self, self.w_inter):
            m = symmetric_spmm(self.adj, x)  # AGGR: (N, D)
            x = F.leaky_relu(w1(m + x) + w2(m * x), self.negative_slope)  # COMBINE: (N, D)
            layers.append(x)
        return torch.cat(layers, dim=1)  # (N, D (K+1))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, num_layers={self.num_layers}"
