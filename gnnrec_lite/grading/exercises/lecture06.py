"""Lecture 06's exercises: importance neighbourhoods from walk counts, a batch's computation graph, the
importance-pooling layer as a PyG MessagePassing layer, and the margin loss with shared negatives.

Each checker compares the learner's answer with the library on small cases
and on MovieLens-100K; where a known mistake gives a recognisable wrong
value, the message names it.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from ... import datasets
from ...item2item import item_feature_matrix
from ...models.pinsage_conv import PinSAGEConv
from ...pinsage_sampler import computation_graph
from ...train_item2item import margin_loss
from ...walks import item_neighbors, item_visit_counts
from .base import Wrong, call, exercise, from_scratch, ml100k_split, written
from .base import quiet as _quiet


@functools.lru_cache(maxsize=1)
def _ml100k():
    return datasets.load("ml-100k"), ml100k_split()[0]


@functools.lru_cache(maxsize=1)
def _ml100k_table():
    return item_neighbors(_ml100k()[1], num_neighbors=10, seed=0)  # (I, 10) each


# ---------------------------------------------------------------- 06-1, importance neighbourhoods
def _top(counts: torch.Tensor, t: int):
    top_c, top_i = torch.sort(counts, dim=1, descending=True, stable=True)
    top_c, top_i = top_c[:, :t], top_i[:, :t]
    return torch.where(top_c > 0, top_i, -1), top_c / top_c.sum(1, keepdim=True).clamp(min=1e-30)


@_quiet
def _neighbourhood_hint(counts, t, neighbors, weights) -> str:
    counts = counts.double()
    want_n, want_w = _top(counts, t)
    if neighbors.shape == want_n.shape and torch.equal(neighbors, want_n):
        if torch.allclose(weights, counts.gather(1, want_n.clamp(min=0)) * (want_n >= 0), atol=1e-9):
            return " (the weights are raw visit counts: divide by the row's sum over the kept neighbours)"
        total = counts.sum(1, keepdim=True)
        if torch.allclose(weights * total, counts.gather(1, want_n.clamp(min=0)) * (want_n >= 0), atol=1e-6):
            return (" (you divided by every visit of the row; the weights are normalized over the T kept "
                    "neighbours, so they sum to one)")
    if neighbors.shape == want_n.shape and (counts.gather(1, neighbors.clamp(min=0)) == 0).logical_and(
            neighbors >= 0).any():
        return " (an item no walk visited is not a neighbour: pad the row with -1 instead)"
    if neighbors.shape == want_n.shape and all(sorted(a) == sorted(b) for a, b in zip(neighbors.tolist(),
                                                                                     want_n.tolist())):
        return " (right items, wrong order: most visited first, equal counts to the lower item id)"
    return ""


@exercise("06-1", "importance neighbourhoods from walk counts")
def importance_neighbourhoods(answer) -> str:
    """``answer(counts (S, I), num_neighbors) -> (neighbors (S, T) int64 with -1 padding, weights (S, T))``."""
    data, train = _ml100k()
    starts = torch.nonzero(train.item_degree() > 0).flatten()
    cases = [(torch.tensor([[0.0, 5, 3, 5, 0, 1]]), 3, None), (torch.tensor([[0.0, 0, 2, 0], [4, 0, 1, 1]]), 3, None),
             (torch.tensor([[2.0, 2, 2, 2, 2]]), 2, None),
             (item_visit_counts(train, starts, seed=0), 10, "ML-100K walk counts (200 walks of 10 hops from every "
                                                           "movie, the walks item_neighbors runs), num_neighbors=10")]
    for counts, t, case in cases:
        case = case or f"counts={counts.tolist()}, num_neighbors={t}"
        with from_scratch("your importance neighbourhoods", "gnnrec_lite.walks"):
            got = call(answer, counts.clone(), t, case=case)
        neighbors, weights = torch.as_tensor(got[0]).long(), torch.as_tensor(got[1]).double()
        want_n, want_w = _top(counts, t) if counts.shape[0] < 10 else (x[starts] for x in _ml100k_table())
        if neighbors.shape != want_n.shape or not torch.equal(neighbors, want_n) or \
                not torch.allclose(weights, want_w.double(), atol=1e-5):
            shown = (lambda x: [[round(float(w), 4) for w in r] for r in x[:1]]) if counts.shape[0] < 10 else \
                (lambda x: f"{[round(float(w), 4) for w in x[0]]} in row 0")
            raise Wrong(f"on {case} expected neighbors {shown(want_n)} with weights {shown(want_w)}, got "
                        f"{shown(neighbors)} with {shown(weights)}{_neighbourhood_hint(counts, t, neighbors, weights)}")
    star = data.item_names.index("Star Wars (1977)")
    row = int(torch.nonzero(starts == star))
    names = "; ".join(data.item_names[v] for v in neighbors[row, :3].tolist())
    return (f"your table equals item_neighbors' on ML-100K; Star Wars' three heaviest neighbours are {names}, "
            f"with {float(weights[row, :3].sum()):.0%} of its pooling weight.")


# ---------------------------------------------------------------- 06-2, the computation graph
def _layers(neighbors: torch.Tensor, seeds, k: int) -> list:
    graph = computation_graph(neighbors, torch.ones(neighbors.shape, dtype=torch.float32), seeds, k)
    return [set(b.src_nodes.tolist()) for b in graph.blocks] + [set(int(s) for s in seeds)]


@_quiet
def _graph_hint(neighbors, seeds, k, got) -> str:
    nbrs = {v: {u for u in neighbors[v].tolist() if u >= 0} for v in range(neighbors.shape[0])}
    want = _layers(neighbors, seeds, k)
    if got == want[::-1]:
        return " (the list runs from the seeds down; it must start at the input layer V^(0) and end at the seeds)"
    if any(-1 in layer for layer in got):
        return " (-1 is padding in the neighbour table, not an item)"
    only, layer = [set(seeds)], set(seeds)
    for _ in range(k):
        layer = {u for v in layer for u in nbrs[v]}
        only.insert(0, layer)
    if got == only:
        return " (a layer must also compute its targets themselves: V^(k-1) is V^(k) together with its neighbours)"
    one_hop = set(seeds) | {u for v in seeds for u in nbrs[v]}
    if got == [one_hop] * k + [set(seeds)]:
        return " (each layer expands the layer above it, not the seeds again)"
    return ""


@exercise("06-2", "the nodes of a computation graph, layer by layer")
def computation_graph_layers(answer) -> str:
    """``answer(neighbors (I, T) with -1 padding, seeds, num_layers) -> [V^(0), ..., V^(K)]``, V^(K) the seeds."""
    toy = torch.tensor([[1, 2], [0, -1], [3, -1], [-1, -1], [0, 5], [4, -1]])
    table = _ml100k_table()[0]
    gen = torch.Generator().manual_seed(0)
    batch = torch.randperm(table.shape[0], generator=gen)[:64].tolist()
    cases = [(toy, [0], 1, "a 6-item toy table"), (toy, [0], 2, "a 6-item toy table"),
             (toy, [4, 3], 2, "a 6-item toy table"), (table, batch, 2, "ML-100K's top-10 walk neighbourhoods")]
    for neighbors, seeds, k, where in cases:
        case = f"{where}, seeds={seeds if len(seeds) < 10 else f'{len(seeds)} random movies'}, num_layers={k}"
        if where.startswith("a 6"):
            case += f" {neighbors.tolist()}"
        with from_scratch("your computation graph", "gnnrec_lite.pinsage_sampler"):
            got = call(answer, neighbors.clone(), list(seeds), k, case=case)
        try:
            got = [set(int(v) for v in (layer.tolist() if isinstance(layer, torch.Tensor) else layer))
                   for layer in got]
        except TypeError:
            raise Wrong(f"on {case} expected a list of {k + 1} sets of item ids, got {type(got).__name__}") from None
        want = _layers(neighbors, seeds, k)
        if got != want:
            sizes = [len(layer) for layer in want]
            raise Wrong(f"on {case} expected layers of sizes {sizes}"
                        + (f" ({[sorted(s) for s in want]})" if neighbors.shape[0] < 10 else "")
                        + f", got sizes {[len(layer) for layer in got]}{_graph_hint(neighbors, seeds, k, got)}")
    sizes = [len(layer) for layer in want]
    return (f"a batch of 64 movies needs {sizes[1]} representations at layer 1 and the inputs of {sizes[0]} movies "
            f"(of {table.shape[0]}): a PinSAGE step computes only these, whatever the size of the catalogue.")


# ---------------------------------------------------------------- 06-3, importance pooling
def _pool_variants(conv: PinSAGEConv, x_src, x_dst, edge_index, edge_weight) -> dict:
    """The layer and its known wrong versions, dense: A[t, s] sums the weights of the edges s -> t."""
    a = torch.zeros(x_dst.shape[0], x_src.shape[0]).index_put_((edge_index[1], edge_index[0]), edge_weight,
                                                              accumulate=True)
    count = torch.zeros_like(a).index_put_((edge_index[1], edge_index[0]), torch.ones_like(edge_weight),
                                           accumulate=True)
    mean = count / count.sum(1, keepdim=True).clamp(min=1)
    q, w = conv.lin_q, conv.lin_w
    msg = torch.relu(q(x_src))  # (N_src, H)

    def dense(n, first_dst=True, relu=True, norm=True):
        h = w(torch.cat([x_dst, n] if first_dst else [n, x_dst], dim=1))
        h = torch.relu(h) if relu else h
        return F.normalize(h, dim=1) if norm else h

    return {None: dense(a @ msg),
            "the output is not L2-normalized: divide each row by its norm": dense(a @ msg, norm=False),
            "you pooled with an unweighted mean; importance pooling weights neighbour u by w_vu": dense(mean @ msg),
            "you pooled the neighbours first and applied Q and ReLU after; each neighbour's message is "
            "ReLU(Q h_u + q), then the weighted sum": dense(torch.relu(q.bias + (a @ x_src) @ q.weight.T)),
            "the concatenation is [n_v || h_v]; it must be [h_v || n_v]": dense(a @ msg, first_dst=False),
            "the ReLU after the dense layer W is missing": dense(a @ msg, relu=False)}


def _pool_cases():
    gen = torch.Generator().manual_seed(0)
    small = (torch.randn(5, 3, generator=gen), torch.randn(3, 3, generator=gen),
             torch.tensor([[0, 1, 4, 4, 2], [0, 0, 0, 1, 1]]), torch.tensor([0.5, 0.25, 0.25, 0.7, 0.3]))
    data, _ = _ml100k()
    feats, _ = item_feature_matrix(data)  # (I, F)
    neighbors, weights = _ml100k_table()
    block = computation_graph(neighbors, weights, torch.arange(0, 1600, 50), 1).blocks[0]
    real = (feats[block.src_nodes], feats[block.dst_nodes], block.edge_index, block.edge_weight)
    return [(small, 3, 6, 4, "a 5-source, 3-target toy block (target 2 has no neighbour)"),
            (real, feats.shape[1], 16, 8, "one ML-100K block (32 target movies, their top-10 walk neighbours)")]


@exercise("06-3", "importance pooling as a MessagePassing layer")
def importance_pooling(answer) -> str:
    """``answer(in_channels, out_channels, hidden_channels)`` -> a ``MessagePassing`` layer with ``lin_q`` and
    ``lin_w`` (``nn.Linear``); ``layer((x_src, x_dst), edge_index, edge_weight) -> (N_dst, out_channels)``."""
    from torch_geometric.nn import MessagePassing

    for (x_src, x_dst, edge_index, edge_weight), f, c, h, case in _pool_cases():
        torch.manual_seed(0)
        conv = PinSAGEConv(f, c, h)
        layer = call(answer, f, c, h, case=f"{case}: building the layer ({f}, {c}, hidden_channels={h})")
        if not isinstance(layer, MessagePassing):
            raise Wrong(f"your layer must subclass torch_geometric.nn.MessagePassing, got {type(layer).__name__}")
        for name in ("lin_q", "lin_w"):
            mine, lib = getattr(layer, name, None), getattr(conv, name)
            if not isinstance(mine, torch.nn.Linear) or mine.weight.shape != lib.weight.shape or mine.bias is None:
                raise Wrong(f"your layer must have {name} = nn.Linear{tuple(lib.weight.shape[::-1])} with a bias, "
                            f"got {mine!r}")
            mine.load_state_dict(lib.state_dict())  # same weights, so the outputs must agree
        with torch.no_grad(), from_scratch("your importance-pooling layer", "gnnrec_lite.models"):
            got = call(layer, (x_src.clone(), x_dst.clone()), edge_index.clone(), edge_weight.clone(), case=case)
        with torch.no_grad():
            variants = _pool_variants(conv, x_src, x_dst, edge_index, edge_weight)
            want = conv((x_src, x_dst), edge_index, edge_weight)
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            raise Wrong(f"on {case} expected shape {tuple(want.shape)}, got "
                        f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
        if not torch.allclose(got, want, atol=1e-5):
            hint = next((f" ({name})" for name, v in variants.items()
                         if name is not None and torch.allclose(got, v, atol=1e-5)), "")
            row = int((got - want).abs().max(1).values.argmax())
            raise Wrong(f"on {case} expected target {row} to be {[round(v, 4) for v in want[row, :4].tolist()]}..., "
                        f"got {[round(v, 4) for v in got[row, :4].tolist()]}...{hint}")
    return ("your layer equals the library's PinSAGEConv on an ML-100K block: message w_vu ReLU(Q h_u + q), "
            "sum aggregation, update ReLU(W [h_v || n_v] + w) scaled to unit length.")


# ---------------------------------------------------------------- 06-4, the margin loss
@_quiet
def _margin_hint(z_q, z_p, z_n, margin, got) -> str:
    pos = (z_q * z_p).sum(-1, keepdim=True)  # (B, 1)
    neg = z_q @ z_n.T  # (B, M)
    variants = {"you summed the terms; the loss is their mean over every (pair, negative)":
                F.relu(neg - pos + margin).sum(),
                "the max(0, .) is missing: terms outside the margin must give 0, not a reward":
                (neg - pos + margin).mean(),
                "the sign is reversed: the term is z_q . z_neg - z_q . z_pos + margin":
                F.relu(pos - neg + margin).mean(),
                "the margin is subtracted; it is added": F.relu(neg - pos - margin).mean()}
    if z_n.shape == z_q.shape:
        variants["you paired query b with negative b only; every query is scored against every shared negative"] = \
            F.relu((z_q * z_n).sum(-1) - pos[:, 0] + margin).mean()
    return next((f" ({name})" for name, v in variants.items() if abs(float(got) - float(v)) < 1e-6), "")


@exercise("06-4", "the margin loss with shared negatives")
def shared_margin_loss(answer) -> str:
    """``answer(z_q (B, D), z_p (B, D), z_n (M, D), margin) -> scalar``: mean of max(0, z_q.z_n - z_q.z_p + margin)."""
    gen = torch.Generator().manual_seed(0)

    def unit(*shape):
        return F.normalize(torch.randn(*shape, generator=gen), dim=-1)

    hand = (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.8, 0.6], [0.6, 0.8]]),
            torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]]))
    cases = [(hand, 0.2, "two queries, three shared negatives (2-d unit vectors)"),
             ((unit(4, 8), unit(4, 8), unit(4, 8)), 0.1, "4 pairs and 4 shared negatives, 8-d"),
             ((unit(6, 8), unit(6, 8), unit(3, 8)), 0.5, "6 pairs and 3 shared negatives, 8-d")]
    for (z_q, z_p, z_n), margin, case in cases:
        with from_scratch("your margin loss", "gnnrec_lite.train_item2item"):
            got = call(answer, z_q.clone(), z_p.clone(), z_n.clone(), margin, case=f"{case}, margin={margin}")
        want = margin_loss(z_q, z_p, z_n, margin)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise Wrong(f"on {case} expected a scalar tensor, got {got!r}")
        if abs(float(got) - float(want)) > 1e-6:
            raise Wrong(f"on {case}, margin={margin} expected {float(want):.6f}, got {float(got):.6f}"
                        f"{_margin_hint(z_q, z_p, z_n, margin, got)}")
    z_q = unit(4, 8).requires_grad_(True)
    loss = call(answer, z_q, unit(4, 8), unit(5, 8), 0.5, case="4 pairs with z_q requiring a gradient")
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        raise Wrong("the loss must be differentiable (no .item(), no detach): training needs its gradient")
    neighbors, _ = _ml100k_table()
    z = F.normalize(torch.randn(neighbors.shape[0], 16, generator=gen), dim=1)  # random 16-d item vectors
    q = torch.nonzero(neighbors[:, 0] >= 0).flatten()[:256]  # movies with a walk neighbour, paired with the first
    n = torch.randint(neighbors.shape[0], (128,), generator=gen)
    got = float(call(answer, z[q], z[neighbors[q, 0]], z[n], 0.2, case="random ML-100K vectors, 256 pairs, 128 "
                     "shared negatives"))
    active = float(((z[q] @ z[n].T - (z[q] * z[neighbors[q, 0]]).sum(-1, keepdim=True) + 0.2) > 0).double().mean())
    return (f"with random vectors, {active:.0%} of the (pair, negative) terms are inside the margin (loss {got:.3f}); "
            "training pushes that share down, and only active terms give a gradient.")


written("06-5", "a fair warm comparison with item-kNN")

__all__ = ["computation_graph_layers", "importance_neighbourhoods", "importance_pooling", "shared_margin_loss"]
