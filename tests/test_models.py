"""MF, NGCF and LightGCN: checked against PyG, dense formulas written here, gradcheck, and the shared API."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import dense_norm_adj
from torch.func import functional_call
from torch_geometric.nn.models import LightGCN as PygLightGCN

import gnnrec_lite as g
from gnnrec_lite.models import MF, MODELS, NGCF, EmbeddingModel, LightGCN, build_model

NAMES = ["mf", "ngcf", "lightgcn"]




def _e0(model: EmbeddingModel) -> np.ndarray:
    return torch.cat([model.user_emb.weight, model.item_emb.weight]).detach().double().numpy()


def _forward_np(model: EmbeddingModel) -> np.ndarray:
    user_z, item_z = model()
    return torch.cat([user_z, item_z]).detach().double().numpy()


@pytest.fixture
def small():
    """5 users x 6 items; item 5 has no training edge, user 4 has a single one."""
    return g.Interactions(5, 6, [0, 0, 1, 1, 1, 2, 2, 3, 3, 4], [0, 1, 1, 2, 3, 0, 4, 2, 4, 3])


@pytest.fixture(scope="module")
def synth():
    return g.synthetic(60, 80, 600, seed=3)


# ------------------------------------------------------------------ LightGCN
@pytest.mark.parametrize("num_layers", [0, 1, 3])
@pytest.mark.parametrize("custom_alpha", [False, True])
def test_lightgcn_equals_pyg(num_layers, custom_alpha):
    # synthetic graph with an extra item that nobody interacted with
    base = g.synthetic(30, 40, 200, seed=1)
    inter = g.Interactions(base.num_users, base.num_items + 1, base.user, base.item)
    alpha = None
    if custom_alpha:
        alpha = torch.arange(1, num_layers + 2, dtype=torch.float32)
        alpha = alpha / alpha.sum()
    ours = build_model("lightgcn", inter, seed=5, embedding_dim=8, num_layers=num_layers, alpha=alpha)
    pyg = PygLightGCN(num_nodes=inter.num_users + inter.num_items, embedding_dim=8, num_layers=num_layers,
                      alpha=alpha)
    with torch.no_grad():
        pyg.embedding.weight.copy_(torch.cat([ours.user_emb.weight, ours.item_emb.weight]))
    expected = pyg.get_embedding(g.to_homogeneous_edge_index(inter))
    user_z, item_z = ours()
    assert torch.isfinite(user_z).all() and torch.isfinite(item_z).all()
    torch.testing.assert_close(user_z, expected[: inter.num_users], rtol=0, atol=1e-6)
    torch.testing.assert_close(item_z, expected[inter.num_users:], rtol=0, atol=1e-6)


def test_lightgcn_equals_pyg_on_southern_women():
    inter = g.southern_women()
    ours = build_model("lightgcn", inter, seed=0, embedding_dim=16, num_layers=3)
    pyg = PygLightGCN(num_nodes=inter.num_users + inter.num_items, embedding_dim=16, num_layers=3)
    with torch.no_grad():
        pyg.embedding.weight.copy_(ours.initial_embeddings())
    expected = pyg.get_embedding(g.to_homogeneous_edge_index(inter))
    torch.testing.assert_close(torch.cat(ours()), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("num_layers, alpha", [(3, None), (2, [0.5, 0.3, 0.2]), (1, [2.0, -1.0]), (0, None),
                                               (0, [0.7])])
def test_lightgcn_equals_dense_formula(small, num_layers, alpha):
    model = LightGCN(small, embedding_dim=4, num_layers=num_layers, alpha=alpha).double()
    a_hat = dense_norm_adj(small)
    weights = np.full(num_layers + 1, 1.0 / (num_layers + 1)) if alpha is None else np.asarray(alpha)
    e = _e0(model)
    expected = sum(weights[k] * np.linalg.matrix_power(a_hat, k) @ e for k in range(num_layers + 1))
    # Â and alpha are built in float32 by the constructor, so agreement is to float32 precision
    np.testing.assert_allclose(_forward_np(model), expected, rtol=0, atol=1e-6)
    if num_layers == 0:  # no propagation at all: exactly alpha_0 * E0
        np.testing.assert_array_equal(_forward_np(model), model.alpha[0].item() * e)


def test_lightgcn_isolated_nodes_stay_finite_and_keep_their_own_embedding():
    # user 2 and items 2, 3 have no training edge
    inter = g.Interactions(3, 4, [0, 0, 1], [0, 1, 1])
    model = LightGCN(inter, embedding_dim=5, num_layers=3)
    user_z, item_z = model()
    assert torch.isfinite(user_z).all() and torch.isfinite(item_z).all()
    # an isolated node only keeps the alpha_0 share of its initial embedding
    torch.testing.assert_close(user_z[2], model.user_emb.weight[2] / 4)
    torch.testing.assert_close(item_z[2:], model.item_emb.weight[2:] / 4)
    (user_z.sum() + item_z.sum()).backward()
    assert torch.isfinite(model.user_emb.weight.grad).all() and torch.isfinite(model.item_emb.weight.grad).all()


# ---------------------------------------------------------------------- NGCF
def test_ngcf_without_layers_scores_like_mf(synth):
    mf = MF(synth, embedding_dim=8)
    ngcf = NGCF(synth, embedding_dim=8, num_layers=0)
    with torch.no_grad():
        ngcf.user_emb.weight.copy_(mf.user_emb.weight)
        ngcf.item_emb.weight.copy_(mf.item_emb.weight)
    users = torch.arange(synth.num_users).repeat_interleave(synth.num_items)
    items = torch.arange(synth.num_items).repeat(synth.num_users)
    assert torch.equal(ngcf.score(users, items), mf.score(users, items))
    assert ngcf()[0].shape == (synth.num_users, 8)


@pytest.mark.parametrize("num_layers, slope", [(1, 0.2), (2, 0.2), (3, 0.05)])
def test_ngcf_equals_dense_formula(small, num_layers, slope):
    torch.manual_seed(0)
    model = NGCF(small, embedding_dim=3, num_layers=num_layers, negative_slope=slope).double()
    with torch.no_grad():  # non-zero biases, so b1 and b2 are exercised too
        for lin in list(model.w_self) + list(model.w_inter):
            lin.bias.normal_()
    a_hat = dense_norm_adj(small)
    e = _e0(model)
    layers = [e]
    for w1, w2 in zip(model.w_self, model.w_inter):
        W1, b1 = w1.weight.detach().numpy().T, w1.bias.detach().numpy()
        W2, b2 = w2.weight.detach().numpy().T, w2.bias.detach().numpy()
        m = a_hat @ e
        h = (m + e) @ W1 + b1 + (m * e) @ W2 + b2
        e = np.where(h > 0, h, slope * h)
        layers.append(e)
    expected = np.concatenate(layers, axis=1)
    out = _forward_np(model)
    assert out.shape == (11, 3 * (num_layers + 1))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)  # Â was built in float32


@pytest.mark.parametrize("num_layers", [0, 1, 3])
def test_ngcf_output_width(synth, num_layers):
    user_z, item_z = build_model("ngcf", synth, embedding_dim=6, num_layers=num_layers)()
    assert user_z.shape == (synth.num_users, 6 * (num_layers + 1))
    assert item_z.shape == (synth.num_items, 6 * (num_layers + 1))


# ------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_wrt_embedding_weights(small, name):
    model = build_model(name, small, seed=1, embedding_dim=2, num_layers=2).double()
    assert model.user_emb.weight.dtype == torch.float64
    if hasattr(model, "adj"):
        assert model.adj.dtype == torch.float64
    users = torch.tensor([0, 1, 2, 3, 4, 4])
    items = torch.tensor([0, 2, 5, 4, 1, 3])

    def scores(user_w, item_w):
        user_z, item_z = functional_call(model, {"user_emb.weight": user_w, "item_emb.weight": item_w}, ())
        return (user_z[users] * item_z[items]).sum(-1)

    user_w = model.user_emb.weight.detach().clone().requires_grad_()
    item_w = model.item_emb.weight.detach().clone().requires_grad_()
    # the wrapper computes what model.score computes
    torch.testing.assert_close(scores(user_w, item_w), model.score(users, items), rtol=0, atol=0)
    assert torch.autograd.gradcheck(scores, (user_w, item_w), eps=1e-6, atol=1e-7)


# ------------------------------------------------------------------ the API
@pytest.mark.parametrize("name", NAMES)
def test_forward_shapes_and_score(synth, name):
    model = build_model(name, synth, seed=0, embedding_dim=8, num_layers=2)
    width = 8 * 3 if name == "ngcf" else 8
    user_z, item_z = model()
    assert user_z.shape == (synth.num_users, width) and item_z.shape == (synth.num_items, width)
    gen = torch.Generator().manual_seed(0)
    users = torch.randint(synth.num_users, (50,), generator=gen)
    items = torch.randint(synth.num_items, (50,), generator=gen)
    scores = model.score(users, items)
    assert scores.shape == (50,)
    expected = torch.stack([user_z[u] @ item_z[i] for u, i in zip(users.tolist(), items.tolist())])
    torch.testing.assert_close(scores, expected)
    # lists and numpy arrays work too
    torch.testing.assert_close(model.score(users.tolist(), items.numpy()), scores)
    with pytest.raises(ValueError, match="same length"):
        model.score([0, 1], [0])
    with pytest.raises(ValueError, match="items"):
        model.score([0], [synth.num_items])


@pytest.mark.parametrize("name", NAMES)
def test_recommend_excludes_train_and_matches_library(synth, name):
    model = build_model(name, synth, seed=0, embedding_dim=8, num_layers=2)
    model.train()
    top = model.recommend(10, exclude=synth)
    assert model.training  # mode restored
    assert top.shape == (synth.num_users, 10) and top.dtype == torch.int64
    train_pairs = set(zip(synth.user.tolist(), synth.item.tolist()))
    for u, row in enumerate(top.tolist()):
        assert len(set(row)) == 10
        assert not any((u, i) in train_pairs for i in row)
    with torch.no_grad():
        user_z, item_z = model()
    assert torch.equal(top, g.recommend((user_z, item_z), 10, exclude=synth))
    # brute force for a few users: highest dot product among non-train items, ties to the lower id
    scores = (user_z @ item_z.T).numpy()
    for u in (0, 7, 31):
        cands = [i for i in range(synth.num_items) if (u, i) not in train_pairs]
        best = sorted(cands, key=lambda i: (-scores[u, i], i))[:10]
        assert top[u].tolist() == best
    subset = model.recommend(10, exclude=synth, users=[5, 2])
    assert torch.equal(subset, top[[5, 2]])
    with pytest.raises(ValueError, match="k must be"):
        model.recommend(0, exclude=synth)


@pytest.mark.parametrize("name", NAMES)
def test_reset_parameters_changes_weights(synth, name):
    model = build_model(name, synth, seed=0, embedding_dim=8, num_layers=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_parameters()
    after = model.state_dict()
    assert not torch.equal(before["user_emb.weight"], after["user_emb.weight"])
    assert not torch.equal(before["item_emb.weight"], after["item_emb.weight"])
    for key, value in before.items():
        if key.endswith(".weight") and key.startswith("w_"):
            assert not torch.equal(value, after[key]), key
    # the initialization follows init_std
    assert abs(float(after["user_emb.weight"].std()) - 0.1) < 0.03


@pytest.mark.parametrize("name", NAMES)
def test_build_model_seeding(synth, name):
    def weights(seed):
        return build_model(name, synth, seed=seed, embedding_dim=8, num_layers=2).state_dict()

    a, b, c = weights(7), weights(7), weights(8)
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["user_emb.weight"], c["user_emb.weight"])
    assert not torch.equal(a["item_emb.weight"], c["item_emb.weight"])


def test_build_model_leaves_global_rng_alone(synth):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    for name in NAMES:
        build_model(name, synth, seed=4, embedding_dim=8)
    assert torch.equal(torch.get_rng_state(), state)
    drawn = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), drawn)


def test_build_model_types_and_errors(synth):
    assert set(MODELS) == set(NAMES)
    assert type(build_model("mf", synth, num_layers=3)) is MF  # num_layers is ignored for MF
    assert type(build_model("ngcf", synth)) is NGCF
    assert type(build_model("lightgcn", synth)) is LightGCN
    with pytest.raises(ValueError, match=r"model must be one of \['mf', 'ngcf', 'lightgcn'\].*'gcn'"):
        build_model("gcn", synth)


@pytest.mark.parametrize("name", NAMES)
def test_repr_mentions_sizes(synth, name):
    text = repr(build_model(name, synth, embedding_dim=12, num_layers=2))
    assert "num_users=60" in text and "num_items=80" in text and "embedding_dim=12" in text
    if name != "mf":
        assert "num_layers=2" in text


@pytest.mark.parametrize("name", NAMES)
def test_to_cpu_keeps_working(synth, name):
    model = build_model(name, synth, embedding_dim=8, num_layers=2)
    before = model.score([0, 1, 2], [3, 4, 5])
    moved = model.to("cpu")
    assert moved is model and model.device == torch.device("cpu")
    torch.testing.assert_close(model.score([0, 1, 2], [3, 4, 5]), before)
    assert model.recommend(5, exclude=synth).shape == (60, 5)


@pytest.mark.parametrize("cls", [MF, NGCF, LightGCN])
def test_constructor_errors_name_the_argument(synth, cls):
    with pytest.raises(TypeError, match="train must be Interactions"):
        cls((synth.user, synth.item))
    with pytest.raises(ValueError, match="embedding_dim"):
        cls(synth, embedding_dim=0)
    with pytest.raises(TypeError, match="embedding_dim"):
        cls(synth, embedding_dim=4.5)
    with pytest.raises(ValueError, match="init_std"):
        cls(synth, init_std=0.0)


@pytest.mark.parametrize("cls", [NGCF, LightGCN])
def test_negative_num_layers_is_rejected(synth, cls):
    with pytest.raises(ValueError, match="num_layers"):
        cls(synth, num_layers=-1)


def test_lightgcn_alpha_length_is_checked(synth):
    with pytest.raises(ValueError, match="alpha"):
        LightGCN(synth, num_layers=2, alpha=[0.5, 0.5])
    with pytest.raises(ValueError, match="alpha"):
        LightGCN(synth, num_layers=0, alpha=[0.5, 0.5])
