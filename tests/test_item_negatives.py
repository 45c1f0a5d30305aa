"""Item-to-item negatives: the hard pool against a pure-Python ranking of the same walk counts; shared vs per pair."""

from __future__ import annotations

import math

import pytest
import torch

import gnnrec_lite as g
from gnnrec_lite.item_negatives import draw_negatives, hard_item_pool
from gnnrec_lite.walks import item_visit_counts


@pytest.fixture(scope="module")
def graph():
    base = g.synthetic(30, 24, 200, num_communities=3, seed=1)
    return base.subset(base.item != 5)  # item 5 loses every edge: never a negative


def test_hard_pool_is_a_window_of_the_walk_ranking(graph):
    pairs = torch.tensor([[0, 1], [0, 2], [3, 0], [7, 8]])
    window = (0.1, 0.5)
    pool = hard_item_pool(graph, pairs, window=window, num_walks=50, num_hops=5, seed=3)
    queries = [0, 3, 7]
    counts = item_visit_counts(graph, queries, num_walks=50, num_hops=5, seed=3)  # the walks the pool ran
    for row, q in enumerate(queries):
        positives = {int(p) for qq, p in pairs.tolist() if qq == q}
        cand = [v for v in range(graph.num_items) if v != q and v not in positives and v != 5]
        ranked = sorted(cand, key=lambda v: (-float(counts[row, v]), v))
        lo = math.floor(window[0] * len(ranked))
        hi = max(math.ceil(window[1] * len(ranked)), lo + 1)
        assert pool.pool(q).tolist() == ranked[lo:hi]
    assert int(pool.row_of[1]) == -1  # not a query


def test_hard_pool_with_rank_window_and_sampling(graph):
    pairs = torch.tensor([[0, 1], [2, 3]])
    pool = hard_item_pool(graph, pairs, window=(2, 6), num_walks=20, num_hops=4, seed=0)
    assert pool.sizes().tolist() == [4, 4]
    drawn = pool.sample(torch.tensor([0, 2, 0]), 5, generator=torch.Generator().manual_seed(0))  # (B, h)
    assert drawn.shape == (3, 5)
    assert set(drawn[0].tolist()) <= set(pool.pool(0).tolist()) and set(drawn[1].tolist()) <= set(pool.pool(2).tolist())
    with pytest.raises(ValueError, match="window"):
        hard_item_pool(graph, pairs, window=(40, 50), num_walks=5, num_hops=2)


def test_draw_negatives_shared_and_per_pair():
    cand = torch.tensor([4, 8, 15, 16, 23, 42])
    gen = torch.Generator().manual_seed(0)
    shared = draw_negatives(cand, 3, 5, per_pair=False, generator=gen)
    per_pair = draw_negatives(cand, 3, 5, per_pair=True, generator=gen)
    assert shared.shape == (5,) and per_pair.shape == (3, 5)
    assert torch.isin(shared, cand).all() and torch.isin(per_pair, cand).all()
