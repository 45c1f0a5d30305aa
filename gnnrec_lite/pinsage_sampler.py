r"""PinSAGE's per-batch computation graph: the nodes a K-layer encoder must compute for a batch, layer by layer.

Introduced in lecture 06. To embed a batch of items with :math:`K` layers,
PinSAGE (Ying et al., KDD 2018, section 3.2) needs layer :math:`K` only at
the batch's items, layer :math:`K-1` at those items and their importance
neighbours, and so on down to the inputs. Working down from the batch,

.. math::
    V^{(K)} = \text{seeds}, \qquad
    V^{(k-1)} = V^{(k)} \cup \bigcup_{v \in V^{(k)}} N(v),

each node listed once per layer even when several targets share it (the
paper's producer "re-indexes" the sampled nodes into one small subgraph per
mini-batch; DGL calls each layer a block, PyG's ``NeighborLoader`` a
hop). :math:`N(v)` is the top-``T`` table of
:func:`~gnnrec_lite.walks.item_neighbors`, weighted by normalized visit counts.

**A fixed table, not fresh walks per batch.** DGL's example walks again for
every batch. Here the walks run once, before training, because the training
graph never changes: per-batch walks would only redraw the same
neighbourhoods with Monte-Carlo noise, cost walks at every step, and make the
mini-batch computation differ from the all-items inference pass
(:meth:`~gnnrec_lite.models.PinSAGE.inference`), which reads the same table.
Randomness per batch, where wanted, comes from neighbour dropout in the
trainer. DGL's example also deletes a batch's query-positive edges from the
sampled neighbourhoods; here the table is left whole, because the held-out
pairs are scored with the very same table (their co-interactions stay in the
graph), so training sees neighbourhoods as evaluation does.

Conventions (DGL's blocks, PyG's bipartite message passing): in a block the
first ``num_dst`` source nodes *are* the targets, in the same order, so the
targets' own representations are ``h[:num_dst]``; ``edge_index[0]`` holds
local source ids (rows of ``src_nodes``), ``edge_index[1]`` local target ids.
New nodes of a layer follow the targets in increasing item id.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ._checks import check_int


@dataclass
class Block:
    """One layer of a computation graph: messages from ``src_nodes`` to its first ``num_dst`` nodes.

    Shapes:
        ``src_nodes (N_src,)`` global item ids, the targets first; ``edge_index (2, E)`` local ids,
        sources in row 0 (``< N_src``) and targets in row 1 (``< num_dst``); ``edge_weight (E,)``.
    """

    src_nodes: Tensor
    num_dst: int
    edge_index: Tensor
    edge_weight: Tensor

    @property
    def dst_nodes(self) -> Tensor:
        return self.src_nodes[:self.num_dst]  # (N_dst,)


@dataclass
class ComputationGraph:
    """What a K-layer encoder needs to embed ``seeds``: ``blocks[0]`` reads the inputs, ``blocks[-1]`` ends at seeds.

    ``input_nodes`` are the items whose features the first layer reads (the
    seeds themselves when there are no layers).
    """

    seeds: Tensor  # (B,) global item ids, each once
    blocks: list

    @property
    def input_nodes(self) -> Tensor:
        return self.blocks[0].src_nodes if self.blocks else self.seeds

    def num_computed(self) -> int:
        """Node representations the convolutions compute: the targets of every block."""
        return sum(b.num_dst for b in self.blocks)


def table_edges(neighbors: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    """A neighbour table as edges: row ``v`` of the table gives edges ``(u -> v)`` weighted ``w_vu``; ``-1`` is skipped.

    Edges come out grouped by target row, in table order.

    Shapes:
        neighbors, weights ``(N, T)`` -> ``edge_index (2, E)`` (row 0: neighbour, row 1: table row),
        ``edge_weight (E,)``
    """
    valid = neighbors >= 0  # (N, T)
    rows = torch.arange(neighbors.shape[0], device=neighbors.device)[:, None].expand_as(neighbors)
    return torch.stack([neighbors[valid], rows[valid]]), weights[valid]


def expand_layer(dst: Tensor, neighbors: Tensor, weights: Tensor) -> Block:
    """The block whose targets are ``dst``: sources are ``dst`` followed by their new neighbours, by item id.

    Shapes:
        dst ``(N_dst,)`` unique item ids; neighbors, weights ``(I, T)``, the whole table.
    """
    (src_global, target), edge_weight = table_edges(neighbors[dst], weights[dst])  # (E,) global ids, (E,) local
    local = torch.full((neighbors.shape[0],), -1, dtype=torch.int64, device=dst.device)  # item id -> local id
    local[dst] = torch.arange(dst.numel(), device=dst.device)
    new = torch.unique(src_global[local[src_global] < 0])  # (N_new,) sorted item ids not among the targets
    local[new] = torch.arange(dst.numel(), dst.numel() + new.numel(), device=dst.device)
    return Block(torch.cat([dst, new]), dst.numel(), torch.stack([local[src_global], target]), edge_weight)


def computation_graph(neighbors: Tensor, weights: Tensor, seeds, num_layers: int = 2) -> ComputationGraph:
    """The blocks a ``num_layers``-layer encoder needs to embed ``seeds``, in their order.

    Introduced in lecture 06. Works down from the seeds, one
    :func:`expand_layer` per layer, then returns the blocks input layer first.

    Args:
        neighbors (Tensor): ``(I, T)`` int64 neighbour table, ``-1`` padding.
        weights (Tensor): ``(I, T)`` importance weights.
        seeds (array of int): the items to embed, ``(B,)``, each once.
        num_layers (int): ``K``. (default: 2)
    """
    num_layers = check_int("num_layers", num_layers, minimum=0)
    if neighbors.dim() != 2 or neighbors.dtype != torch.int64 or weights.shape != neighbors.shape:
        raise ValueError(f"neighbors must be an int64 (I, T) table and weights the same shape, got "
                         f"{neighbors.dtype} {tuple(neighbors.shape)} and {tuple(weights.shape)}")
    seeds = torch.as_tensor(seeds, dtype=torch.int64, device=neighbors.device).flatten()
    if seeds.numel() and (int(seeds.min()) < 0 or int(seeds.max()) >= neighbors.shape[0]):
        raise ValueError(f"seeds must be item ids in [0, {neighbors.shape[0]}), "
                         f"got {int(seeds.min())}..{int(seeds.max())}")
    if torch.unique(seeds).numel() != seeds.numel():
        raise ValueError("seeds must be unique: embed torch.unique(items) and index the result with its inverse")
    blocks, dst = [], seeds
    for _ in range(num_layers):
        block = expand_layer(dst, neighbors, weights)
        blocks.insert(0, block)
        dst = block.src_nodes  # the next layer down must compute every source of this one
    return ComputationGraph(seeds, blocks)


__all__ = ["Block", "ComputationGraph", "computation_graph", "expand_layer", "table_edges"]
