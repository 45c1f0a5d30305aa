"""Lecture 04's exercises: the NGCF layer as a PyG MessagePassing layer, the K-hop reach of one step,
early stopping on a validation split, and where NGCF's parameters are.

Each checker compares the learner's answer with the library (or an
independent computation) on small cases and on MovieLens-100K; where a known
mistake gives a recognisable wrong value, the message names it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ... import datasets, graph, splits
from ...interactions import Interactions
from ...models import build_model
from ...train import train_bpr
from .base import Wrong, call, exercise, from_scratch, ml100k_split, written


def _ml100k_train():
    return ml100k_split()[0]


# ---------------------------------------------------------------- 04-1, the NGCF layer
def _ngcf_variants(x, edge_index, w1, w2):
    """The right layer and the known wrong ones, each ``(N, D')``, by scatter sums over ``edge_index``."""
    src, dst = edge_index
    deg = torch.zeros(x.shape[0]).index_add_(0, dst, torch.ones(dst.numel()))  # (N,)

    def aggregate(weight):  # sum over edges j -> i of weight_ji h_j
        return torch.zeros_like(x).index_add_(0, dst, weight[:, None] * x[src])  # (N, D)

    m_sum = aggregate(torch.ones(src.numel()))
    m = aggregate((deg[src] * deg[dst]).rsqrt())
    m_mean = aggregate(1 / deg[dst])
    leaky = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
    return {
        None: leaky(w1(m + x) + w2(m * x)),
        "you summed the neighbours without the 1/sqrt(d_i d_j) weights (AGGR is a normalized sum)":
            leaky(w1(m_sum + x) + w2(m_sum * x)),
        "you averaged the neighbours (1/d_i); NGCF weights neighbour j of i by 1/sqrt(d_i d_j)":
            leaky(w1(m_mean + x) + w2(m_mean * x)),
        "the element-wise interaction term W2 (m * h) is missing": leaky(w1(m + x)),
        "the node's own vector is missing from W1 (m + h): you used W1 m": leaky(w1(m) + w2(m * x)),
        "you used ReLU; NGCF uses LeakyReLU with slope 0.2": torch.relu(w1(m + x) + w2(m * x)),
        "you used F.leaky_relu's default slope 0.01; NGCF's is 0.2": F.leaky_relu(w1(m + x) + w2(m * x), 0.01),
    }


def _run_layer(answer, inter, dim: int, seed: int, case: str):
    from torch_geometric.nn import MessagePassing

    model = build_model("ngcf", inter, seed=seed, embedding_dim=dim, num_layers=1)
    x = model.initial_embeddings().detach()  # (N, D)
    layer = call(answer, dim, dim, case=f"{case}: building the layer with in_channels={dim}, out_channels={dim}")
    if not isinstance(layer, MessagePassing):
        raise Wrong(f"your layer must subclass torch_geometric.nn.MessagePassing, got {type(layer).__name__}")
    for name, lib in (("w1", model.w_self[0]), ("w2", model.w_inter[0])):
        lin = getattr(layer, name, None)
        if not isinstance(lin, torch.nn.Linear) or lin.weight.shape != lib.weight.shape or lin.bias is None:
            raise Wrong(f"your layer must have {name} = nn.Linear({dim}, {dim}) (with a bias); got {lin!r}")
        lin.load_state_dict(lib.state_dict())  # the checker sets the weights: both layers compute with the same W
    edge_index = graph.to_homogeneous_edge_index(inter)  # (2, 2E), items offset by num_users
    with torch.no_grad(), from_scratch("your NGCF layer", "gnnrec_lite.models.ngcf", "gnnrec_lite.propagate"):
        got = call(layer, x.clone(), edge_index.clone(), case=case)
    with torch.no_grad():
        variants = _ngcf_variants(x, edge_index, model.w_self[0], model.w_inter[0])
        library = model.encode(x)[:, dim:]  # layer 1 of the library's NGCF
    return got, variants, library


@exercise("04-1", "the NGCF layer as a MessagePassing layer")
def ngcf_layer(answer) -> str:
    """``answer(in_channels, out_channels)`` -> a ``MessagePassing`` layer with ``w1``, ``w2`` (``nn.Linear``);
    ``layer(x (N, D), edge_index (2, 2E)) -> (N, D')``: AGGR (normalized sum), then COMBINE."""
    toy = Interactions(3, 3, [0, 0, 1], [0, 1, 1], name="toy")  # user 2 and item 2 have no edge
    cases = [(toy, 3, "a 3-user, 3-item toy graph (user 2 and item 2 without edges)"),
             (datasets.southern_women(), 4, "the Southern Women graph, D = 4"),
             (_ml100k_train(), 16, "the ML-100K training graph, D = 16")]
    for inter, dim, case in cases:
        got, variants, library = _run_layer(answer, inter, dim, 0, case)
        if not isinstance(got, torch.Tensor) or got.shape != library.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise Wrong(f"on {case} expected a tensor of shape {tuple(library.shape)}, got {shape}")
        if not torch.allclose(got.float(), library, atol=1e-5):
            hint = next((f" ({name})" for name, v in variants.items()
                         if name is not None and torch.allclose(got.float(), v, atol=1e-5)), "")
            row = int((got.float() - library).abs().max(1).values.argmax())
            raise Wrong(f"on {case} expected row {row} to start {[round(v, 4) for v in library[row, :4].tolist()]}, "
                        f"got {[round(v, 4) for v in got[row, :4].tolist()]}{hint}")
    return ("your layer equals layer 1 of the library's NGCF on ML-100K: message = h_j / sqrt(d_i d_j), "
            "aggregation = sum, update = LeakyReLU(W1 (m + h) + W2 (m * h)). Stack K of them for NGCF.")


# ---------------------------------------------------------------- 04-2, the K-hop reach
def _hops(inter, starts, k: int) -> int:
    nbrs = [set() for _ in range(inter.num_users + inter.num_items)]
    for u, i in zip(inter.user.tolist(), inter.item.tolist()):
        nbrs[u].add(inter.num_users + i)
        nbrs[inter.num_users + i].add(u)
    seen, frontier = set(starts), set(starts)
    for _ in range(k):
        frontier = {w for v in frontier for w in nbrs[v]} - seen
        seen |= frontier
    return len(seen)


@exercise("04-2", "nodes within K hops of a training triple")
def k_hop_nodes(answer) -> str:
    """``answer(train, starts, k) -> int``: nodes (users, then items offset by num_users) within k hops of starts."""
    sw = datasets.southern_women()
    ml = _ml100k_train()
    cases = [(sw, [0], 1), (sw, [0], 2), (sw, [3, sw.num_users + 5], 1), (sw, [17], 0),
             (ml, [0, 943 + 49, 943 + 300], 2)]
    for inter, starts, k in cases:
        case = f"{inter.name!r} with starts={starts}, k={k}"
        with from_scratch("your k_hop_nodes", "gnnrec_lite.models"):
            got = call(answer, inter, list(starts), k, case=case)
        want = _hops(inter, starts, k)
        if int(got) != want:
            hint = ""
            if k and int(got) == _hops(inter, starts, k - 1):
                hint = f" (that is the count within {k - 1} hops: one hop short)"
            elif int(got) == _hops(inter, starts, k + 1):
                hint = f" (that is the count within {k + 1} hops: one hop too many)"
            elif int(got) == want - len(starts):
                hint = " (the start nodes themselves are within 0 hops: count them)"
            raise Wrong(f"on {case} expected {want} nodes, got {got}{hint}")
    shares = [_hops(ml, [0], k) / (ml.num_users + ml.num_items) for k in (1, 2, 3)]
    return (f"from user 0 of ML-100K, 1, 2 and 3 hops reach {shares[0]:.1%}, {shares[1]:.1%} and {shares[2]:.1%} "
            "of the nodes: a 3-layer NGCF step moves almost every embedding.")


# ---------------------------------------------------------------- 04-3, early stopping
def _stopping(curve, patience):
    best_epoch, best, bad = None, None, 0
    for epoch, score in curve:
        if best is None or score > best:
            best_epoch, best, bad = epoch, score, 0
        else:
            bad += 1
        if bad >= patience:
            return best_epoch, epoch
    return best_epoch, curve[-1][0]


def _stopping_hint(curve, patience, got, want) -> str:
    scores = dict(curve)
    if got[0] > want[1]:
        return (f" (training stops at epoch {want[1]}, after {patience} evaluations without improvement: a later "
                "epoch cannot be the best)")
    if got[0] > want[0] and scores.get(got[0]) == scores[want[0]]:
        return " (on a tie the earlier epoch stays best: only a strictly higher score replaces it)"
    if got[0] == want[0] and got[1] > want[1]:
        return " (stop at the evaluation where the count without improvement reaches patience)"
    if got[0] == want[0] and got[1] < want[1]:
        return " (that stops too soon: an evaluation that improves on the best resets the count)"
    return ""


@exercise("04-3", "the best epoch and the stopping epoch on validation")
def early_stopping(answer) -> str:
    """``answer(curve, patience) -> (best_epoch, stop_epoch)``; curve: ``[(epoch, val score), ...]`` in order."""
    cases = [([(1, 0.1), (2, 0.3), (3, 0.3), (4, 0.2)], 3),
             ([(5, 0.20), (10, 0.25), (15, 0.24), (20, 0.23), (25, 0.26)], 2),
             ([(1, 0.1), (2, 0.3), (3, 0.3), (4, 0.2), (5, 0.4)], 2),
             ([(2, 0.5), (4, 0.4), (6, 0.3)], 1),
             ([(1, 0.1), (2, 0.2), (3, 0.3)], 3)]
    for curve, patience in cases:
        case = f"curve={curve}, patience={patience}"
        got = call(answer, list(curve), patience, case=case)
        want = _stopping(curve, patience)
        if tuple(int(g) for g in got) != want:
            hint = _stopping_hint(curve, patience, tuple(int(g) for g in got), want)
            raise Wrong(f"on {case} expected (best, stop) = {want}, got {tuple(got)}{hint}")
    ml = splits.random_split(datasets.load("ml-100k"), 0.8, seed=0)[0]
    fit, val = splits.random_split(ml, 0.9, seed=1)
    model = build_model("mf", fit, seed=0, embedding_dim=32)
    history = train_bpr(model, fit, val=val, num_epochs=12, eval_every=1, lr=0.05, batch_size=8192, patience=3,
                        progress=False)
    curve = [(r["epoch"], r["val/recall@20"]) for r in history.evaluations()]
    got = call(answer, curve, 3, case="MF on ML-100K (a validation split), patience 3")
    want = (history.best_epoch, history.rows[-1]["epoch"])
    if tuple(int(g) for g in got) != want:
        raise Wrong(f"on MF's validation curve {[(e, round(s, 4)) for e, s in curve]} with patience 3 expected "
                    f"{want} (what train_bpr chose), got {tuple(got)}")
    return (f"on ML-100K, MF's validation Recall@20 peaks at epoch {want[0]} and training stops at epoch {want[1]}, "
            "as train_bpr(val=..., patience=3) decides: the test split was never looked at.")


# ---------------------------------------------------------------- 04-4, parameter counts
@exercise("04-4", "where NGCF's parameters are")
def parameter_counts(answer) -> str:
    """``answer(num_users, num_items, embedding_dim, num_layers) -> (mf, ngcf)`` parameter counts."""
    ml = _ml100k_train()
    cases = [(datasets.southern_women(), 4, 1), (datasets.southern_women(), 8, 3), (ml, 16, 0), (ml, 64, 3)]
    for inter, d, k in cases:
        case = f"num_users={inter.num_users}, num_items={inter.num_items}, embedding_dim={d}, num_layers={k}"
        got = call(answer, inter.num_users, inter.num_items, d, k, case=case)
        want = tuple(sum(p.numel() for p in build_model(name, inter, embedding_dim=d, num_layers=k).parameters())
                     for name in ("mf", "ngcf"))
        got = tuple(int(g) for g in got)
        if got != want:
            n = (inter.num_users + inter.num_items) * d
            hint = {n + 2 * k * d * d: " (the biases of W1 and W2 are missing: each nn.Linear(D, D) has D more)",
                    n + k * (d * d + d): " (NGCF has two weight matrices per layer, W1 and W2)",
                    n + 2 * (k + 1) * (d * d + d): " (K layers have K pairs of matrices, not K + 1)"}.get(got[1], "")
            raise Wrong(f"on {case} expected (MF, NGCF) = {want}, got {got}{hint}")
    mf, ngcf = want  # the last case: ML-100K, D = 64, K = 3
    return (f"on ML-100K with D = 64 and K = 3 the embedding table holds {mf / ngcf:.0%} of NGCF's {ngcf:,} "
            "parameters: the GNN's weights are a small extra, as lecture 5 takes up.")


written("04-5", "NGCF without its non-linearity")

__all__ = ["early_stopping", "k_hop_nodes", "ngcf_layer", "parameter_counts"]
