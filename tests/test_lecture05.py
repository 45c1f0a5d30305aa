"""Lecture 05 (LightGCN) run in FAST mode; its records checked against independent computations, its claims, and
its exercises left as stubs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import by_user, dense_norm_adj, popularity_ranking, recall_reference, spearman
from test_lecture03 import itemknn_rows

import gnnrec_lite as gl
from gnnrec_lite.models import build_model
from lectures import assert_claims_hold, assert_exercises_not_attempted, execute, notebook_parameters

pytestmark = [pytest.mark.slow, pytest.mark.data]
STEM = "05_lightgcn"


P = notebook_parameters(STEM)


def dense_lightgcn(a_hat: np.ndarray, e: np.ndarray, k: int) -> np.ndarray:
    """sum_{j=0..k} Â^j E / (k + 1), the lecture's formula, densely."""
    out, x = e / (k + 1), e
    for _ in range(k):
        x = a_hat @ x
        out = out + x / (k + 1)
    return out


@pytest.fixture(scope="module")
def records():
    return execute(STEM)[1]


@pytest.fixture(scope="module")
def a_hat_ml(split):
    return dense_norm_adj(split[0])


@pytest.fixture(scope="module")
def fit(split):
    return gl.random_split(split[0], 0.9, seed=P["SEED"] + 1)[0]  # the lecture's training part without validation


def test_claims_checked_in_fast_mode_hold():
    assert_claims_hold(STEM)


def test_the_exercises_are_stubs_reported_not_attempted_and_the_notebook_runs_to_the_end():
    assert_exercises_not_attempted(STEM)


def test_pyg_layers_agree_with_the_library(records):
    assert 0 <= records["pyg/lgconv max abs diff"] < 1e-5
    assert 0 <= records["pyg/lightgcn max abs diff"] < 1e-5


def test_where_ngcf_parameters_are(records, split):
    train, _ = split
    n, d, k = train.num_users + train.num_items, P["EMBEDDING_DIM"], P["NUM_LAYERS"]
    assert records["params/ngcf table"] == n * d
    assert records["params/ngcf gnn"] == 2 * k * (d * d + d)
    assert records["params/table share"] == pytest.approx(n * d / (n * d + 2 * k * (d * d + d)))


def test_spectrum_of_the_dense_normalized_adjacency(records):
    eig = np.linalg.eigvalsh(dense_norm_adj(gl.southern_women()))
    assert records["adjacency/eigenvalue range"] == pytest.approx([eig.min(), eig.max()], abs=1e-9)


def test_gcn_layers_with_and_without_relu_in_numpy(records):
    sw = gl.southern_women()
    a_hat = dense_norm_adj(sw)
    gen = torch.Generator().manual_seed(P["SEED"])   # the lecture's draws, in its order
    e = torch.randn(a_hat.shape[0], 8, generator=gen, dtype=torch.float64).numpy()
    ws = [torch.randn(8, 8, generator=gen, dtype=torch.float64).numpy() / 8 ** 0.5 for _ in range(P["NUM_LAYERS"])]
    linear, relu = e, e
    for w in ws:
        linear = a_hat @ linear @ w
        relu = np.maximum(a_hat @ relu @ w, 0)
    collapsed = np.linalg.matrix_power(a_hat, P["NUM_LAYERS"]) @ e @ np.linalg.multi_dot(ws)
    assert records["sgc/linear collapse max abs diff"] == pytest.approx(np.abs(linear - collapsed).max(), abs=1e-12)
    assert records["sgc/relu max abs diff"] == pytest.approx(np.abs(relu - collapsed).max(), rel=1e-9)


def test_library_propagation_equals_the_dense_formula(records):
    sw = gl.southern_women()
    model = build_model("lightgcn", sw, seed=P["SEED"], embedding_dim=4, num_layers=P["NUM_LAYERS"])
    e = model.initial_embeddings().detach().double().numpy()
    expected = dense_lightgcn(dense_norm_adj(sw), e, P["NUM_LAYERS"])
    np.testing.assert_allclose(records["lightgcn/southern women rows"], expected[:3], atol=1e-6)


def test_powers_of_a_hat_fill_up(records, a_hat_ml, split):
    train, _ = split
    pattern = (a_hat_ml > 0).astype(np.float32)
    power, expected = pattern.copy(), []
    for _ in range(4):
        expected.append(int((power > 0).sum()))
        power = ((power @ pattern) > 0).astype(np.float32)  # walks of one more step (entries are positive)
    assert records["a_hat^k/nonzeros"] == expected
    n = train.num_users + train.num_items
    assert records["a_hat^k/density"] == pytest.approx([z / n ** 2 for z in expected])


