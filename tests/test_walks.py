"""Random walks with restart (gnnrec_lite.walks) against independent references: dense solves, exact expectations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gnnrec_lite as g
from gnnrec_lite.walks import item_neighbors, item_visit_counts, personalized_pagerank, visit_counts


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


def _expected_visits(train: g.Interactions, *, num_hops: int, alpha: float) -> torch.Tensor:
    """Exact expected visit counts per start item, summed over hops: x_{t+1} = a e_s + (1 - a) x_t P."""
    r = torch.zeros(train.num_users, train.num_items, dtype=torch.float64)
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        r[u, i] = 1.0
    p_iu = r.T / r.T.sum(1, keepdim=True).clamp(min=1)  # (I, U)
    p_ui = r / r.sum(1, keepdim=True).clamp(min=1)  # (U, I)
    p = p_iu @ p_ui  # (I, I): one item -> user -> item hop
    eye = torch.eye(train.num_items, dtype=torch.float64)
    x, total = eye.clone(), torch.zeros_like(eye)
    for _ in range(num_hops):
        total += x @ p
        x = alpha * eye + (1 - alpha) * (x @ p)
    total.fill_diagonal_(0.0)
    return total


@pytest.fixture(scope="module")
def item_graph():
    return g.synthetic(40, 30, 300, num_communities=3, seed=0)


def test_item_neighbors_match_exact_expectation(item_graph):
    graph = item_graph
    t = 5
    nbrs, wts = item_neighbors(graph, num_neighbors=t, num_walks=4000, num_hops=6, restart_prob=0.4, seed=1)
    exact = _expected_visits(graph, num_hops=6, alpha=0.4)  # (I, I)
    best = exact.sort(1, descending=True).values[:, :t].sum(1)  # mass of the exact top-T
    got = exact.gather(1, nbrs.clamp(min=0)).mul(nbrs >= 0).sum(1)
    assert (got >= 0.97 * best).all()
    share = exact / exact.sum(1, keepdim=True)  # visit share per neighbour
    rows = torch.arange(graph.num_items)[:, None]
    expected_w = share[rows, nbrs] / share[rows, nbrs].sum(1, keepdim=True)
    assert torch.allclose(wts.double(), expected_w, atol=0.02)


def test_item_neighbors_shape_no_self_and_padding():
    keep = g.synthetic(20, 12, 80, seed=2)
    mask = keep.item != 3  # item 3 loses every edge
    train = keep.subset(mask)
    nbrs, wts = item_neighbors(train, num_neighbors=15, num_walks=50, num_hops=5, seed=0)
    assert nbrs.shape == (12, 15) and wts.shape == (12, 15) and nbrs.dtype == torch.int64
    assert (nbrs[3] == -1).all() and (wts[3] == 0).all()
    assert not (nbrs == 3).any()
    assert not (nbrs == torch.arange(12)[:, None]).any()
    assert (nbrs[:, 11:] == -1).all()  # at most 11 other items
    valid = nbrs >= 0
    assert torch.allclose(wts.sum(1)[valid.any(1)], torch.ones(int(valid.any(1).sum())))
    assert (wts[~valid] == 0).all()
    again = item_neighbors(train, num_neighbors=15, num_walks=50, num_hops=5, seed=0)
    assert torch.equal(again[0], nbrs) and torch.equal(again[1], wts)


@pytest.mark.parametrize("kwargs, name", [({"num_neighbors": 0}, "num_neighbors"),
                                          ({"restart_prob": 0.0}, "restart_prob"), ({"num_walks": 1.5}, "num_walks")])
def test_item_neighbors_bad_arguments(item_graph, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        item_neighbors(item_graph, **kwargs)


def test_item_visit_counts_average_to_the_exact_expectation(item_graph):
    starts = torch.tensor([0, 5, 17])
    counts = item_visit_counts(item_graph, starts, num_walks=6000, num_hops=4, restart_prob=0.3, seed=2)  # (3, I)
    exact = _expected_visits(item_graph, num_hops=4, alpha=0.3)[starts]  # per walker
    assert counts.shape == (3, item_graph.num_items) and (counts[torch.arange(3), starts] == 0).all()
    assert torch.allclose(counts.double() / 6000, exact, atol=0.03)
    again = item_visit_counts(item_graph, starts, num_walks=6000, num_hops=4, restart_prob=0.3, seed=2)
    assert torch.equal(again, counts)


def test_item_visit_counts_refuses_an_item_without_edges():
    inter = g.Interactions(2, 3, [0, 1], [0, 1])
    with pytest.raises(ValueError, match="item 2"):
        item_visit_counts(inter, [0, 2])
