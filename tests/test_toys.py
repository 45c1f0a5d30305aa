"""Datasets that need no download: Davis' Southern Women, the lecture toy, the synthetic generator."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from networkx.algorithms import bipartite

from gnnrec_lite import lecture_toy, load, southern_women, synthetic
from gnnrec_lite.datasets import LectureToy


def pairs(inter) -> set[tuple[int, int]]:
    return set(zip(inter.user.tolist(), inter.item.tolist()))


# -------------------------------------------------------------- southern women
def test_southern_women_matches_networkx():
    graph = nx.davis_southern_women_graph()
    women = {n for n, side in graph.nodes(data="bipartite") if side == 0}
    events = {n for n, side in graph.nodes(data="bipartite") if side == 1}
    inter = southern_women()
    assert (inter.num_users, inter.num_items, len(inter)) == (18, 14, 89)
    assert (len(women), len(events), graph.number_of_edges()) == (18, 14, 89)
    assert set(inter.user_raw_ids.tolist()) == women
    assert set(inter.item_raw_ids.tolist()) == events
    assert inter.item_names == list(inter.item_raw_ids)
    by_name = {(str(inter.user_raw_ids[u]), str(inter.item_raw_ids[i])) for u, i in pairs(inter)}
    want = {(a, b) if a in women else (b, a) for a, b in graph.edges()}
    assert by_name == want


def test_southern_women_degrees_and_lookup():
    graph = nx.davis_southern_women_graph()
    inter = southern_women()
    for u, d in enumerate(inter.user_degree().tolist()):
        assert graph.degree(inter.user_raw_ids[u]) == d
    for i, d in enumerate(inter.item_degree().tolist()):
        assert graph.degree(inter.item_raw_ids[i]) == d
    u = inter.user_index("Evelyn Jefferson")
    assert {inter.item_names[i] for i in inter.items_of(u).tolist()} == set(graph["Evelyn Jefferson"])


def test_southern_women_projection_matches_networkx():
    """Co-attendance counts R R^T equal networkx's weighted projection onto the women."""
    graph = nx.davis_southern_women_graph()
    women = [n for n, side in graph.nodes(data="bipartite") if side == 0]
    projected = bipartite.weighted_projected_graph(graph, women)
    inter = southern_women()
    r = inter.to_csr().to_dense().numpy()
    co = r @ r.T
    for a in range(inter.num_users):
        for b in range(inter.num_users):
            if a == b:
                continue
            na, nb = inter.user_raw_ids[a], inter.user_raw_ids[b]
            w = projected[na][nb]["weight"] if projected.has_edge(na, nb) else 0
            assert co[a, b] == w


def test_southern_women_via_load():
    assert pairs(load("southern-women")) == pairs(southern_women())


# ---------------------------------------------------------------- lecture toy
def test_lecture_toy_story():
    toy = lecture_toy()
    assert isinstance(toy, LectureToy)
    assert pairs(toy.train) == {(0, 0), (1, 1)}
    assert toy.scores.shape == (2, 2) and toy.scores.is_floating_point()
    # each user ranks its own positive first: Recall@1 = 1
    for u in range(2):
        positive = toy.train.items_of(u).tolist()
        assert positive == [u]
        assert int(torch.argmax(toy.scores[u])) == positive[0]
    # yet the negative edge (u1, v0) outscores the positive edge (u0, v0)
    assert toy.scores[1, 0] > toy.scores[0, 0]
    assert toy.train.user_index("u1") == 1 and toy.train.item_index("v0") == 0
    assert toy.train.item_names == ["v0", "v1"]


def test_lecture_toy_via_load():
    assert pairs(load("lecture-toy")) == {(0, 0), (1, 1)}


# ------------------------------------------------------------------ synthetic
SMALL = dict(num_users=120, num_items=150, num_interactions=2500)


def test_synthetic_same_seed_identical():
    a, b = synthetic(**SMALL, seed=3), synthetic(**SMALL, seed=3)
    assert torch.equal(a.user, b.user) and torch.equal(a.item, b.item)
    assert torch.equal(a.timestamp, b.timestamp)
    assert a.user_meta == b.user_meta and a.item_meta == b.item_meta


def test_synthetic_different_seeds_differ():
    a, b = synthetic(**SMALL, seed=3), synthetic(**SMALL, seed=4)
    assert pairs(a) != pairs(b)
    assert a.user_meta["community"] != b.user_meta["community"]


def test_synthetic_default_and_load_agree():
    a = synthetic()
    assert (a.num_users, a.num_items, len(a)) == (1000, 2000, 20_000)
    b = load("synthetic")
    assert torch.equal(a.user, b.user) and torch.equal(a.item, b.item)


