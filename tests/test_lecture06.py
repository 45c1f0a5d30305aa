"""Lecture 06 (PinSAGE) run in FAST mode; its records checked against independent computations, and its claims."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gnnrec_lite as gl
from gnnrec_lite.baselines import item_similarities
from gnnrec_lite.item2item import prepare_item2item
from lectures import assert_claims_hold, assert_exercises_not_attempted, execute, notebook_parameters

pytestmark = [pytest.mark.slow, pytest.mark.data]
STEM = "06_pinsage"


P = notebook_parameters(STEM)


@pytest.fixture(scope="module")
def records():
    return execute(STEM)[1]


@pytest.fixture(scope="module")
def i2i():
    return prepare_item2item(gl.load("ml-100k"), seed=P["SEED"])


def test_claims_checked_in_fast_mode_hold():
    assert_claims_hold(STEM)


def test_the_notebook_runs_to_the_end_with_every_exercise_not_attempted():
    assert_exercises_not_attempted(STEM)


def layers(table: np.ndarray, seeds, k: int) -> list[set]:
    """[V^(0), ..., V^(k)] by plain set unions over the neighbour table (-1 is padding)."""
    out = [set(int(s) for s in seeds)]
    for _ in range(k):
        out.insert(0, out[0] | {int(u) for v in out[0] for u in table[v] if u >= 0})
    return out


def test_co_rated_movies_of_the_query(records, i2i):
    g = i2i["graph"]
    query = gl.load("ml-100k").item_names.index(P["QUERY"])
    r = np.zeros((g.num_users, g.num_items), dtype=bool)
    r[g.user.numpy(), g.item.numpy()] = True
    assert records["walks/co-rated movies of the query"] == int((r[r[:, query]].any(0)).sum()) - 1
    assert 10 <= records["walks/movies visited from the query"] <= records["walks/co-rated movies of the query"]
    assert 0 < records["walks/top-10 share of visits"] <= 1


def test_computation_graph_layers_by_set_unions(records, i2i):
    table = i2i["neighbors"].numpy()
    query = gl.load("ml-100k").item_names.index(P["QUERY"])
    assert records["graph/one movie layer sizes"] == [len(s) for s in layers(table, [query], 2)]
    gen = torch.Generator().manual_seed(P["SEED"])
    b, m = P["BATCH_PAIRS"], P["NUM_NEGATIVES"]
    batch = torch.randperm(len(i2i["train_pairs"]), generator=gen)[:b]
    negatives = i2i["negatives"][torch.randint(i2i["negatives"].numel(), (m,), generator=gen)]  # the shared draw
    seeds = set(i2i["train_pairs"][batch].flatten().tolist()) | set(negatives.tolist())
    sizes = [len(s) for s in layers(table, seeds, 2)]
    assert records["graph/batch slots"] == 2 * b + m
    assert records["graph/batch layer sizes"] == sizes
    assert records["graph/batch computed"] == sizes[1] + sizes[2]   # the targets of both blocks


def test_nodes_computed_when_every_movie_goes_through_batches(records, i2i):
    table = i2i["neighbors"].numpy()
    total = 0
    for lo in range(0, table.shape[0], P["BATCH_PAIRS"]):
        sizes = [len(s) for s in layers(table, range(lo, min(lo + P["BATCH_PAIRS"], table.shape[0])), 2)]
        total += sizes[1] + sizes[2]
    assert records["inference/nodes computed by batches"] == total


def test_exact_identities(records):
    assert records["pooling/max abs diff"] < 1e-5
    assert records["inference/max abs diff"] < 1e-5
    assert records["margin/first query by hand"] >= 0
    assert 0.9 < records["margin/untrained active share"] <= 1


def test_item_knn_hit_rate_with_random_ties_by_numpy(records, i2i):
    # the similarities are the library's (tests/test_baselines.py checks them against brute force); the ranking
    # and the expectation over a random order of tied items are recomputed here
    g = i2i["graph"]
    keep = item_similarities(g).to_dense().double().numpy()
    pairs = i2i["test_pairs"].numpy()
    hits = []
    for q, t in pairs:
        row = keep[q].copy()
        row[q] = -np.inf
        higher = (row > row[t]).sum()
        tied = (row == row[t]).sum()                              # the target and the items tied with it
        hits.append(min(max(10 - higher, 0), tied) / tied)
    assert records["knn/hit@10"] == pytest.approx(np.mean(hits), abs=1e-9)
    assert records["knn/cold hit@10"] == pytest.approx(10 / (g.num_items - 1))   # cold rows are empty: chance


def test_encoders_and_genre_chance(records):
    g = gl.load("ml-100k").item_features.double().numpy()
    both = (g @ g.T) > 0
    n = len(g)
    assert records["item2item/genre chance"] == pytest.approx((both.sum() - np.trace(both)) / (n * (n - 1)))
    encoders = {"features only", "shallow table", "pinsage", "pinsage + per-item vector"}
    for key in ("item2item/hit@10", "item2item/cold hit@10", "item2item/cold genre share@10"):
        assert set(records[key]) == encoders and all(0 <= v <= 1 for v in records[key].values())
    chance = 10 / (n - 1)
    assert all(v > chance for v in records["item2item/hit@10"].values())


def test_aggregator_failures_by_numpy_pooling(records):
    # GIN (Xu et al. 2019), Figure 3, as one-hot rows: (a) 2 vs 3 copies of one feature; (b) {g, r} vs
    # {g, r, r}; (c) {g, r} vs {g, g, r, r}. A pooling fails when both sides pool alike.
    g, r = [1.0, 0.0], [0.0, 1.0]
    pairs = {"a": ([g, g], [g, g, g]), "b": ([g, r], [g, r, r]), "c": ([g, r], [g, g, r, r])}
    pool = {"sum": lambda x: np.sum(x, 0), "mean": lambda x: np.mean(x, 0), "max": lambda x: np.max(x, 0)}
    expected = {name: [how for how in ("sum", "mean", "max")
                       if np.allclose(pool[how](np.array(first)), pool[how](np.array(second)))]
                for name, (first, second) in pairs.items()}
    assert records["aggregators/fails"] == expected
    assert records["aggregators/pinsage mean pooling difference"] < 1e-6
    assert records["aggregators/pinsage sum pooling difference"] > 1e-4
    assert not math.isnan(records["aggregators/pinsage sum pooling difference"])
