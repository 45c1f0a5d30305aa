"""PinSAGE (Ying et al., KDD 2018), a GraphSAGE-style item encoder (Hamilton et al., NeurIPS 2017).

Introduced in lecture 06.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_int


class PinSAGE(nn.Module):
    r"""Item embeddings from item features and importance-weighted neighbourhoods.

    With :math:`x_v` the input of item :math:`v` (its features, optionally
    concatenated with a learnable per-item embedding :math:`e_v`),
    :math:`N(v)` its top-``T`` items by random-walk visit count and
    :math:`w_{vu}` their normalized counts (:func:`gnnrec_lite.walks.item_neighbors`):

    .. math::
        h_v^{(0)} = x_v, \qquad
        n_v^{(k)} = \sum_{u \in N(v)} w_{vu}\, \mathrm{ReLU}(Q_k h_u^{(k)} + q_k), \qquad
        h_v^{(k+1)} = \frac{\mathrm{ReLU}(W_k [h_v^{(k)} \,\|\, n_v^{(k)}] + b_k)}
                           {\lVert \mathrm{ReLU}(W_k [h_v^{(k)} \,\|\, n_v^{(k)}] + b_k) \rVert_2}, \qquad
        z_v = \frac{G h_v^{(K)} + g}{\lVert G h_v^{(K)} + g \rVert_2}

    The weighted sum is the paper's "importance pooling". Where this departs
    from the paper: every layer runs on all items at once (no per-batch
    computation graphs, fine for thousands of items); the final dense layer is
    one linear map, not two; outputs are L2-normalized so a margin on dot
    products is meaningful; the per-item embedding :math:`e_v` is an optional
    extra (the paper has none, which is what makes it inductive). An item with
    no neighbours (padding ``-1`` everywhere) gets :math:`n_v = 0` and is
    embedded from its own input alone: the cold-start case. With
    ``num_layers=0`` the model is a plain encoder of :math:`x_v`: an MLP of the
    features, or a shallow embedding table when there are no features.

    Args:
        in_channels (int): number of item features ``F`` (0 for none).
        embedding_dim (int): ``D``, size of :math:`z_v`. (default: 64)
        num_layers (int): ``K`` convolutions. (default: 2)
        hidden_channels (int, optional): size of :math:`h^{(k)}`, :math:`k \ge 1`. (default: ``embedding_dim``)
        num_items (int, optional): needed for the per-item embedding.
        item_embedding (bool): concatenate a learnable :math:`e_v` (size
            ``hidden_channels``) to the features. (default: ``False``)
        init_std (float): std of the normal init of :math:`e_v`. (default: 0.1)

    Shapes:
        forward: features ``(I, F)``, neighbors ``(I, T)`` int64 with ``-1`` padding,
        weights ``(I, T)`` -> ``(I, D)``
    """

    def __init__(self, in_channels: int, embedding_dim: int = 64, num_layers: int = 2, *,
                 hidden_channels: int | None = None, num_items: int | None = None, item_embedding: bool = False,
                 init_std: float = 0.1) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=0)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=0)
        self.hidden_channels = check_int("hidden_channels", hidden_channels or embedding_dim, minimum=1)
        self.init_std = float(init_std)
        self.item_emb = None
        if item_embedding:
            if num_items is None:
                raise ValueError("num_items must be given when item_embedding=True, got None")
            self.num_items = check_int("num_items", num_items, minimum=1)
            self.item_emb = nn.Embedding(self.num_items, self.hidden_channels)  # (I, H)
        elif self.in_channels == 0:
            raise ValueError("in_channels is 0 and item_embedding is False: the model would have no input")
        dim = self.in_channels + (self.hidden_channels if item_embedding else 0)
        self.q = nn.ModuleList()
        self.w = nn.ModuleList()
        for _ in range(self.num_layers):
            self.q.append(nn.Linear(dim, self.hidden_channels))
            self.w.append(nn.Linear(dim + self.hidden_channels, self.hidden_channels))
            dim = self.hidden_channels
        self.out = nn.Linear(dim, self.embedding_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.item_emb is not None:
            nn.init.normal_(self.item_emb.weight, std=self.init_std)
        for lin in [*self.q, *self.w, self.out]:
            lin.reset_parameters()

    def inputs(self, features: Tensor) -> Tensor:
        """:math:`h^{(0)}`: the features, with :math:`e_v` appended when enabled, ``(I, F [+ H])``."""
        if not isinstance(features, Tensor) or features.dim() != 2 or features.shape[1] != self.in_channels:
            shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
            raise ValueError(f"features must be a (num_items, in_channels={self.in_channels}) tensor, got {shape}")
        if self.item_emb is None:
            return features
        if features.shape[0] != self.num_items:
            raise ValueError(f"features must have num_items={self.num_items} rows, got {features.shape[0]}")
        return torch.cat([features, self.item_emb.weight.to(features.dtype)], dim=1)

    def forward(self, features: Tensor, neighbors: Tensor, weights: Tensor) -> Tensor:
        h = self.inputs(features)  # (I, F')
        num = h.shape[0]
        if neighbors.dim() != 2 or neighbors.shape[0] != num or neighbors.dtype != torch.int64:
            raise ValueError(f"neighbors must be an int64 (I={num}, T) tensor, got {neighbors.dtype} "
                             f"{tuple(neighbors.shape)}")
        if weights.shape != neighbors.shape:
            raise ValueError(f"weights must have the shape of neighbors {tuple(neighbors.shape)}, "
                             f"got {tuple(weights.shape)}")
        if neighbors.numel() and int(neighbors.max()) >= num:
            raise ValueError(f"neighbors holds item {int(neighbors.max())}, out of range for {num} items")
        valid = neighbors >= 0  # (I, T)
        idx = neighbors.clamp(min=0)
        w = torch.where(valid, weights, torch.zeros_like(weights)).to(h.dtype)  # padding weighs 0
        for q, lin in zip(self.q, self.w):
            msg = F.relu(q(h))  # (I, H)
            agg = (w.unsqueeze(-1) * msg[idx]).sum(1)  # (I, T, H) -> (I, H): importance pooling
            h = F.normalize(F.relu(lin(torch.cat([h, agg], dim=1))), dim=1)  # (I, H)
        return F.normalize(self.out(h), dim=1)  # (I, D)

    def extra_repr(self) -> str:
        emb = f", item_embedding={self.num_items}x{self.hidden_channels}" if self.item_emb is not None else ""
        return (f"in_channels={self.in_channels}, embedding_dim={self.embedding_dim}, "
                f"num_layers={self.num_layers}, hidden_channels={self.hidden_channels}{emb}")
