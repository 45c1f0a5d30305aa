"""PinSAGE (Ying et al., KDD 2018), a GraphSAGE-style item encoder (Hamilton et al., NeurIPS 2017).

Introduced in lecture 06.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_int
from ..pinsage_sampler import ComputationGraph, table_edges


class PinSAGE(nn.Module):
    r"""Item embeddings from item features and importance-weighted neighbourhoods, one mini-batch at a time.

    With :math:`x_v` the input of item :math:`v` (its features, optionally
    concatenated with a learnable per-item embedding :math:`e_v`),
    :math:`N(v)` its top-``T`` items by random-walk visit count and
    :math:`w_{vu}` their normalized counts (:func:`gnnrec_lite.walks.item_neighbors`),
    ``K`` layers of :class:`~gnnrec_lite.models.pinsage_conv.PinSAGEConv` and an output map:

    .. math::
        h_v^{(0)} = x_v, \qquad
        n_v^{(k)} = \sum_{u \in N(v)} w_{vu}\, \mathrm{ReLU}(Q_k h_u^{(k)} + q_k), \qquad
        h_v^{(k+1)} = \frac{\mathrm{ReLU}(W_k [h_v^{(k)} \,\|\, n_v^{(k)}] + w_k)}
                           {\lVert \mathrm{ReLU}(W_k [h_v^{(k)} \,\|\, n_v^{(k)}] + w_k) \rVert_2}, \qquad
        z_v = \frac{G h_v^{(K)} + g}{\lVert G h_v^{(K)} + g \rVert_2}

    **Two ways to run it.** ``forward(features, graph)`` embeds a mini-batch:
    ``graph`` is the batch's :class:`~gnnrec_lite.pinsage_sampler.ComputationGraph`,
    and layer :math:`k` is computed only at the nodes that layer :math:`k+1`
    needs (the paper's training, section 3.2). :meth:`inference` embeds every
    item, one layer at a time over all items, so an item shared by many
    computation graphs is computed once per layer (the paper's MapReduce
    inference, section 3.4). Both read the same neighbour table, so in eval
    mode they agree to float precision.

    Where this departs from the paper: the final dense layer is one linear
    map, not two; outputs are L2-normalized so a margin on dot products is
    meaningful; the per-item embedding :math:`e_v` is an optional extra (the
    paper has none, which is what makes it inductive). An item with no
    neighbours is embedded from its own input alone: the cold-start case.
    With ``num_layers=0`` the model is a plain encoder of :math:`x_v`: a
    linear map of the features, or a shallow embedding table when there are
    no features.

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
        forward: features ``(I, F)``, a computation graph for ``B`` seeds -> ``(B, D)``;
        inference: features ``(I, F)``, neighbors ``(I, T)`` int64 with ``-1`` padding,
        weights ``(I, T)`` -> ``(I, D)``
    """

    def __init__(self, in_channels: int, embedding_dim: int = 64, num_layers: int = 2, *,
                 hidden_channels: int | None = None, num_items: int | None = None, item_embedding: bool = False,
                 init_std: float = 0.1) -> None:
        from .pinsage_conv import PinSAGEConv  # here, not at the top: only PinSAGE needs PyG, which loads slowly

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
        self.convs = nn.ModuleList()
        for _ in range(self.num_layers):
            self.convs.append(PinSAGEConv(dim, self.hidden_channels, self.hidden_channels))
            dim = self.hidden_channels
        self.out = nn.Linear(dim, self.embedding_dim)  # G, g
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.item_emb is not None:
            nn.init.normal_(self.item_emb.weight, std=self.init_std)
        for conv in self.convs:
            conv.reset_parameters()
        self.out.reset_parameters()

    @property
    def device(self) -> torch.device:
        return self.out.weight.device

    def inputs(self, features: Tensor, nodes: Tensor | None = None) -> Tensor:
        """:math:`h^{(0)}` of ``nodes`` (every item when ``None``): features, with :math:`e_v` appended when enabled.

        Shapes:
            features ``(I, F)``, nodes ``(N,)`` -> ``(N, F [+ H])``
        """
        if not isinstance(features, Tensor) or features.dim() != 2 or features.shape[1] != self.in_channels:
            shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
            raise ValueError(f"features must be a (num_items, in_channels={self.in_channels}) tensor, got {shape}")
        if self.item_emb is not None and features.shape[0] != self.num_items:
            raise ValueError(f"features must have num_items={self.num_items} rows, got {features.shape[0]}")
        if nodes is None:
            nodes = torch.arange(features.shape[0], device=features.device)
        x = features[nodes]  # (N, F)
        if self.item_emb is None:
            return x
        return torch.cat([x, self.item_emb(nodes).to(x.dtype)], dim=1)  # (N, F + H)

    def forward(self, features: Tensor, graph, weights: Tensor | None = None) -> Tensor:
        """Embeddings of ``graph.seeds``, ``(B, D)``; ``forward(features, neighbors, weights)`` is :meth:`inference`."""
        if isinstance(graph, Tensor):  # the earlier full-graph call, model(features, neighbors, weights)
            return self.inference(features, graph, weights)
        if not isinstance(graph, ComputationGraph) or len(graph.blocks) != self.num_layers:
            got = len(graph.blocks) if isinstance(graph, ComputationGraph) else type(graph).__name__
            raise ValueError(f"graph must be a ComputationGraph with num_layers={self.num_layers} blocks, got {got}")
        h = self.inputs(features, graph.input_nodes)  # (N_0, F'): layer 0 at every node the graph reaches
        for conv, block in zip(self.convs, graph.blocks):
            h = conv((h, h[:block.num_dst]), block.edge_index, block.edge_weight)  # (N_{k+1}, H)
        return F.normalize(self.out(h), dim=1)  # (B, D)

    def inference(self, features: Tensor, neighbors: Tensor, weights: Tensor, *,
                  batch_size: int | None = None) -> Tensor:
        """Every item's embedding, ``(I, D)``: each layer computed once for all items, from the layer below.

        ``batch_size`` targets are convolved at a time (all at once when
        ``None``), which bounds the memory of a layer's messages.
        """
        h = self.inputs(features)  # (I, F')
        num = h.shape[0]
        if neighbors.dim() != 2 or neighbors.shape[0] != num or neighbors.dtype != torch.int64:
            raise ValueError(f"neighbors must be an int64 (I={num}, T) tensor, got {neighbors.dtype} "
                             f"{tuple(neighbors.shape)}")
        if weights is None or weights.shape != neighbors.shape:
            raise ValueError(f"weights must have the shape of neighbors {tuple(neighbors.shape)}, "
                             f"got {None if weights is None else tuple(weights.shape)}")
        if neighbors.numel() and int(neighbors.max()) >= num:
            raise ValueError(f"neighbors holds item {int(neighbors.max())}, out of range for {num} items")
        step = check_int("batch_size", batch_size, minimum=1) if batch_size is not None else max(num, 1)
        for conv in self.convs:
            parts = []
            for lo in range(0, num, step):  # targets lo..lo+step-1 read any item of the layer below
                edge_index, edge_weight = table_edges(neighbors[lo:lo + step], weights[lo:lo + step])  # (2, E)
                parts.append(conv((h, h[lo:lo + step]), edge_index, edge_weight))  # (step, H)
            h = torch.cat(parts)  # (I, H): layer k + 1 for every item
        return F.normalize(self.out(h), dim=1)  # (I, D)

    def extra_repr(self) -> str:
        emb = f", item_embedding={self.num_items}x{self.hidden_channels}" if self.item_emb is not None else ""
        return (f"in_channels={self.in_channels}, embedding_dim={self.embedding_dim}, "
                f"num_layers={self.num_layers}, hidden_channels={self.hidden_channels}{emb}")
