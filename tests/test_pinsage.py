"""PinSAGE: the all-items inference pass against a dense hand computation, and the mini-batch pass against inference."""

from __future__ import annotations

import pytest
import torch

from gnnrec_lite.models import PinSAGE
from gnnrec_lite.pinsage_sampler import computation_graph


def _tiny():
    torch.manual_seed(0)
    x = torch.randn(5, 3)
    nbrs = torch.tensor([[1, 2], [0, -1], [0, 1], [-1, -1], [2, 4]])
    wts = torch.tensor([[0.75, 0.25], [1.0, 0.0], [0.5, 0.5], [0.0, 0.0], [0.4, 0.6]])
    return x, nbrs, wts


def _random_table(num_items=40, t=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    nbrs = torch.randint(0, num_items, (num_items, t), generator=gen)
    nbrs[torch.rand(num_items, t, generator=gen) < 0.2] = -1
    nbrs[3] = -1  # an item without neighbours, as a cold one
    wts = torch.rand(num_items, t, generator=gen) * (nbrs >= 0)
    return nbrs, wts / wts.sum(1, keepdim=True).clamp(min=1e-12)


def dense_pinsage(model: PinSAGE, x, nbrs, wts):
    """Every layer as dense algebra: A[v, u] = w_vu, h <- norm(relu([h || A relu(h Q^T + q)] W^T + w))."""
    a = torch.zeros(nbrs.shape[0], nbrs.shape[0])
    for v in range(nbrs.shape[0]):
        for u, w in zip(nbrs[v].tolist(), wts[v].tolist()):
            if u >= 0:
                a[v, u] += w
    h = torch.cat([x, model.item_emb.weight], 1) if model.item_emb is not None else x
    for conv in model.convs:
        msg = torch.relu(h @ conv.lin_q.weight.T + conv.lin_q.bias)
        h = torch.relu(torch.cat([h, a @ msg], 1) @ conv.lin_w.weight.T + conv.lin_w.bias)
        h = h / h.norm(dim=1, keepdim=True).clamp(min=1e-12)
    z = h @ model.out.weight.T + model.out.bias
    return z / z.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("item_embedding", [False, True])
def test_inference_equals_dense_two_layers(item_embedding):
    x, nbrs, wts = _tiny()
    model = PinSAGE(3, embedding_dim=2, num_layers=2, hidden_channels=4, num_items=5, item_embedding=item_embedding)
    with torch.no_grad():
        assert torch.allclose(model.inference(x, nbrs, wts), dense_pinsage(model, x, nbrs, wts), atol=1e-6)


@pytest.mark.parametrize("num_layers, item_embedding", [(2, False), (2, True), (1, True), (3, False), (0, True)])
def test_batch_pass_equals_inference(num_layers, item_embedding):
    """Eval mode, same weights: embedding a batch through its computation graph equals the all-items pass."""
    nbrs, wts = _random_table()
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    model = PinSAGE(6, embedding_dim=8, num_layers=num_layers, num_items=40, item_embedding=item_embedding).eval()
    seeds = torch.tensor([7, 3, 30, 0, 12])
    with torch.no_grad():
        everything = model.inference(x, nbrs, wts)  # (I, D)
        batch = model(x, computation_graph(nbrs, wts, seeds, num_layers))  # (B, D)
        chunked = model.inference(x, nbrs, wts, batch_size=7)
    assert torch.allclose(batch, everything[seeds], atol=1e-5)
    assert torch.allclose(chunked, everything, atol=1e-6)
    assert torch.allclose(model(x, nbrs, wts), everything)  # the full-graph call of the earlier API


def test_batch_gradients_reach_only_what_the_graph_reads():
    nbrs, wts = _random_table()
    x = torch.randn(40, 6)
    model = PinSAGE(6, embedding_dim=4, num_layers=2, num_items=40, item_embedding=True)
    graph = computation_graph(nbrs, wts, torch.tensor([5]), 2)
    model(x, graph).sum().backward()
    touched = torch.nonzero(model.item_emb.weight.grad.abs().sum(1)).flatten()
    assert set(touched.tolist()) <= set(graph.input_nodes.tolist())


def test_gradcheck_double():
    x, nbrs, wts = _tiny()
    model = PinSAGE(3, embedding_dim=2, num_layers=2, hidden_channels=3, num_items=5, item_embedding=True).double()
    x = x.double().requires_grad_()
    w = wts.double().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: model.inference(a, nbrs, b), (x, w))


def test_isolated_item_depends_on_its_features_only():
    x, nbrs, wts = _tiny()
    torch.manual_seed(0)
    model = PinSAGE(3, embedding_dim=4, num_layers=2, hidden_channels=32)
    z = model.inference(x, nbrs, wts)
    assert torch.isfinite(z).all() and torch.allclose(z.norm(dim=1), torch.ones(5))
    x2 = x.clone()
    x2[0] += 1.0  # item 3 has no neighbours: unchanged; item 0 changes
    z2 = model.inference(x2, nbrs, wts)
    assert torch.allclose(z2[3], z[3]) and not torch.allclose(z2[0], z[0])


def test_repr_reset_and_errors():
    model = PinSAGE(3, embedding_dim=8, num_layers=2, num_items=5, item_embedding=True)
    text = repr(model)
    assert text.startswith("PinSAGE(") and "in_channels=3, embedding_dim=8, num_layers=2" in text
    assert "item_embedding=5x8" in text and "PinSAGEConv(11, 8" in text
    before = model.out.weight.clone()
    torch.manual_seed(1)
    model.reset_parameters()
    assert not torch.equal(before, model.out.weight)
    x, nbrs, wts = _tiny()
    with pytest.raises(ValueError, match="features"):
        model.inference(torch.zeros(5, 4), nbrs, wts)
    with pytest.raises(ValueError, match="neighbors"):
        model.inference(x, nbrs.float(), wts)
    with pytest.raises(ValueError, match="weights"):
        model.inference(x, nbrs, wts[:, :1])
    with pytest.raises(ValueError, match="num_layers=2 blocks"):
        model(x, computation_graph(nbrs, wts, [0], num_layers=1))
    with pytest.raises(ValueError, match="num_items"):
        PinSAGE(3, item_embedding=True)
    with pytest.raises(ValueError, match="in_channels"):
        PinSAGE(0)
