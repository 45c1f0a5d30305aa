"""Random walks with restart (gnnrec_lite.walks) against independent references: a dense linear solve."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gnnrec_lite as g
from gnnrec_lite.walks import personalized_pagerank, visit_counts


def dense_ppr(inter: g.Interactions, user: int, alpha: float) -> np.ndarray:
    """pi = alpha e_s (I - (1 - alpha) P_UI P_IU)^-1, then the item shares pi P_UI, by numpy."""
    r = np.zeros((inter.num_users, inter.num_items))
    r[inter.user.numpy(), inter.item.numpy()] = 1.0
    p_ui = r / np.maximum(r.sum(1, keepdims=True), 1)
    p_iu = (r / np.maximum(r.sum(0, keepdims=True), 1)).T
    e = np.zeros(inter.num_users)
    e[user] = 1.0
    pi = alpha * np.linalg.solve((np.eye(inter.num_users) - (1 - alpha) * p_ui @ p_iu).T, e)
    return pi @ p_ui


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


@pytest.fixture(scope="module")
def graph():
    return g.synthetic(40, 60, 400, seed=3)


@pytest.mark.parametrize("alpha", [0.15, 0.5, 1.0])
def test_ppr_matches_a_dense_linear_solve(alpha):
    women = g.southern_women()
    users = list(range(women.num_users))
    got = personalized_pagerank(women, users, restart_prob=alpha, tol=1e-12).numpy()
    for u in users:
        np.testing.assert_allclose(got[u], dense_ppr(women, u, alpha), atol=1e-9)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-9)


def test_monte_carlo_ranking_agrees_with_exact_ppr(graph):
    users = torch.tensor([0, 7, 21])
    exact = personalized_pagerank(graph, users, restart_prob=0.3).numpy()
    # long walks: every walker starts at its user, which over-weights the user's own items by O(1 / (alpha T))
    counts = visit_counts(graph, users, num_walks=300, num_hops=200, restart_prob=0.3, seed=1).numpy()
    for row in range(users.numel()):
        top = np.argsort(-exact[row], kind="stable")[:20]  # the exact top-20 items
        assert spearman(exact[row, top], counts[row, top]) >= 0.9
        share = counts[row] / counts[row].sum()
        assert np.abs(share - exact[row]).sum() < 0.05  # total variation-like distance


def test_restart_one_visits_only_the_start_users_items(graph):
    counts = visit_counts(graph, [5], num_walks=50, num_hops=10, restart_prob=1.0, seed=0)[0]
    own = set(graph.item[graph.user == 5].tolist())
    assert set(torch.nonzero(counts).flatten().tolist()) <= own
    assert counts.sum() == 50 * 10
    exact = personalized_pagerank(graph, [5], restart_prob=1.0)[0]
    assert set(torch.nonzero(exact).flatten().tolist()) == own


def test_visit_counts_is_seeded(graph):
    a = visit_counts(graph, [1, 2], num_walks=20, num_hops=5, seed=4)
    b = visit_counts(graph, [1, 2], num_walks=20, num_hops=5, seed=4)
    assert torch.equal(a, b) and a.shape == (2, graph.num_items)


@pytest.mark.parametrize("kwargs, match", [
    (dict(restart_prob=0.0), "restart_prob"),
    (dict(restart_prob=1.5), "restart_prob"),
    (dict(num_walks=0), "num_walks"),
    (dict(num_hops=0), "num_hops"),
])
def test_walk_arguments_are_checked(graph, kwargs, match):
    with pytest.raises(ValueError, match=match):
        visit_counts(graph, [0], **kwargs)


def test_a_user_without_edges_is_an_error():
    inter = g.Interactions(3, 4, torch.tensor([0, 0, 2]), torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match="user 1"):
        visit_counts(inter, [1])
    with pytest.raises(ValueError, match="user 1"):
        personalized_pagerank(inter, [0, 1])
    with pytest.raises(ValueError, match="restart_prob"):
        personalized_pagerank(inter, [0], restart_prob=0)
