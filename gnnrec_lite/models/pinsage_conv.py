"""PinSAGE's convolution with importance pooling (Ying et al., KDD 2018, Algorithm 1), as a PyG ``MessagePassing``.

Introduced in lecture 06.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from .._checks import check_int


class PinSAGEConv(MessagePassing):
    r"""One PinSAGE layer: importance-pool the neighbours' messages, concatenate with the node, dense layer, L2 norm.

    For a target :math:`v` with importance neighbours :math:`N(v)` and weights
    :math:`w_{vu}` (normalized random-walk visit counts, so they sum to one
    and the pooling is a weighted mean, the paper's :math:`\gamma`):

    .. math::
        n_v = \sum_{u \in N(v)} w_{vu}\, \mathrm{ReLU}(Q h_u + q), \qquad
        h'_v = \frac{\mathrm{ReLU}(W [h_v \,\|\, n_v] + w)}{\lVert \mathrm{ReLU}(W [h_v \,\|\, n_v] + w) \rVert_2}

    ``lin_q`` holds :math:`(Q, q)`, ``lin_w`` holds :math:`(W, w)`.
    :math:`\mathrm{ReLU}(Q h_u + q)` is computed once per source node, then
    each edge scales it by :math:`w_{vu}` (``message``) and the edges of a
    target are summed (``aggr="sum"``). A target without neighbours gets
    :math:`n_v = 0`: it is embedded from its own :math:`h_v` alone. A
    hidden vector that ReLU zeroes entirely stays zero (no division by zero).

    Args:
        in_channels (int or tuple): size of :math:`h_u`, or ``(source, target)`` sizes
            for a bipartite input.
        out_channels (int): size of :math:`h'_v`.
        hidden_channels (int, optional): size of :math:`n_v`. (default: ``out_channels``)
        normalize (bool): divide by the L2 norm. (default: ``True``)

    Shapes:
        input: ``x`` ``(N, F)`` or ``(x_src (N_src, F_s), x_dst (N_dst, F_t))``,
        ``edge_index`` ``(2, E)`` from source (row 0) to target (row 1), ``edge_weight`` ``(E,)``;
        output: ``(N_dst, out_channels)``.
    """

    def __init__(self, in_channels, out_channels: int, hidden_channels: int | None = None, *,
                 normalize: bool = True) -> None:
        super().__init__(aggr="sum")
        src, dst = in_channels if isinstance(in_channels, tuple) else (in_channels, in_channels)
        self.in_channels = (check_int("in_channels", src, minimum=1), check_int("in_channels", dst, minimum=1))
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels or out_channels, minimum=1)
        self.normalize = bool(normalize)
        self.lin_q = nn.Linear(self.in_channels[0], self.hidden_channels)  # Q, q
        self.lin_w = nn.Linear(self.in_channels[1] + self.hidden_channels, self.out_channels)  # W, w
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_q.reset_parameters()
        self.lin_w.reset_parameters()

    def forward(self, x, edge_index: Tensor, edge_weight: Tensor) -> Tensor:
        x_src, x_dst = (x, x) if isinstance(x, Tensor) else x
        if edge_weight.shape != (edge_index.shape[1],):
            raise ValueError(f"edge_weight must have one entry per edge ({edge_index.shape[1]}), "
                             f"got {tuple(edge_weight.shape)}")
        msg = F.relu(self.lin_q(x_src))  # (N_src, H): ReLU(Q h_u + q), once per source
        n = self.propagate(edge_index, x=(msg, None), edge_weight=edge_weight.to(msg.dtype),
                           size=(x_src.shape[0], x_dst.shape[0]))  # (N_dst, H): importance pooling
        h = F.relu(self.lin_w(torch.cat([x_dst, n], dim=-1)))  # (N_dst, C): ReLU(W [h_v || n_v] + w)
        return F.normalize(h, dim=-1) if self.normalize else h  # (N_dst, C)

    def message(self, x_j: Tensor, edge_weight: Tensor) -> Tensor:
        return edge_weight.view(-1, 1) * x_j  # (E, H): w_vu ReLU(Q h_u + q)

    def __repr__(self) -> str:
        src, dst = self.in_channels
        return (f"{type(self).__name__}({src if src == dst else self.in_channels}, {self.out_channels}, "
                f"hidden_channels={self.hidden_channels}, normalize={self.normalize})")

