"""item_neighbors (random walks from items) against exact expectations; PinSAGE against a dense hand computation."""

from __future__ import annotations

import pytest
import torch

import gnnrec_lite as g
from gnnrec_lite.models import PinSAGE
from gnnrec_lite.walks import item_neighbors


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
def graph():
    return g.synthetic(40, 30, 300, num_communities=3, seed=0)


def test_item_neighbors_match_exact_expectation(graph):
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
def test_item_neighbors_bad_arguments(graph, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        item_neighbors(graph, **kwargs)


def _tiny():
    torch.manual_seed(0)
    x = torch.randn(5, 3)
    nbrs = torch.tensor([[1, 2], [0, -1], [0, 1], [-1, -1], [2, 4]])
    wts = torch.tensor([[0.75, 0.25], [1.0, 0.0], [0.5, 0.5], [0.0, 0.0], [0.4, 0.6]])
    return x, nbrs, wts


def test_forward_equals_dense_one_layer():
    x, nbrs, wts = _tiny()
    model = PinSAGE(3, embedding_dim=2, num_layers=1, hidden_channels=4)
    q, w, out = model.q[0], model.w[0], model.out
    dense_w = torch.zeros(5, 5)
    for v in range(5):
        for j in range(2):
            if nbrs[v, j] >= 0:
                dense_w[v, nbrs[v, j]] += wts[v, j]
    msg = torch.relu(x @ q.weight.T + q.bias)
    h = torch.relu(torch.cat([x, dense_w @ msg], 1) @ w.weight.T + w.bias)
    h = h / h.norm(dim=1, keepdim=True).clamp(min=1e-12)
    z = h @ out.weight.T + out.bias
    z = z / z.norm(dim=1, keepdim=True)
    assert torch.allclose(model(x, nbrs, wts), z, atol=1e-6)


def test_gradcheck_double():
    x, nbrs, wts = _tiny()
    model = PinSAGE(3, embedding_dim=2, num_layers=2, hidden_channels=3, num_items=5, item_embedding=True).double()
    x = x.double().requires_grad_()
    w = wts.double().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: model(a, nbrs, b), (x, w))


def test_isolated_item_depends_on_its_features_only():
    x, nbrs, wts = _tiny()
    torch.manual_seed(0)
    model = PinSAGE(3, embedding_dim=4, num_layers=2, hidden_channels=32)
    z = model(x, nbrs, wts)
    assert torch.isfinite(z).all() and torch.allclose(z.norm(dim=1), torch.ones(5))
    x2 = x.clone()
    x2[0] += 1.0  # item 3 has no neighbours: unchanged; item 0 changes
    z2 = model(x2, nbrs, wts)
    assert torch.allclose(z2[3], z[3]) and not torch.allclose(z2[0], z[0])


def test_repr_reset_and_errors():
    model = PinSAGE(3, embedding_dim=8, num_layers=2, num_items=5, item_embedding=True)
    text = repr(model)
    assert text.startswith("PinSAGE(") and "in_channels=3, embedding_dim=8, num_layers=2" in text
    assert "item_embedding=5x8" in text
    before = model.out.weight.clone()
    torch.manual_seed(1)
    model.reset_parameters()
    assert not torch.equal(before, model.out.weight)
    x, nbrs, wts = _tiny()
    with pytest.raises(ValueError, match="features"):
        model(torch.zeros(5, 4), nbrs, wts)
    with pytest.raises(ValueError, match="neighbors"):
        model(x, nbrs.float(), wts)
    with pytest.raises(ValueError, match="weights"):
        model(x, nbrs, wts[:, :1])
    with pytest.raises(ValueError, match="num_items"):
        PinSAGE(3, item_embedding=True)
    with pytest.raises(ValueError, match="in_channels"):
        PinSAGE(0)