@pytest.mark.parametrize(
    ("num_users", "num_items", "num_interactions", "kwargs"),
    [
        (120, 150, 2500, {}),
        (50, 20, 50, {}),  # exactly one interaction per user
        (30, 40, 600, {"popularity_exponent": 0.0}),  # half of all pairs
        (30, 40, 600, {"affinity": 0.0}),
        (10, 20, 200, {}),  # every pair
        (100, 200, 10_000, {}),  # half of all pairs, long tail
    ],
)
def test_synthetic_exact_count_distinct_pairs_everyone_active(num_users, num_items, num_interactions, kwargs):
    inter = synthetic(num_users, num_items, num_interactions, seed=1, **kwargs)
    assert (inter.num_users, inter.num_items) == (num_users, num_items)
    assert len(inter) == num_interactions
    assert len(pairs(inter)) == len(inter)  # no duplicates
    assert int(inter.user_degree().min()) >= 1
    assert inter.timestamp is not None and inter.timestamp.shape == (len(inter),)


def test_synthetic_communities_in_meta():
    inter = synthetic(**SMALL, num_communities=5, seed=2)
    uc, ic = inter.user_meta["community"], inter.item_meta["community"]
    assert len(uc) == SMALL["num_users"] and len(ic) == SMALL["num_items"]
    assert set(ic) == set(range(5))  # every community has items
    assert set(uc) <= set(range(5))
    assert np.bincount(ic).max() - np.bincount(ic).min() <= 1  # items spread evenly


def within_community_share(inter) -> float:
    uc = np.asarray(inter.user_meta["community"])
    ic = np.asarray(inter.item_meta["community"])
    return float(np.mean(uc[inter.user.numpy()] == ic[inter.item.numpy()]))


@pytest.mark.parametrize("affinity", [0.0, 0.5, 0.8])
def test_synthetic_planted_structure(affinity):
    c = 8
    inter = synthetic(1000, 2000, 20_000, num_communities=c, affinity=affinity, popularity_exponent=0.0, seed=5)
    uc = np.asarray(inter.user_meta["community"])
    ic = np.asarray(inter.item_meta["community"])
    # with uniform popularity, a random draw lands in community k with probability (items in k) / num_items
    item_share = np.bincount(ic, minlength=c) / len(ic)
    expected = affinity + (1 - affinity) * float(np.mean(item_share[uc[inter.user.numpy()]]))
    assert within_community_share(inter) == pytest.approx(expected, abs=0.03)


def test_synthetic_structure_well_above_chance_with_long_tail():
    inter = synthetic(**SMALL, num_communities=4, affinity=0.8, seed=6)
    assert within_community_share(inter) > 0.6  # chance level is about 1/4


def top_share(inter) -> float:
    deg = np.sort(np.bincount(inter.item.numpy(), minlength=inter.num_items))[::-1]
    return deg[: inter.num_items // 5].sum() / deg.sum()


def test_synthetic_long_tail_popularity():
    long_tail = synthetic(1000, 2000, 20_000, popularity_exponent=1.0, seed=7)
    flat = synthetic(1000, 2000, 20_000, popularity_exponent=0.0, seed=7)
    assert top_share(long_tail) > 0.6  # a clear majority on 20% of the items
    assert top_share(flat) < 0.35  # 0.2 up to sampling noise
    assert top_share(long_tail) == pytest.approx(long_tail.describe()["share_of_top_20pct_items"])


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"num_users": 0}, ValueError, "num_users"),
        ({"num_items": 0}, ValueError, "num_items"),
        ({"num_users": 2.5}, TypeError, "num_users"),
        ({"num_interactions": 10}, ValueError, "num_interactions"),  # fewer than users
        ({"num_interactions": 20 * 30 + 1}, ValueError, "num_interactions"),  # more than pairs
        ({"num_communities": 0}, ValueError, "num_communities"),
        ({"num_communities": 21}, ValueError, "num_communities"),  # more than users
        ({"affinity": 1.5}, ValueError, "affinity"),
        ({"affinity": -0.1}, ValueError, "affinity"),
        ({"affinity": "high"}, TypeError, "affinity"),
        ({"popularity_exponent": -1.0}, ValueError, "popularity_exponent"),
        ({"popularity_exponent": float("nan")}, ValueError, "popularity_exponent"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_synthetic_bad_arguments(kwargs, error, name):
    args = {"num_users": 20, "num_items": 30, "num_interactions": 100, **kwargs}
    with pytest.raises(error, match=rf"^{name}\b"):
        synthetic(**args)


@pytest.mark.parametrize("affinity", [0.0, 1.0])
def test_synthetic_affinity_bounds_are_allowed(affinity):
    inter = synthetic(20, 30, 100, num_communities=2, affinity=affinity, seed=0)
    assert len(inter) == 100
    if affinity == 1.0:
        assert within_community_share(inter) == 1.0
