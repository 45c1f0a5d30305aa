"""The per-batch computation graph (gnnrec_lite.pinsage_sampler) against a hand-worked example and a set reference."""

from __future__ import annotations

import pytest
import torch

from gnnrec_lite.pinsage_sampler import computation_graph, table_edges

# item -> (neighbours, weights); -1 pads. Item 6 is reached only at the input layer.
TABLE = {0: ([1, 2], [0.75, 0.25]), 1: ([0, -1], [1.0, 0.0]), 2: ([3, 0], [0.5, 0.5]), 3: ([6, -1], [1.0, 0.0]),
         4: ([5, 1], [0.6, 0.4]), 5: ([4, -1], [1.0, 0.0]), 6: ([3, -1], [1.0, 0.0])}


def tiny():
    nbrs = torch.tensor([TABLE[v][0] for v in range(7)])
    wts = torch.tensor([TABLE[v][1] for v in range(7)])
    return nbrs, wts


def test_two_layers_by_hand():
    """Seeds 2 and 4. Layer 2 needs them and their neighbours {3, 0} and {5, 1}; layer 1 adds 3's neighbour 6."""
    graph = computation_graph(*tiny(), torch.tensor([2, 4]), num_layers=2)
    top, bottom = graph.blocks[1], graph.blocks[0]
    # top block: targets 2, 4 (local 0, 1), then the new sources by item id: 0, 1, 3, 5 (local 2..5)
    assert top.src_nodes.tolist() == [2, 4, 0, 1, 3, 5] and top.num_dst == 2
    assert top.dst_nodes.tolist() == [2, 4]
    assert top.edge_index.tolist() == [[4, 2, 5, 3], [0, 0, 1, 1]]  # 3->2, 0->2, 5->4, 1->4 in local ids
    assert top.edge_weight.tolist() == pytest.approx([0.5, 0.5, 0.6, 0.4])
    # bottom block: targets are the top block's sources; only 6 is new
    assert bottom.src_nodes.tolist() == [2, 4, 0, 1, 3, 5, 6] and bottom.num_dst == 6
    assert bottom.edge_index.tolist() == [[4, 2, 5, 3, 3, 0, 2, 6, 1], [0, 0, 1, 1, 2, 2, 3, 4, 5]]
    assert bottom.edge_weight.tolist() == pytest.approx([0.5, 0.5, 0.6, 0.4, 0.75, 0.25, 1.0, 1.0, 1.0])
    assert graph.input_nodes.tolist() == [2, 4, 0, 1, 3, 5, 6]
    assert graph.num_computed() == 6 + 2  # layer 1 at six nodes, layer 2 at the two seeds


def test_seed_order_is_kept_and_zero_layers_reads_the_seeds():
    nbrs, wts = tiny()
    graph = computation_graph(nbrs, wts, [5, 3], num_layers=1)
    assert graph.blocks[0].src_nodes.tolist() == [5, 3, 4, 6]
    none = computation_graph(nbrs, wts, [6, 0], num_layers=0)
    assert none.blocks == [] and none.input_nodes.tolist() == [6, 0] and none.num_computed() == 0


def test_blocks_match_the_set_definition_on_a_random_table():
    """V(K) = seeds, V(k-1) = V(k) + N(V(k)); each block's edges are exactly its targets' table rows."""
    gen = torch.Generator().manual_seed(0)
    nbrs = torch.randint(-1, 40, (40, 5), generator=gen)
    wts = torch.rand(40, 5, generator=gen)
    seeds = torch.randperm(40, generator=gen)[:6]
    graph = computation_graph(nbrs, wts, seeds, num_layers=3)
    level = seeds.tolist()
    for block in reversed(graph.blocks):
        assert block.dst_nodes.tolist() == level
        edges = sorted((block.src_nodes[s].item(), block.dst_nodes[t].item(), round(w, 6)) for s, t, w in zip(
            block.edge_index[0].tolist(), block.edge_index[1].tolist(), block.edge_weight.tolist()))
        expected = sorted((u, v, round(w, 6)) for v in level for u, w in zip(nbrs[v].tolist(), wts[v].tolist())
                          if u >= 0)
        assert edges == expected
        reached = set(level) | {u for v in level for u in nbrs[v].tolist() if u >= 0}
        assert set(block.src_nodes.tolist()) == reached and block.src_nodes.numel() == len(reached)
        level = block.src_nodes.tolist()


def test_table_edges_skip_padding():
    nbrs, wts = tiny()
    edge_index, edge_weight = table_edges(nbrs[[1, 3]], wts[[1, 3]])
    assert edge_index.tolist() == [[0, 6], [0, 1]] and edge_weight.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("seeds, match", [([2, 2], "unique"), ([7], "seeds"), ([-1], "seeds")])
def test_bad_seeds(seeds, match):
    with pytest.raises(ValueError, match=match):
        computation_graph(*tiny(), seeds)


def test_bad_table():
    nbrs, wts = tiny()
    with pytest.raises(ValueError, match="neighbors"):
        computation_graph(nbrs.float(), wts, [0])
    with pytest.raises(ValueError, match="num_layers"):
        computation_graph(nbrs, wts, [0], num_layers=-1)
