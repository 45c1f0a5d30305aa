"""Lecture 05's exercises: the homogeneous edge_index, LGConv as a PyG MessagePassing layer, weighted propagation.

Each checker compares the learner's code with the library and, for the layer,
with ``torch_geometric.nn.LGConv`` on the same inputs; on small graphs a known
mistake (a missing item offset, mean instead of symmetric normalization,
self-loops, a dropped :math:`E^{(0)}`) is recognised and named; MovieLens-100K
comes last, with what the result means.
"""

from __future__ import annotations

import contextlib

import torch

from ... import datasets, graph
from ...interactions import Interactions
from ...models import build_model
from ...propagate import symmetric_spmm
from .. import hwcheck
from .base import Wrong, call, close, exercise, from_scratch, ml100k_split, written

NOT_HERE = ("gnnrec_lite.graph", "gnnrec_lite.propagate", "gnnrec_lite.models")


def _close(got, want, what: str, tol: float = 1e-5) -> None:
    close(got, want, what, tol)


def _ml100k_train() -> Interactions:
    return ml100k_split()[0]


def _dense_adjacency(inter: Interactions, self_loops: bool = False) -> torch.Tensor:
    n = inter.num_users + inter.num_items
    a = torch.zeros(n, n, dtype=torch.float64)
    a[inter.user, inter.num_users + inter.item] = 1.0
    a[inter.num_users + inter.item, inter.user] = 1.0
    return a + torch.eye(n, dtype=torch.float64) if self_loops else a


def _sym_norm(a: torch.Tensor) -> torch.Tensor:
    d = a.sum(1)
    inv = torch.where(d > 0, d.clamp(min=1e-12).rsqrt(), torch.zeros_like(d))
    return inv[:, None] * a * inv[None, :]


# ----------------------------------------------------------------------------------------------- 05-1
def _edge_hint(got: torch.Tensor, inter: Interactions) -> str:
    if got.shape[1] == len(inter):
        return " (only one direction: LGConv sends messages along each edge, so add every edge reversed too)"
    if int(got.max()) < inter.num_items and inter.num_users > 1:
        return f" (item ids are not shifted: item i is node num_users + i = {inter.num_users} + i)"
    if int(got.max()) >= inter.num_users + inter.num_items:
        return " (item i is node num_users + i, not num_items + i)"
    return ""


