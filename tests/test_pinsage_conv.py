"""PinSAGEConv (a PyG MessagePassing layer) against a plain-torch dense reference: a (targets x sources) matrix."""

from __future__ import annotations

import pytest
import torch

from gnnrec_lite.models.pinsage_conv import PinSAGEConv


def dense_reference(conv: PinSAGEConv, x_src, x_dst, edge_index, edge_weight, normalize=True):
    """relu(W [x_dst || A relu(Q x_src + q)] + w) / norm, with A[t, s] = sum of the weights of the edges s -> t."""
    a = torch.zeros(x_dst.shape[0], x_src.shape[0], dtype=x_src.dtype)
    for s, t, w in zip(edge_index[0].tolist(), edge_index[1].tolist(), edge_weight.tolist()):
        a[t, s] += w
    msg = torch.relu(x_src @ conv.lin_q.weight.T + conv.lin_q.bias)  # (N_src, H)
    h = torch.relu(torch.cat([x_dst, a @ msg], dim=1) @ conv.lin_w.weight.T + conv.lin_w.bias)  # (N_dst, C)
    if not normalize:
        return h
    norm = h.norm(dim=1, keepdim=True)
    return torch.where(norm > 0, h / norm.clamp(min=1e-30), h)


@pytest.fixture
def bipartite():
    gen = torch.Generator().manual_seed(0)
    x_src, x_dst = torch.randn(5, 3, generator=gen), torch.randn(2, 4, generator=gen)
    edge_index = torch.tensor([[0, 1, 4, 4, 2], [0, 0, 0, 1, 1]])  # target 0 has three sources; 3 sends nothing
    edge_weight = torch.tensor([0.5, 0.25, 0.25, 0.7, 0.3])
    return x_src, x_dst, edge_index, edge_weight


def test_bipartite_forward_equals_dense_reference(bipartite):
    x_src, x_dst, edge_index, edge_weight = bipartite
    torch.manual_seed(1)
    conv = PinSAGEConv((3, 4), 6, hidden_channels=5)
    got = conv((x_src, x_dst), edge_index, edge_weight)
    assert got.shape == (2, 6)
    assert torch.allclose(got, dense_reference(conv, x_src, x_dst, edge_index, edge_weight), atol=1e-6)
    assert torch.allclose(got.norm(dim=1), torch.ones(2))


def test_one_node_set_and_repeated_edges_equal_dense_reference():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(4, 3, generator=gen)
    edge_index = torch.tensor([[1, 1, 2, 0, 3], [0, 0, 0, 3, 1]])  # the repeated edge 1 -> 0 counts twice
    edge_weight = torch.tensor([0.25, 0.25, 0.5, 1.0, 1.0])
    torch.manual_seed(3)
    conv = PinSAGEConv(3, 3, normalize=False)
    got = conv(x, edge_index, edge_weight)
    assert torch.allclose(got, dense_reference(conv, x, x, edge_index, edge_weight, normalize=False), atol=1e-6)
    # node 2 has no incoming edge: n_v = 0, so it is W [x_2 || 0] + w, through the ReLU
    alone = torch.relu(torch.cat([x[2], torch.zeros(3)]) @ conv.lin_w.weight.T + conv.lin_w.bias)
    assert torch.allclose(got[2], alone, atol=1e-6)


def test_gradients_match_the_dense_reference_and_gradcheck(bipartite):
    x_src, x_dst, edge_index, edge_weight = (t.double() if t.is_floating_point() else t for t in bipartite)
    torch.manual_seed(4)
    conv = PinSAGEConv((3, 4), 3, hidden_channels=2).double()
    x_src.requires_grad_()
    edge_weight.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, w: conv((a, x_dst), edge_index, w), (x_src, edge_weight))
    conv((x_src, x_dst), edge_index, edge_weight).sum().backward()
    ours = conv.lin_q.weight.grad.clone()
    conv.zero_grad()
    dense_reference(conv, x_src, x_dst, edge_index, edge_weight).sum().backward()
    assert torch.allclose(ours, conv.lin_q.weight.grad)


def test_repr_reset_and_bad_weights(bipartite):
    x_src, x_dst, edge_index, edge_weight = bipartite
    conv = PinSAGEConv((3, 4), 6, hidden_channels=5)
    assert repr(conv) == "PinSAGEConv((3, 4), 6, hidden_channels=5, normalize=True)"
    assert repr(PinSAGEConv(3, 6)) == "PinSAGEConv(3, 6, hidden_channels=6, normalize=True)"
    before = conv.lin_w.weight.clone()
    torch.manual_seed(7)
    conv.reset_parameters()
    assert not torch.equal(before, conv.lin_w.weight)
    with pytest.raises(ValueError, match="edge_weight"):
        conv((x_src, x_dst), edge_index, edge_weight[:3])
    with pytest.raises(ValueError, match="out_channels"):
        PinSAGEConv(3, 0)
