"""The interactions seen as a graph: PyG ``edge_index``, sparse adjacency, networkx.

Introduced in lecture 01 (the bipartite graph) and lecture 05 (the normalized
adjacency of LightGCN).
"""

from __future__ import annotations

import networkx as nx
import torch
from torch import Tensor

from ._checks import quiet_sparse_csr
from .interactions import Interactions


def to_edge_index(inter: Interactions) -> Tensor:
    """Bipartite ``edge_index`` of shape ``(2, E)``: row 0 user ids, row 1 item ids."""
    return torch.stack([inter.user, inter.item])


def to_homogeneous_edge_index(inter: Interactions) -> Tensor:
    """``edge_index`` over ``num_users + num_items`` nodes, both directions, shape ``(2, 2E)``.

    User ``u`` is node ``u``; item ``i`` is node ``num_users + i``. This is
    the one place where that offset is applied.
    """
    items = inter.item + inter.num_users
    return torch.stack([torch.cat([inter.user, items]), torch.cat([items, inter.user])])


def to_adjacency(inter: Interactions, *, normalize: bool = True, dtype: torch.dtype = torch.float32) -> Tensor:
    r"""Adjacency of the bipartite graph as an ``(N, N)`` sparse CSR tensor, ``N = num_users + num_items``.

    .. math::
        A = \begin{pmatrix} 0 & R \\ R^\top & 0 \end{pmatrix}, \qquad
        \hat A = D^{-1/2} A D^{-1/2}

    With ``normalize=True`` (the default) returns :math:`\hat A`, the
    symmetric normalization used by LightGCN, without self-loops. A node of
    degree zero gets an all-zero row and column rather than a division by zero.
    Repeated interactions add up.
    """
    n = inter.num_users + inter.num_items
    edge_index = to_homogeneous_edge_index(inter)  # (2, 2E)
    values = torch.ones(edge_index.shape[1], dtype=dtype)
    if normalize:
        degree = torch.zeros(n, dtype=dtype).index_add_(0, edge_index[0], values)
        inv_sqrt = torch.where(degree > 0, degree.clamp(min=1e-12).rsqrt(), torch.zeros_like(degree))
        values = inv_sqrt[edge_index[0]] * values * inv_sqrt[edge_index[1]]
    coo = torch.sparse_coo_tensor(edge_index, values, (n, n), check_invariants=True).coalesce()
    with quiet_sparse_csr():
        return coo.to_sparse_csr()


def to_networkx(inter: Interactions) -> nx.Graph:
    """An undirected networkx graph with nodes ``"u{index}"`` and ``"i{index}"``.

    Node attributes: ``bipartite`` (0 users, 1 items), ``index``, and
    ``label`` (the raw id, or the item name when there is one). Isolated users
    and items are included.
    """
    graph = nx.Graph(name=inter.name)
    graph.add_nodes_from(
        (f"u{u}", {"bipartite": 0, "index": u, "label": str(inter.user_raw_ids[u])})
        for u in range(inter.num_users)
    )
    names = inter.item_names or [str(r) for r in inter.item_raw_ids]
    graph.add_nodes_from(
        (f"i{i}", {"bipartite": 1, "index": i, "label": names[i]}) for i in range(inter.num_items)
    )
    graph.add_edges_from((f"u{u}", f"i{i}") for u, i in zip(inter.user.tolist(), inter.item.tolist()))
    return graph