def _pairs(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    return torch.sort(edge_index[0] * n + edge_index[1]).values


@exercise("05-1", "one graph of users and items for PyG")
def homogeneous_edge_index(answer) -> str:
    """``answer(train) -> (2, 2E)``: users are nodes 0..U-1, item i is node U + i, each edge in both directions."""
    hand = Interactions(2, 3, [0, 0, 1], [0, 2, 1])
    for inter, case in ((hand, "2 users, 3 items, edges (u0, i0), (u0, i2), (u1, i1)"),
                        (datasets.southern_women(), "the Southern Women graph (18 women, 14 events)")):
        with from_scratch("homogeneous_edge_index", *NOT_HERE):
            got = torch.as_tensor(call(answer, inter, case=case))
        want = graph.to_homogeneous_edge_index(inter)
        if got.dim() != 2 or got.shape[0] != 2:
            raise Wrong(f"on {case} expected an edge_index of shape (2, 2E) = {tuple(want.shape)}, got "
                        f"{tuple(got.shape)}")
        if got.dtype != torch.long:
            raise Wrong(f"on {case} the edge_index must hold int64 node ids (PyG's convention), got {got.dtype}")
        n = inter.num_users + inter.num_items
        if got.shape != want.shape or not torch.equal(_pairs(got, n), _pairs(want, n)):
            raise Wrong(f"on {case} expected the directed edges {sorted(zip(*want.tolist()))[:6]}..., got "
                        f"{sorted(zip(*got.tolist()))[:6]}...{_edge_hint(got, inter)}")
    train = _ml100k_train()
    got = torch.as_tensor(call(answer, train, case="ML-100K's training split"))
    n = train.num_users + train.num_items
    if not torch.equal(_pairs(got, n), _pairs(graph.to_homogeneous_edge_index(train), n)):
        raise Wrong("on ML-100K's training split the edge_index must hold each interaction twice, items shifted")
    star = train.num_users + 49  # Star Wars (1977) is item 49
    return (f"ML-100K becomes one graph of {n:,} nodes and {got.shape[1]:,} directed edges; node {star} "
            f"(Star Wars) has {int((got[1] == star).sum())} incoming messages, one from each user who rated it.")


# ----------------------------------------------------------------------------------------------- 05-2
def _conv_hint(got: torch.Tensor, inter: Interactions, x: torch.Tensor) -> str:
    a = _dense_adjacency(inter)
    deg = a.sum(1, keepdim=True).clamp(min=1)
    variants = {
        "that is the plain sum of the neighbours: weigh each message by 1/sqrt(deg(i) deg(j))": a @ x,
        "that is the mean of the neighbours (1/deg(i)); LightGCN weighs by 1/sqrt(deg(i) deg(j))": a @ x / deg,
        "that graph has self-loops; LightGCN has none (E(0) in the layer average takes their place)":
            _sym_norm(_dense_adjacency(inter, self_loops=True)) @ x,
        "the weight is 1/(deg(i) deg(j)); it is 1/sqrt(deg(i) deg(j))": a / (deg * deg.T) @ x,
    }
    return next((f" ({name})" for name, value in variants.items() if torch.allclose(got, value, atol=1e-5)), "")


def _run_conv(conv, x, edge_index, case: str) -> torch.Tensor:
    with from_scratch("the LGConv layer", "torch_geometric.nn.conv.lg_conv", "torch_geometric.nn.conv.gcn_conv",
                      *NOT_HERE):
        got = call(conv, x.clone(), edge_index.clone(), case=case)
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        raise Wrong(f"on {case} expected an output of shape {tuple(x.shape)}, got "
                    f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
    if torch.isnan(got).any():
        raise Wrong(f"on {case} the output holds NaN: a node without edges has degree 0, and 1/sqrt(0) must become 0")
    return got.double()


@exercise("05-2", "LGConv as a MessagePassing layer")
def lgconv(answer) -> str:
    """``answer`` a ``MessagePassing`` subclass; ``answer()(x, edge_index)`` equals ``torch_geometric.nn.LGConv``."""
    from torch_geometric.nn import LGConv, MessagePassing

    if not (isinstance(answer, type) and issubclass(answer, MessagePassing)):
        if callable(answer):  # a stub left as a function is "not attempted"; anything else is wrong below
            with contextlib.suppress(Wrong):
                call(answer, case="building your layer with no arguments")
        raise Wrong(f"the answer must be a class that subclasses torch_geometric.nn.MessagePassing, got {answer!r}")
    conv = call(answer, case="building your layer with no arguments")
    cases = [(Interactions(2, 2, [0, 0, 1], [0, 1, 1]), "2 users, 2 items, edges (u0, i0), (u0, i1), (u1, i1)"),
             (Interactions(3, 2, [0, 1], [0, 0]), "3 users, 2 items, user 2 and item 1 without edges"),
             (datasets.southern_women(), "the Southern Women graph")]
    for seed, (inter, case) in enumerate(cases):
        n = inter.num_users + inter.num_items
        x = torch.randn(n, 3, generator=hwcheck.generator(60 + seed), dtype=torch.float64)
        edge_index = graph.to_homogeneous_edge_index(inter)
        got = _run_conv(conv, x, edge_index, f"{case}, x random (N, 3)")
        want = LGConv()(x, edge_index)
        if not torch.allclose(got, want, atol=1e-6):
            raise Wrong(f"on {case} (x random, shape ({n}, 3)) expected LGConv's output {want[0].tolist()} in row 0, "
                        f"got {got[0].tolist()}{_conv_hint(got, inter, x)}")
        _close(got, symmetric_spmm(graph.to_adjacency(inter, dtype=torch.float64), x),
               f"your layer against gnnrec_lite.propagate (Â x) on {case}")
    train = _ml100k_train()
    model = build_model("lightgcn", train, seed=0)
    with torch.no_grad():
        e0, want = model.initial_embeddings(), model.encode(model.initial_embeddings())
        x, out, edge_index = e0, e0 / 4, graph.to_homogeneous_edge_index(train)
        for _ in range(3):
            x = call(conv, x, edge_index, case="ML-100K, LightGCN's initial embeddings")
            out = out + x / 4
    diff = float((out - want).abs().max())
    _close(out, want, "three of your layers averaged with E(0) against LightGCN on ML-100K", 1e-4)
    return (f"three of your layers, averaged with E(0), give the library's LightGCN embeddings on ML-100K (largest "
            f"difference {diff:.1e}): message passing and sparse products are the same computation.")


# ----------------------------------------------------------------------------------------------- 05-3
def _propagate_hint(got, adj_dense, emb, alpha) -> str:
    powers, x = [emb], emb
    for _ in range(len(alpha)):
        x = adj_dense @ x
        powers.append(x)
    variants = {
        "the sum starts at Â E instead of E(0) = E: alpha[0] weighs the embeddings themselves":
            sum(a * p for a, p in zip(alpha, powers[1:])),
        "alpha is ignored: you took the plain mean of the layers": sum(powers[:len(alpha)]) / len(alpha),
        "one product too few: alpha[k] weighs Â^k E for k = 0..K, K = len(alpha) - 1":
            sum(a * p for a, p in zip(alpha[:-1], powers)),
    }
    return next((f" ({name})" for name, value in variants.items() if torch.allclose(got, value, atol=1e-6)), "")


@exercise("05-3", "propagation with layer weights, by sparse products")
def propagate(answer) -> str:
    """``answer(adj sparse (N, N), emb (N, D), alpha) -> (N, D)``: sum_k alpha[k] Â^k E with K = len(alpha) - 1."""
    path = torch.tensor([[0.0, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.0]], dtype=torch.float64)
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]], dtype=torch.float64)
    for alpha in ([1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0], [0.5, 0.25, 0.125, 0.125], [1.0]):
        case = f"a 3-node path (Â = [[0, .5, 0], [.5, 0, .5], [0, .5, 0]]), E = {emb.tolist()}, alpha={alpha}"
        with from_scratch("propagate", *NOT_HERE):
            got = torch.as_tensor(call(answer, path.to_sparse(), emb.clone(), list(alpha), case=case)).double()
        want = sum(a * torch.linalg.matrix_power(path, k) @ emb for k, a in enumerate(alpha))
        if got.shape != want.shape or not torch.allclose(got, want, atol=1e-9):
            hint = _propagate_hint(got, path, emb, alpha) if got.shape == want.shape else ""
            raise Wrong(f"on {case} expected {want.tolist()}, got {got.tolist()}{hint}")
    train = _ml100k_train()
    adj, n = graph.to_adjacency(train), train.num_users + train.num_items
    results = []
    for alpha in ([0.25] * 4, [0.0, 0.0, 0.0, 1.0]):
        model = build_model("lightgcn", train, seed=0, alpha=alpha)
        emb = model.initial_embeddings().detach().clone().requires_grad_()
        case = f"ML-100K, LightGCN's initial embeddings, alpha={alpha}"
        try:
            with hwcheck.no_dense(n, "propagate"):
                got = call(answer, adj, emb, list(alpha), case=case)
        except AssertionError as exc:
            raise Wrong(f"on {case}: {exc} (Â^k is dense: multiply the embeddings by Â k times instead)") from None
        if not isinstance(got, torch.Tensor) or not got.requires_grad:
            raise Wrong(f"on {case} the output must stay connected to emb (no .detach(), no numpy): training "
                        "needs its gradient")
        _close(got.detach(), model.encode(emb.detach()), f"your propagation against the library's LightGCN on {case}")
        results.append(got.detach())
    spread = [float(torch.nn.functional.normalize(z[:train.num_users], dim=1).sum(0).norm() / train.num_users)
              for z in results]
    return (f"on ML-100K your propagation equals LightGCN's for both weightings; the users' mean direction has "
            f"length {spread[0]:.2f} with the layer average and {spread[1]:.2f} with the last layer only: the "
            "average keeps users apart (over-smoothing is slower).")


written("05-4", "only the last layer")
written("05-5", "self-loops and over-smoothing")
written("05-6", "a baseline without training beats MF")

__all__ = ["homogeneous_edge_index", "lgconv", "propagate"]
