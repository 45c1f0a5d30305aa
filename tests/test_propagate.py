"""symmetric_spmm: Y = Â X with a backward pass that reuses Â, checked against dense matmul and autograd."""

from __future__ import annotations

import pytest
import torch
from reference import dense_norm_adj

import gnnrec_lite as g
from gnnrec_lite.propagate import symmetric_spmm


@pytest.fixture
def graph():
    # 4 users x 5 items; item 4 has no edge (an isolated node)
    return g.Interactions(4, 5, [0, 0, 1, 1, 2, 3, 3, 3], [0, 1, 1, 2, 3, 0, 2, 3])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_equals_dense_matmul(graph, dtype):
    adj = g.to_adjacency(graph, dtype=dtype)
    dense = torch.from_numpy(dense_norm_adj(graph)).to(dtype)
    x = torch.randn(9, 3, generator=torch.Generator().manual_seed(0), dtype=dtype)
    y = symmetric_spmm(adj, x)
    assert y.shape == (9, 3) and y.dtype == dtype
    torch.testing.assert_close(y, dense @ x)
    # the isolated item (node 4 + 4 = 8) receives nothing
    assert torch.all(y[8] == 0)


def test_forward_accepts_coo(graph):
    adj = g.to_adjacency(graph, dtype=torch.float64).to_sparse_coo()
    x = torch.randn(9, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(symmetric_spmm(adj, x), torch.from_numpy(dense_norm_adj(graph)) @ x)


def test_backward_equals_autograd_through_dense(graph):
    adj = g.to_adjacency(graph, dtype=torch.float64)
    dense = torch.from_numpy(dense_norm_adj(graph))
    gen = torch.Generator().manual_seed(2)
    x0 = torch.randn(9, 4, dtype=torch.float64, generator=gen)
    upstream = torch.randn(9, 4, dtype=torch.float64, generator=gen)

    x_sparse = x0.clone().requires_grad_()
    symmetric_spmm(adj, x_sparse).backward(upstream)
    x_dense = x0.clone().requires_grad_()
    (dense @ x_dense).backward(upstream)
    torch.testing.assert_close(x_sparse.grad, x_dense.grad, rtol=0, atol=1e-12)

    # two stacked products (as in LightGCN with K = 2) and a nonlinear loss
    x_sparse.grad = x_dense.grad = None
    symmetric_spmm(adj, symmetric_spmm(adj, x_sparse)).tanh().sum().backward()
    (dense @ (dense @ x_dense)).tanh().sum().backward()
    torch.testing.assert_close(x_sparse.grad, x_dense.grad, rtol=0, atol=1e-12)


def test_gradcheck_double(graph):
    adj = g.to_adjacency(graph, dtype=torch.float64)
    x = torch.randn(9, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: symmetric_spmm(adj, t), (x,), eps=1e-6, atol=1e-8)
    coo = adj.to_sparse_coo()
    assert torch.autograd.gradcheck(lambda t: symmetric_spmm(coo, t).pow(2), (x,), eps=1e-6, atol=1e-8)


def test_gradcheck_on_real_graph():
    inter = g.southern_women()
    adj = g.to_adjacency(inter, dtype=torch.float64)
    n = inter.num_users + inter.num_items
    x = torch.randn(n, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(4), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: symmetric_spmm(adj, t), (x,), fast_mode=True)


def test_rejects_dense_adjacency(graph):
    dense = torch.from_numpy(dense_norm_adj(graph)).float()
    with pytest.raises(TypeError, match="adj must be a sparse"):
        symmetric_spmm(dense, torch.zeros(9, 2))


@pytest.mark.parametrize("x_shape", [(8, 2), (10, 2), (9,), (9, 2, 1)])
def test_rejects_wrong_x_shape(graph, x_shape):
    adj = g.to_adjacency(graph)
    with pytest.raises(ValueError, match=r"adj must be \(N, N\) and x \(N, D\)"):
        symmetric_spmm(adj, torch.zeros(x_shape))


def test_rejects_non_square_adjacency():
    rect = torch.sparse_coo_tensor(torch.tensor([[0, 1], [2, 0]]), torch.ones(2), (2, 3), check_invariants=True)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        symmetric_spmm(rect, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="adj must be"):
        symmetric_spmm(rect.to_sparse_csr(), torch.zeros(3, 2))
