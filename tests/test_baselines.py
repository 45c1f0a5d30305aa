"""gnnrec_lite.baselines: most popular, and item-kNN against a brute-force pure-Python reference."""

from __future__ import annotations

import math

import pytest
import torch

import gnnrec_lite as g
from gnnrec_lite.baselines import item_knn, item_similarities, most_popular


def brute_force_knn(train, num_neighbors):
    """s_ij by set intersections, top-k per item (ties to the lower id), score(u, i) = sum over the user's items."""
    users_of = [set() for _ in range(train.num_items)]
    items_of = [set() for _ in range(train.num_users)]
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        users_of[i].add(u)
        items_of[u].add(i)
    sims = {}
    for i in range(train.num_items):
        row = []
        for j in range(train.num_items):
            if i != j and users_of[i] and users_of[j]:
                s = len(users_of[i] & users_of[j]) / math.sqrt(len(users_of[i]) * len(users_of[j]))
                row.append((-s, j))
        sims[i] = {j: -s for s, j in sorted(row)[:num_neighbors] if s < 0}
    scores = [[sum(sims[i].get(j, 0.0) for j in items_of[u]) for i in range(train.num_items)]
              for u in range(train.num_users)]
    return sims, torch.tensor(scores, dtype=torch.float64)


@pytest.mark.parametrize("num_neighbors, chunk", [(3, 4), (5, 1000), (50, 7)])
def test_item_knn_equals_a_brute_force_reference(num_neighbors, chunk):
    data = g.synthetic(25, 30, 200, seed=4)
    data = g.Interactions(25, 30, torch.cat([data.user, data.user[:3]]), torch.cat([data.item, data.item[:3]]),
                          allow_duplicates=True)  # repeated pairs count once
    sims, scores = brute_force_knn(data, num_neighbors)
    got = item_similarities(data, num_neighbors=num_neighbors, chunk_size=chunk).to_dense()
    want = torch.zeros(30, 30)
    for i, row in sims.items():
        for j, s in row.items():
            want[i, j] = s
    assert torch.allclose(got, want, atol=1e-6)
    assert (got > 0).sum(1).max() <= num_neighbors
    users = torch.tensor([0, 7, 3, 24])
    assert torch.allclose(item_knn(data, num_neighbors=num_neighbors)(users).double(), scores[users], atol=1e-5)


def test_item_knn_is_a_scorer_for_evaluate_and_beats_popularity_on_a_planted_graph():
    train, test = g.random_split(g.synthetic(200, 150, 3000, seed=0, affinity=0.9), 0.8, seed=0)
    knn = g.evaluate(item_knn(train, num_neighbors=20), train, test, k=10)["recall@10"]
    pop = g.evaluate(most_popular(train), train, test, k=10)["recall@10"]
    assert knn > pop


def test_item_knn_arguments_are_checked():
    data = g.synthetic(10, 10, 30, seed=0)
    with pytest.raises(ValueError, match="num_neighbors must be >= 1"):
        item_knn(data, num_neighbors=0)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        item_similarities(data, chunk_size=0)
