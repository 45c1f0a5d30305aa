"""Graph views: edge_index, homogeneous edge_index, (normalized) adjacency, networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from networkx.algorithms import bipartite
from torch_geometric.utils import degree as pyg_degree
from torch_geometric.utils import to_undirected

from gnnrec_lite import (
    Interactions,
    southern_women,
    synthetic,
    to_adjacency,
    to_edge_index,
    to_homogeneous_edge_index,
    to_networkx,
)


def with_isolated() -> Interactions:
    """3 users, 4 items; item 3 and user 2 have no interaction."""
    return Interactions(3, 4, [0, 0, 1, 1, 0], [0, 1, 1, 2, 2], item_names=["a", "b", "c", "d"],
                        user_raw_ids=["x", "y", "z"], name="iso")


GRAPHS = {
    "isolated": with_isolated,
    "southern-women": southern_women,
    "synthetic": lambda: synthetic(40, 30, 200, seed=1),
}


def dense_a(inter: Interactions) -> np.ndarray:
    """A = [[0, R], [R^T, 0]] built entry by entry from the edges."""
    n = inter.num_users + inter.num_items
    a = np.zeros((n, n))
    for u, i in zip(inter.user.tolist(), inter.item.tolist()):
        a[u, inter.num_users + i] += 1
        a[inter.num_users + i, u] += 1
    return a


def dense_normalized(a: np.ndarray) -> np.ndarray:
    """D^-1/2 A D^-1/2 with 0 for nodes of degree 0."""
    deg = a.sum(axis=1)
    inv = np.zeros_like(deg)
    inv[deg > 0] = 1.0 / np.sqrt(deg[deg > 0])
    return np.diag(inv) @ a @ np.diag(inv)


# ----------------------------------------------------------------- edge_index
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_to_edge_index(name):
    inter = GRAPHS[name]()
    ei = to_edge_index(inter)
    assert ei.shape == (2, len(inter)) and ei.dtype == torch.int64
    assert ei[0].tolist() == inter.user.tolist() and ei[1].tolist() == inter.item.tolist()


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_homogeneous_edge_index_matches_pyg_to_undirected(name):
    inter = GRAPHS[name]()
    ei = to_homogeneous_edge_index(inter)
    n = inter.num_users + inter.num_items
    assert ei.shape == (2, 2 * len(inter)) and ei.dtype == torch.int64
    assert int(ei.min()) >= 0 and int(ei.max()) < n
    offset = torch.stack([inter.user, inter.item + inter.num_users])
    ref = to_undirected(offset, num_nodes=n)
    assert set(map(tuple, ei.t().tolist())) == set(map(tuple, ref.t().tolist()))
    # no duplicate edge and no self-loop (pairs are distinct, users and items disjoint)
    assert len(set(map(tuple, ei.t().tolist()))) == ei.shape[1]
    assert not bool((ei[0] == ei[1]).any())


def test_homogeneous_edge_index_offsets_items():
    inter = with_isolated()
    ei = to_homogeneous_edge_index(inter)
    edges = set(map(tuple, ei.t().tolist()))
    assert (0, 3) in edges and (3, 0) in edges  # user 0 - item 0 is node 3
    assert (1, 5) in edges and (5, 1) in edges  # user 1 - item 2 is node 5
    assert all(6 not in e for e in edges)  # item 3 (node 6) is isolated
    assert all(2 not in e for e in edges)  # so is user 2


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_homogeneous_degree_matches_interaction_degrees(name):
    inter = GRAPHS[name]()
    ei = to_homogeneous_edge_index(inter)
    deg = pyg_degree(ei[0], num_nodes=inter.num_users + inter.num_items)
    assert deg[:inter.num_users].long().tolist() == inter.user_degree().tolist()
    assert deg[inter.num_users:].long().tolist() == inter.item_degree().tolist()


# ------------------------------------------------------------------ adjacency
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_adjacency_unnormalized_equals_dense_a(name):
    inter = GRAPHS[name]()
    adj = to_adjacency(inter, normalize=False)
    n = inter.num_users + inter.num_items
    assert adj.layout == torch.sparse_csr and adj.shape == (n, n) and adj.dtype == torch.float32
    np.testing.assert_array_equal(adj.to_dense().numpy(), dense_a(inter))


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_adjacency_normalized_equals_dense_formula(name):
    inter = GRAPHS[name]()
    adj = to_adjacency(inter).to_dense().numpy()
    want = dense_normalized(dense_a(inter))
    assert np.isfinite(adj).all()
    np.testing.assert_allclose(adj, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(adj, adj.T, rtol=0, atol=0)
    assert np.all(np.diag(adj) == 0)  # no self-loops


def test_adjacency_user_item_blocks():
    inter = synthetic(20, 15, 80, seed=3)
    a = to_adjacency(inter, normalize=False).to_dense().numpy()
    u = inter.num_users
    r = inter.to_csr().to_dense().numpy()
    np.testing.assert_array_equal(a[:u, u:], r)
    np.testing.assert_array_equal(a[u:, :u], r.T)
    assert not a[:u, :u].any() and not a[u:, u:].any()


def test_adjacency_isolated_nodes_have_zero_rows():
    inter = with_isolated()
    adj = to_adjacency(inter).to_dense()
    isolated_item, isolated_user = inter.num_users + 3, 2
    for node in (isolated_item, isolated_user):
        assert torch.count_nonzero(adj[node]) == 0 and torch.count_nonzero(adj[:, node]) == 0
    assert not torch.isnan(adj).any()
    # hand-computed entry: user 0 has degree 3, item 1 (node 4) has degree 2
    assert adj[0, 4].item() == pytest.approx(1 / np.sqrt(6))


def test_adjacency_float64_and_spectrum():
    inter = southern_women()
    adj = to_adjacency(inter, dtype=torch.float64)
    assert adj.dtype == torch.float64
    eig = np.linalg.eigvalsh(adj.to_dense().numpy())
    # the normalized adjacency of a bipartite graph has spectrum in [-1, 1], symmetric, with 1 and -1
    assert eig.max() == pytest.approx(1.0) and eig.min() == pytest.approx(-1.0)
    np.testing.assert_allclose(np.sort(eig), np.sort(-eig), atol=1e-10)


def test_adjacency_with_repeated_interactions_adds_up():
    inter = Interactions(2, 2, [0, 0, 1], [1, 1, 0], allow_duplicates=True)
    a = dense_a(inter)
    assert a[0, 3] == 2
    np.testing.assert_array_equal(to_adjacency(inter, normalize=False).to_dense().numpy(), a)
    np.testing.assert_allclose(to_adjacency(inter).to_dense().numpy(), dense_normalized(a), rtol=1e-6)


def test_adjacency_matmul_is_neighbour_average():
    """Â x on an all-ones signal gives sum_j 1/sqrt(d_i d_j) over neighbours, checked against networkx."""
    inter = southern_women()
    adj = to_adjacency(inter, dtype=torch.float64)
    out = (adj @ torch.ones(adj.shape[0], 1, dtype=torch.float64)).flatten().numpy()
    graph = to_networkx(inter)
    nodes = [f"u{u}" for u in range(inter.num_users)] + [f"i{i}" for i in range(inter.num_items)]
    for k, node in enumerate(nodes):
        d = graph.degree(node)
        want = sum(1 / np.sqrt(d * graph.degree(nb)) for nb in graph.neighbors(node))
        assert out[k] == pytest.approx(want)


# ------------------------------------------------------------------- networkx
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_to_networkx_nodes_edges_and_bipartite(name):
    inter = GRAPHS[name]()
    graph = to_networkx(inter)
    assert isinstance(graph, nx.Graph) and not graph.is_directed()
    assert graph.number_of_nodes() == inter.num_users + inter.num_items
    assert graph.number_of_edges() == len(pairs := set(zip(inter.user.tolist(), inter.item.tolist())))
    assert {frozenset(e) for e in graph.edges()} == {frozenset((f"u{u}", f"i{i}")) for u, i in pairs}
    assert bipartite.is_bipartite(graph)
    users = {n for n, side in graph.nodes(data="bipartite") if side == 0}
    items = {n for n, side in graph.nodes(data="bipartite") if side == 1}
    assert users == {f"u{u}" for u in range(inter.num_users)}
    assert items == {f"i{i}" for i in range(inter.num_items)}
    assert bipartite.is_bipartite_node_set(graph, users)
    for u in range(inter.num_users):
        assert graph.nodes[f"u{u}"]["index"] == u
    for i in range(inter.num_items):
        assert graph.nodes[f"i{i}"]["index"] == i
    assert dict(graph.degree(users)) == {f"u{u}": d for u, d in enumerate(inter.user_degree().tolist())}


def test_to_networkx_includes_isolated_nodes_and_labels():
    inter = with_isolated()
    graph = to_networkx(inter)
    assert graph.degree("u2") == 0 and graph.degree("i3") == 0
    assert [graph.nodes[f"u{u}"]["label"] for u in range(3)] == ["x", "y", "z"]
    assert [graph.nodes[f"i{i}"]["label"] for i in range(4)] == ["a", "b", "c", "d"]
    assert graph.graph["name"] == "iso"


def test_to_networkx_labels_fall_back_to_raw_ids():
    inter = Interactions.from_raw([30, 10, 20], ["m2", "m1", "m2"])
    graph = to_networkx(inter)
    assert [graph.nodes[f"u{u}"]["label"] for u in range(3)] == ["10", "20", "30"]
    assert [graph.nodes[f"i{i}"]["label"] for i in range(2)] == ["m1", "m2"]


def test_to_networkx_adjacency_matches_to_adjacency():
    inter = synthetic(25, 20, 120, seed=4)
    graph = to_networkx(inter)
    nodes = [f"u{u}" for u in range(inter.num_users)] + [f"i{i}" for i in range(inter.num_items)]
    a = nx.to_numpy_array(graph, nodelist=nodes)
    np.testing.assert_array_equal(a, to_adjacency(inter, normalize=False).to_dense().numpy())
    np.testing.assert_array_equal(a[:inter.num_users, inter.num_users:], inter.to_csr().to_dense().numpy())
