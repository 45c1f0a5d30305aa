"""Lecture 05 (LightGCN) run in FAST mode; its records checked against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import dense_norm_adj, spearman

import gnnrec_lite as gl
from gnnrec_lite.models import build_model
from lectures import execute, notebook_parameters

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


def test_where_ngcf_parameters_are(records, split):
    train, _ = split
    n, d, k = train.num_users + train.num_items, P["EMBEDDING_DIM"], P["NUM_LAYERS"]
    assert records["params/ngcf table"] == n * d
    assert records["params/ngcf gnn"] == 2 * k * (d * d + d)
    assert records["params/table share"] == pytest.approx(n * d / (n * d + 2 * k * (d * d + d)))


def test_adjacency_and_its_spectrum(records):
    assert records["adjacency/max abs diff"] < 1e-12
    # a connected bipartite graph's normalized adjacency has eigenvalues exactly +1 and -1 at the ends
    assert records["adjacency/eigenvalue range"] == pytest.approx([-1.0, 1.0], abs=1e-9)


def test_linear_layers_collapse_and_relu_ones_do_not(records):
    assert records["sgc/linear collapse max abs diff"] < 1e-10
    assert records["sgc/relu max abs diff"] > 1e-3


def test_library_propagation_equals_the_dense_formula(records):
    assert records["lightgcn/propagation max abs diff"] < 1e-5
    sw = gl.southern_women()
    model = build_model("lightgcn", sw, seed=P["SEED"], embedding_dim=4, num_layers=P["NUM_LAYERS"])
    e = model.initial_embeddings().detach().double().numpy()
    expected = dense_lightgcn(dense_norm_adj(sw), e, P["NUM_LAYERS"])
    np.testing.assert_allclose(records["lightgcn/southern women rows"], expected[:3], atol=1e-6)
    assert records["lightgcn/k=0 equals mf"] is True


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
    assert records["dense vs sparse/max abs diff"] < 1e-5
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


def test_untrained_similarities(records, split, a_hat_ml):
    train, _ = split
    model = build_model("lightgcn", train, seed=P["SEED"], embedding_dim=P["EMBEDDING_DIM"],
                        num_layers=P["NUM_LAYERS"])
    e = model.initial_embeddings().detach().double().numpy()
    r = np.zeros((train.num_users, train.num_items))
    r[train.user.numpy(), train.item.numpy()] = 1.0
    pairs = np.triu_indices(train.num_users, 1)
    shared = (r @ r.T)[pairs]

    def rho(z):
        z = z[:train.num_users] / np.linalg.norm(z[:train.num_users], axis=1, keepdims=True)
        return spearman(shared, (z @ z.T)[pairs])

    assert records["similarity/spearman random"] == pytest.approx(rho(e), abs=1e-6)
    assert records["similarity/spearman diffusion e2"] == pytest.approx(rho(a_hat_ml @ (a_hat_ml @ e)), abs=1e-6)
    assert records["similarity/spearman untrained lightgcn"] == pytest.approx(
        rho(dense_lightgcn(a_hat_ml, e, P["NUM_LAYERS"])), abs=1e-6)
    for name in ("mf", "lightgcn"):
        assert -1 <= records[f"similarity/spearman {name}"] <= 1


def test_trained_models_beat_random_ranking(records, split):
    train, test = split
    users = torch.unique(test.user)
    random_recall = float((20 / (train.num_items - train.user_degree()[users].double())).mean())
    for name in ("mf", "ngcf", "lightgcn"):
        assert 5 * random_recall < records[f"{name}/recall@20"] <= 1
        assert 0 < records[f"{name}/ndcg@20"] <= 1
        assert records[f"{name}/recall@20"] <= records[f"{name}/best recall@20 seen"] + 1e-12
        assert records[f"{name}/seconds per epoch"] > 0
