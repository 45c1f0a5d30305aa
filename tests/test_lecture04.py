"""Lecture 04 (NGCF) run in FAST mode; its records checked against independent computations, and its claims."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import dense_norm_adj

import gnnrec_lite as gl
from gnnrec_lite.models import build_model
from lectures import assert_claims_hold, assert_exercises_not_attempted, execute, notebook_parameters

pytestmark = [pytest.mark.slow, pytest.mark.data]
STEM = "04_ngcf"


P = notebook_parameters(STEM)


@pytest.fixture(scope="module")
def records():
    return execute(STEM)[1]


def test_claims_checked_in_fast_mode_hold():
    assert_claims_hold(STEM)


def test_graph_size(records, split):
    train, _ = split
    assert records["graph/nodes"] == train.num_users + train.num_items == 943 + 1682


def _hop_ball(train, starts, k):
    """Nodes within k hops (users 0..U-1, items U..), breadth-first over adjacency lists."""
    nbrs = [[] for _ in range(train.num_users + train.num_items)]
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        nbrs[u].append(train.num_users + i)
        nbrs[train.num_users + i].append(u)
    seen, frontier = set(starts), set(starts)
    for _ in range(k):
        frontier = {w for v in frontier for w in nbrs[v]} - seen
        seen |= frontier
    return len(seen)


def test_gradient_reaches_exactly_the_k_hop_neighbourhood(records, split):
    train, _ = split
    u, pos, neg = records["reach/triple"]
    starts = [u, train.num_users + pos, train.num_users + neg]
    expected = [_hop_ball(train, starts, k) for k in range(P["NUM_LAYERS"] + 1)]
    assert records["reach/k-hop nodes"] == expected
    assert records["reach/gradient rows"] == expected


def test_receptive_field_matches_block_reachability(records, split):
    train, _ = split
    r = np.zeros((train.num_users, train.num_items), dtype=np.float32)
    r[train.user.numpy(), train.item.numpy()] = 1.0
    eye = np.eye(train.num_users, dtype=bool)
    users2 = ((r @ r.T) > 0) | eye                       # users within 2 hops (self included)
    items1 = r > 0                                       # items within 1 hop
    items3 = (users2.astype(np.float32) @ r) > 0         # items within 3 hops
    users4 = ((items3.astype(np.float32) @ r.T) > 0) | users2
    n = train.num_users + train.num_items
    sizes = [1 + items1.sum(1), users2.sum(1) + items1.sum(1), users2.sum(1) + items3.sum(1),
             users4.sum(1) + items3.sum(1)]
    expected = [float(np.median(s)) / n for s in sizes]
    assert records["reach/median share within k hops"] == pytest.approx(expected, abs=1e-12)


def test_scratch_layer_equals_the_dense_ngcf_formula(records):
    sw = gl.southern_women()
    model = build_model("ngcf", sw, seed=P["SEED"], embedding_dim=4, num_layers=1)
    h0 = model.initial_embeddings().detach().double().numpy()
    a_hat = dense_norm_adj(sw)
    m = a_hat @ h0

    def lin(layer, x):
        return x @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()

    pre = lin(model.w_self[0], m + h0) + lin(model.w_inter[0], m * h0)
    h1 = np.where(pre > 0, pre, 0.2 * pre)              # LeakyReLU, slope 0.2
    np.testing.assert_allclose(records["scratch/layer-1 rows"], h1[:3], atol=1e-6)


def test_parameter_counts_follow_the_formulas(records, split):
    train, _ = split
    n, d, k = train.num_users + train.num_items, P["EMBEDDING_DIM"], P["NUM_LAYERS"]
    assert records["mf/parameters"] == n * d
    assert records["ngcf/parameters"] == n * d + 2 * k * (d * d + d)


def test_trained_models_beat_random_ranking_and_stop_on_validation(records, split):
    train, test = split
    users = torch.unique(test.user)
    candidates = train.num_items - train.user_degree()[users].double()
    random_recall = float((20 / candidates).mean())     # each unseen item is in a random top-20 w.p. 20 / C_u
    for name in ("mf", "ngcf"):
        assert 5 * random_recall < records[f"{name}/recall@20"] <= 1
        assert 0 < records[f"{name}/ndcg@20"] <= 1
        assert 5 * random_recall < records[f"{name}/val recall@20"] <= 1
        # FAST mode evaluates every epoch and stops after at most EPOCHS = 2 of them
        assert 1 <= records[f"{name}/best epoch"] <= records[f"{name}/epochs run"] <= min(P["EPOCHS"], 2)
    assert set(records["timing/seconds per epoch"]) == {"mf", "ngcf"}
    assert all(v > 0 for v in records["timing/seconds per epoch"].values())


def test_the_notebook_runs_to_the_end_with_every_exercise_not_attempted():
    assert_exercises_not_attempted(STEM)