def test_dense_and_sparse_memory(records, split):
    train, _ = split
    n, nnz = train.num_users + train.num_items, 2 * len(train)
    assert records["dense/megabytes"] == pytest.approx(4 * n * n / 2 ** 20)                 # float32 N x N
    assert records["sparse/megabytes"] == pytest.approx((nnz * (4 + 8) + (n + 1) * 8) / 2 ** 20)  # CSR
    assert records["dense/seconds"] > 0 and records["sparse/seconds"] > 0


def test_diffusion_curves_on_southern_women(records):
    sw = gl.southern_women()
    gen = torch.Generator().manual_seed(P["SEED"])
    e = torch.randn(sw.num_users + sw.num_items, 64, generator=gen, dtype=torch.float64).numpy()
    a_hat = dense_norm_adj(sw)
    r = np.zeros((sw.num_users, sw.num_items))
    r[sw.user.numpy(), sw.item.numpy()] = 1.0
    iu = np.triu_indices(sw.num_users, 1)
    shared = (r @ r.T)[iu]
    layers = [e]
    for _ in range(P["MAX_K"]):
        layers.append(a_hat @ layers[-1])

    def stats(z):
        zu = z[:sw.num_users] / np.linalg.norm(z[:sw.num_users], axis=1, keepdims=True)
        cos = (zu @ zu.T)[iu]
        return spearman(shared, cos), cos.mean()

    last = [stats(layers[k]) for k in range(P["MAX_K"] + 1)]
    avg = [stats(np.mean(layers[:k + 1], axis=0)) for k in range(P["MAX_K"] + 1)]
    assert records["diffusion/spearman by k"] == pytest.approx([s for s, _ in last], abs=1e-9)
    assert records["diffusion/mean cosine by k"] == pytest.approx([c for _, c in last], abs=1e-9)
    assert records["diffusion/spearman by k (average)"] == pytest.approx([s for s, _ in avg], abs=1e-9)
    assert records["diffusion/mean cosine by k (average)"] == pytest.approx([c for _, c in avg], abs=1e-9)


def test_untrained_similarities(records, fit):
    a_hat = dense_norm_adj(fit)
    model = build_model("lightgcn", fit, seed=P["SEED"], embedding_dim=P["EMBEDDING_DIM"],
                        num_layers=P["NUM_LAYERS"])
    e = model.initial_embeddings().detach().double().numpy()
    r = np.zeros((fit.num_users, fit.num_items))
    r[fit.user.numpy(), fit.item.numpy()] = 1.0
    pairs = np.triu_indices(fit.num_users, 1)
    shared = (r @ r.T)[pairs]

    def rho(z):
        z = z[:fit.num_users] / np.linalg.norm(z[:fit.num_users], axis=1, keepdims=True)
        return spearman(shared, (z @ z.T)[pairs])

    assert records["similarity/spearman random"] == pytest.approx(rho(e), abs=1e-6)
    assert records["similarity/spearman diffusion e2"] == pytest.approx(rho(a_hat @ (a_hat @ e)), abs=1e-6)
    assert records["similarity/spearman untrained lightgcn"] == pytest.approx(
        rho(dense_lightgcn(a_hat, e, P["NUM_LAYERS"])), abs=1e-6)
    assert -1 <= records["similarity/spearman mf"] <= 1
    assert -1 <= records["similarity/spearman lightgcn"] <= 1


def test_trained_models_beat_random_ranking_and_stop_within_the_budget(records, split):
    train, test = split
    users = torch.unique(test.user)
    random_recall = float((20 / (train.num_items - train.user_degree()[users].double())).mean())
    for name in ("mf", "ngcf", "lightgcn"):
        assert 5 * random_recall < records[f"{name}/recall@20"] <= 1
        assert 0 < records[f"{name}/ndcg@20"] <= 1
        assert 1 <= records[f"{name}/best epoch"] <= 2  # FAST: at most two epochs
    assert set(records["step seconds"]) == {"mf", "ngcf", "lightgcn"}
    assert all(s > 0 for s in records["step seconds"].values())


def test_baselines_by_plain_python(records, split, fit):
    train, test = split
    rows = {u: popularity_ranking(fit) for u in range(train.num_users)}
    assert records["popular/recall@20"] == pytest.approx(
        recall_reference(rows, by_user(train), by_user(test), 20), abs=1e-12)
    knn = itemknn_rows(fit)
    assert records["itemknn/recall@20"] == pytest.approx(
        recall_reference(knn, by_user(train), by_user(test), 20), abs=2e-3)
    user = records["picker/users"][0]
    seen, held_out = by_user(train).get(user, set()), by_user(test).get(user, set())
    hits = records["picker/hits"]
    for name, ranking in (("most popular", rows[user]), ("item-kNN", knn[user])):
        top10 = [i for i in ranking if i not in seen][:10]
        assert hits[f"{name}: held-out hits in top 10"] == len(held_out & set(top10))
    assert 0 <= hits["LightGCN: held-out hits in top 10"] <= min(10, len(held_out))
