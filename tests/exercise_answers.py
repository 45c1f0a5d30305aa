"""Plausible wrong answers to the lecture exercises, one or more per code exercise, each named.

tests/test_exercises.py checks that every code exercise's check rejects each
of them. A wrong answer is the mistake a learner is likely to make, not
nonsense: dividing by K instead of |P_u|, leaving seen items in, ...
"""

from __future__ import annotations

import torch


def _mean_recall(top, test, users_all: bool = False):
    total, n = 0.0, 0
    for u in range(top.shape[0]):
        positives = set(test.item[test.user == u].tolist())
        if positives or users_all:
            total += len(positives & set(top[u].tolist())) / max(1, len(positives))
            n += 1
    return total / n


def _recall_no_exclusion(scores, train, test, k):
    return _mean_recall(torch.topk(scores, k, dim=1).indices, test)


def _recall_over_all_users(scores, train, test, k):
    s = scores.clone()
    s[train.user, train.item] = -float("inf")
    return _mean_recall(torch.topk(s, k, dim=1).indices, test, users_all=True)


def _recall_k_plus_one(scores, train, test, k):
    s = scores.clone()
    s[train.user, train.item] = -float("inf")
    return _mean_recall(torch.topk(s, k + 1, dim=1).indices, test)


def _top_k_with_seen(scores, seen, k):
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))[:k]


def _top_k_ties_to_higher_id(scores, seen, k):
    return [i for i in sorted(range(len(scores)), key=lambda i: (-float(scores[i]), -i)) if i not in seen][:k]


def _lately_counts_everything(train, days):
    return torch.bincount(train.item, minlength=train.num_items)


def _lately_from_the_first_stamp(train, days):
    t = train.timestamp
    keep = t < t.min() + days * 86_400
    return torch.bincount(train.item[keep], minlength=train.num_items)


WRONG: dict[str, list] = {
    "01-1": [("divides by K (Precision@K)", lambda top, pos: len(set(top) & pos) / len(top)),
             ("counts the -1 padding as an item", lambda top, pos: len(set(top) & (pos | {-1})) / len(pos))],
    "01-2": [("leaves seen items in", _top_k_with_seen),
             ("breaks ties towards the higher id", _top_k_ties_to_higher_id),
             ("returns K + 1 items", lambda s, seen, k: [i for i in sorted(range(len(s)), key=lambda i: (
                 -float(s[i]), i)) if i not in seen][:k + 1])],
    "01-3": [("training items left in the lists", _recall_no_exclusion),
             ("averages over users without test items", _recall_over_all_users),
             ("an off-by-one in K", _recall_k_plus_one)],
    "01-4": [("counts every interaction", _lately_counts_everything),
             ("counts from the first time stamp", _lately_from_the_first_stamp)],
}


# ---------------------------------------------------------------- lectures 04, 06 and 07
def _ngcf_layer(norm: str = "sym", slope: float = 0.2, interaction: bool = True):
    """An NGCF layer as a MessagePassing class, with one of the known mistakes switched in."""
    import torch.nn.functional as F
    from torch_geometric.nn import MessagePassing
    from torch_geometric.utils import degree

    class NGCFLayer(MessagePassing):  # PyG caches each class's generated propagate by name: one name per kind
        def __init__(self, in_channels, out_channels):
            super().__init__(aggr="add")
            self.w1 = torch.nn.Linear(in_channels, out_channels)
            self.w2 = torch.nn.Linear(in_channels, out_channels)

        def forward(self, x, edge_index):
            src, dst = edge_index
            deg = degree(dst, x.shape[0], dtype=x.dtype)
            weight = {"sym": (deg[src] * deg[dst]).rsqrt(), "none": torch.ones_like(deg[src]),
                      "mean": 1 / deg[dst]}[norm]
            m = self.propagate(edge_index, x=x, weight=weight)
            out = self.w1(m + x) + (self.w2(m * x) if interaction else 0)
            return F.leaky_relu(out, slope)

        def message(self, x_j, weight):
            return weight[:, None] * x_j

    return NGCFLayer


def _k_hops(train, starts, k, *, hops_short: int = 0, count_starts: bool = True):
    nbrs = [set() for _ in range(train.num_users + train.num_items)]
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        nbrs[u].add(train.num_users + i)
        nbrs[train.num_users + i].add(u)
    seen, frontier = set(starts), set(starts)
    for _ in range(max(0, k - hops_short)):
        frontier = {w for v in frontier for w in nbrs[v]} - seen
        seen |= frontier
    return len(seen) - (0 if count_starts else len(starts))


def _stop_ties_to_later(curve, patience):
    best_epoch, best, bad = None, None, 0
    for epoch, score in curve:
        if best is None or score >= best:
            best_epoch, best, bad = epoch, score, 0
        else:
            bad += 1
            if bad >= patience:
                return best_epoch, epoch
    return best_epoch, curve[-1][0]


def _stop_one_late(curve, patience):
    best_epoch, best, bad = None, None, 0
    for epoch, score in curve:
        if best is None or score > best:
            best_epoch, best, bad = epoch, score, 0
        else:
            bad += 1
            if bad > patience:
                return best_epoch, epoch
    return best_epoch, curve[-1][0]


def _neighbourhood(counts, t, *, weights="kept", stable=True, pad=True):
    top_c, top_i = torch.sort(counts, dim=1, descending=True, stable=True)
    if not stable:  # equal counts to the higher id
        flipped = torch.sort(counts.flip(1), dim=1, descending=True, stable=True)
        top_c, top_i = flipped.values, counts.shape[1] - 1 - flipped.indices
    top_c, top_i = top_c[:, :t], top_i[:, :t]
    neighbors = torch.where(top_c > 0, top_i, -1) if pad else top_i
    w = {"kept": top_c / top_c.sum(1, keepdim=True), "raw": top_c, "row": top_c / counts.sum(1, keepdim=True)}
    return neighbors, w[weights]


def _graph_layers(neighbors, seeds, k, *, keep_targets=True, padding=False, reverse=False):
    layers = [set(seeds)]
    for _ in range(k):
        below = set(layers[0]) if keep_targets else set()
        for v in layers[0]:
            below |= {u for u in neighbors[v].tolist() if padding or u >= 0}
        layers.insert(0, below)
    return layers[::-1] if reverse else layers


def _pooling_layer(normalize=True, weighted=True, order="dst-first"):
    """Importance pooling as a MessagePassing class, with one of the known mistakes switched in."""
    import torch.nn.functional as F
    from torch_geometric.nn import MessagePassing

    class PoolingLayer(MessagePassing):
        def __init__(self, in_channels, out_channels, hidden_channels):
            super().__init__(aggr="add" if weighted else "mean")
            self.lin_q = torch.nn.Linear(in_channels, hidden_channels)
            self.lin_w = torch.nn.Linear(in_channels + hidden_channels, out_channels)

        def forward(self, x, edge_index, edge_weight):
            x_src, x_dst = x
            msg = torch.relu(self.lin_q(x_src))
            n = self.propagate(edge_index, x=(msg, x_dst), edge_weight=edge_weight,
                               size=(x_src.shape[0], x_dst.shape[0]))
            parts = [x_dst, n] if order == "dst-first" else [n, x_dst]
            h = torch.relu(self.lin_w(torch.cat(parts, dim=1)))
            return F.normalize(h, dim=1) if normalize else h

        def message(self, x_j, edge_weight):
            return edge_weight[:, None] * x_j if weighted else x_j

    return PoolingLayer


def _margin(z_q, z_p, z_n, margin, *, reduce="mean", sign=1, clamp=True):
    pos = (z_q * z_p).sum(-1, keepdim=True)
    terms = sign * (z_q @ z_n.T - pos) + margin
    terms = torch.relu(terms) if clamp else terms
    return terms.sum() if reduce == "sum" else terms.mean()


def _shared_bpr(user_z, item_z, users, pos, shared, owned, *, mask=True, denominator="valid"):
    u = user_z[users]
    terms = -torch.nn.functional.logsigmoid((u * item_z[pos]).sum(-1, keepdim=True) - u @ item_z[shared].T)
    valid = ~owned[users][:, shared] if mask else torch.ones_like(terms, dtype=torch.bool)
    if denominator == "rows":
        return ((terms * valid).sum(1) / valid.sum(1).clamp(min=1)).mean()
    return (terms * valid).sum() / (valid.sum() if denominator == "valid" else terms.numel())


def _pools(counts, owned, window, *, drop_owned=True, stable=True, over="candidates"):
    import math
    scores = counts.double().masked_fill(owned, -1.0) if drop_owned else counts.double()
    if stable:
        order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    else:  # equal counts to the higher id
        order = scores.shape[1] - 1 - torch.sort(scores.flip(1), dim=1, descending=True, stable=True).indices
    pools = []
    for r in range(counts.shape[0]):
        c = int((~owned[r]).sum()) if over == "candidates" else counts.shape[1]
        lo = math.floor(window[0] * c)
        pools.append(order[r, lo:max(math.ceil(window[1] * c), lo + 1)])
    return pools


def _distance(d, dim, cutoff, high, *, inverse=True, clip=True, zero=True):
    import math
    dc = d.clamp(min=cutoff) if clip else d
    log_q = (dim - 2) * dc.log() + (dim - 3) / 2 * torch.log1p(-dc ** 2 / 4)
    log_w = -log_q if inverse else log_q
    if zero:
        log_w = log_w.masked_fill(d >= high, -math.inf)
    return torch.softmax(log_w, dim=1)


WRONG.update({
    "04-1": [("sums the neighbours without normalization", _ngcf_layer(norm="none")),
             ("averages the neighbours (1/d_i)", _ngcf_layer(norm="mean")),
             ("uses F.leaky_relu's default slope", _ngcf_layer(slope=0.01)),
             ("leaves out the interaction term", _ngcf_layer(interaction=False))],
    "04-2": [("one hop short", lambda train, starts, k: _k_hops(train, starts, k, hops_short=1)),
             ("does not count the start nodes", lambda train, starts, k: _k_hops(train, starts, k,
                                                                                 count_starts=False))],
    "04-3": [("a tie moves the best epoch later", _stop_ties_to_later),
             ("stops one evaluation late", _stop_one_late),
             ("picks the last epoch", lambda curve, patience: (curve[-1][0], curve[-1][0]))],
    "04-4": [("forgets the biases", lambda u, i, d, k: ((u + i) * d, (u + i) * d + 2 * k * d * d)),
             ("one weight matrix per layer", lambda u, i, d, k: ((u + i) * d, (u + i) * d + k * (d * d + d)))],
    "06-1": [("raw counts as weights", lambda c, t: _neighbourhood(c, t, weights="raw")),
             ("weights over every visit of the row", lambda c, t: _neighbourhood(c, t, weights="row")),
             ("ties to the higher id", lambda c, t: _neighbourhood(c, t, stable=False)),
             ("keeps unvisited items", lambda c, t: _neighbourhood(c, t, pad=False))],
    "06-2": [("drops the targets from the layer below", lambda n, s, k: _graph_layers(n, s, k, keep_targets=False)),
             ("counts the -1 padding", lambda n, s, k: _graph_layers(n, s, k, padding=True)),
             ("lists the layers from the seeds down", lambda n, s, k: _graph_layers(n, s, k, reverse=True))],
    "06-3": [("no L2 normalization", _pooling_layer(normalize=False)),
             ("unweighted mean pooling", _pooling_layer(weighted=False)),
             ("concatenates [n_v || h_v]", _pooling_layer(order="n-first"))],
    "06-4": [("sums the terms", lambda q, p, n, m: _margin(q, p, n, m, reduce="sum")),
             ("reverses the sign", lambda q, p, n, m: _margin(q, p, n, m, sign=-1)),
             ("forgets max(0, .)", lambda q, p, n, m: _margin(q, p, n, m, clamp=False))],
    "07-1": [("no clash mask", lambda *a: _shared_bpr(*a, mask=False)),
             ("divides by all B x M pairs", lambda *a: _shared_bpr(*a, denominator="all")),
             ("averages per user first", lambda *a: _shared_bpr(*a, denominator="rows"))],
    "07-2": [("keeps the user's own items", lambda c, o, w: _pools(c, o, w, drop_owned=False)),
             ("ties to the higher id", lambda c, o, w: _pools(c, o, w, stable=False)),
             ("window over every item, not the candidates", lambda c, o, w: _pools(c, o, w, over="items"))],
    "07-3": [("n hard negatives at epoch n", lambda n, cap, step: min(cap, step * n)),
             ("no cap", lambda n, cap, step: step * (n - 1)),
             ("ignores the step", lambda n, cap, step: min(cap, n - 1))],
    "07-4": [("weights by q(d)", lambda d, dim, lo, hi: _distance(d, dim, lo, hi, inverse=False)),
             ("no clipping at the cutoff", lambda d, dim, lo, hi: _distance(d, dim, lo, hi, clip=False)),
             ("keeps candidates beyond 1.4", lambda d, dim, lo, hi: _distance(d, dim, lo, hi, zero=False))],
})


# ------------------------------------------------------------------------------------- lectures 02, 03 and 05
import copy as _copy  # noqa: E402

import torch.nn.functional as _F  # noqa: E402


def _binary_one_mean(pos, neg):
    return torch.cat([_F.softplus(-pos.reshape(-1)), _F.softplus(neg.reshape(-1))]).mean()


def _binary_log_sigmoid(pos, neg):
    return -torch.log(torch.sigmoid(pos)).mean() - torch.log(1 - torch.sigmoid(neg)).mean()


def _bpr_flipped(pos, neg):
    return _F.softplus(pos[:, None] - neg).mean()


def _bpr_paired_across_users(pos, neg):
    return _F.softplus(-(pos[None, :] - neg)).mean()


def _bpr_log_sigmoid(pos, neg):
    return -torch.log(torch.sigmoid(pos[:, None] - neg)).mean()


def _bpr_full_pooled(scores, train):
    mask = torch.zeros(scores.shape, dtype=torch.bool)
    mask[train.user, train.item] = True
    pairs = [_F.softplus(-(scores[u][mask[u]][:, None] - scores[u][~mask[u]][None, :])).flatten()
             for u in range(scores.shape[0])]
    return torch.cat(pairs).mean()


def _bpr_full_every_item_negative(scores, train):
    mask = torch.zeros(scores.shape, dtype=torch.bool)
    mask[train.user, train.item] = True
    per_user = [_F.softplus(-(scores[u][mask[u]][:, None] - scores[u][None, :])).mean()
                for u in range(scores.shape[0]) if mask[u].any()]
    return torch.stack(per_user).mean()


def _bpr_full_all_users(scores, train):
    mask = torch.zeros(scores.shape, dtype=torch.bool)
    mask[train.user, train.item] = True
    per_user = [_F.softplus(-(scores[u][mask[u]][:, None] - scores[u][~mask[u]][None, :])).mean()
                for u in range(scores.shape[0])]
    return torch.stack(per_user).mean()  # a user without positives gives the mean of nothing: NaN


def _batch_scores_transposed(user_emb, item_emb, users, pos, neg):
    u = user_emb[users]
    return (u * item_emb[pos]).sum(-1), (u[:, None, :] * item_emb[neg]).sum(-1).T


def _batch_scores_all_negatives(user_emb, item_emb, users, pos, neg):
    u = user_emb[users]
    return (u * item_emb[pos]).sum(-1), u @ item_emb[neg.flatten()].T  # every user against every negative


def _owned(train):
    owned = torch.zeros(train.num_users, train.num_items, dtype=torch.bool)
    owned[train.user, train.item] = True
    return owned


def _negatives_no_rejection(train, users, m, generator):
    return torch.randint(train.num_items, (len(users), m), generator=generator)


def _negatives_one_redraw(train, users, m, generator):
    neg = torch.randint(train.num_items, (len(users), m), generator=generator)
    clash = _owned(train)[users[:, None], neg]
    neg[clash] = torch.randint(train.num_items, (int(clash.sum()),), generator=generator)
    return neg


def _negatives_next_free(train, users, m, generator):
    owned = _owned(train)
    neg = torch.randint(train.num_items, (len(users), m), generator=generator)
    for _ in range(train.num_items):  # move a clash to the next item id, wrapping around
        clash = owned[users[:, None], neg]
        if not clash.any():
            break
        neg[clash] = (neg[clash] + 1) % train.num_items
    return neg


def _negatives_global_rng(train, users, m, generator):
    owned = _owned(train)
    neg = torch.randint(train.num_items, (len(users), m))
    clash = owned[users[:, None], neg]
    while clash.any():
        neg[clash] = torch.randint(train.num_items, (int(clash.sum()),))
        clash = owned[users[:, None], neg]
    return neg


def _bpr_step(l2_of, *, zero_grad=True, step=True):
    def bpr_step(model, optimizer, users, pos, neg, reg):
        user_z, item_z = model()
        u = user_z[users]
        pos_scores, neg_scores = (u * item_z[pos]).sum(-1), (u[:, None, :] * item_z[neg]).sum(-1)
        loss = _F.softplus(-(pos_scores[:, None] - neg_scores)).mean() + l2_of(model, users, pos, neg, reg)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        if step:
            optimizer.step()
        return loss.item()
    return bpr_step


def _l2(model, users, pos, neg, reg):
    sq = model.user_emb(users).pow(2).sum() + model.item_emb(pos).pow(2).sum() + model.item_emb(neg).pow(2).sum() / \
        neg.shape[1]
    return reg * sq / (2 * len(users))


def _l2_tables(model, users, pos, neg, reg):
    return reg * (model.user_emb.weight.pow(2).sum() + model.item_emb.weight.pow(2).sum()) / (2 * len(users))


def _l2_without_1_over_m(model, users, pos, neg, reg):
    sq = model.user_emb(users).pow(2).sum() + model.item_emb(pos).pow(2).sum() + model.item_emb(neg).pow(2).sum()
    return reg * sq / (2 * len(users))


class _Stopper:
    """Early stopping written right, with switches for the usual mistakes."""

    def __init__(self, patience, *, ties_improve=False, extra=0, live_state=False):
        self.patience, self.ties_improve, self.extra, self.live_state = patience, ties_improve, extra, live_state
        self.best_score = self.best_epoch = self.state = None
        self.bad = 0

    def update(self, epoch, score, model):
        better = self.best_score is None or score > self.best_score or (self.ties_improve and score == self.best_score)
        if better:
            self.best_score, self.best_epoch, self.bad = score, epoch, 0
            self.state = model.state_dict() if self.live_state else _copy.deepcopy(model.state_dict())
        else:
            self.bad += 1
        return self.bad >= self.patience + self.extra

    def restore(self, model):
        model.load_state_dict(self.state)


def _cosine_parts(train):
    r = torch.zeros(train.num_users, train.num_items)
    r[train.user, train.item] = 1.0
    common = r.T @ r  # (I, I)
    return common, common.diagonal().clone()


def _cosine_with_diagonal(train):
    common, deg = _cosine_parts(train)
    return common / (deg[:, None] * deg[None, :]).sqrt().clamp(min=1e-12)


def _cosine_by_one_degree(train):
    common, deg = _cosine_parts(train)
    sims = common / deg[:, None].clamp(min=1)
    return sims.fill_diagonal_(0.0)


def _cosine_nan_for_unused(train):
    common, deg = _cosine_parts(train)
    sims = common / (deg[:, None] * deg[None, :]).sqrt()
    return sims.fill_diagonal_(0.0)


def _edge_index_one_direction(train):
    return torch.stack([train.user, train.item + train.num_users])


def _edge_index_no_offset(train):
    return torch.stack([torch.cat([train.user, train.item]), torch.cat([train.item, train.user])])


def _edge_index_offset_by_items(train):
    items = train.item + train.num_items
    return torch.stack([torch.cat([train.user, items]), torch.cat([items, train.user])])


def _lgconv(weight):
    from torch_geometric.nn import MessagePassing
    from torch_geometric.utils import add_self_loops, degree

    class Conv(MessagePassing):
        def __init__(self):
            super().__init__(aggr="add")

        def forward(self, x, edge_index):
            if weight == "self-loops":
                edge_index, _ = add_self_loops(edge_index, num_nodes=x.shape[0])
            src, dst = edge_index
            deg = degree(dst, x.shape[0], dtype=x.dtype)
            if weight == "mean":
                norm = 1 / deg[dst]
            elif weight == "none":
                norm = torch.ones_like(deg[dst])
            elif weight == "no sqrt":
                norm = 1 / (deg[src] * deg[dst])
            else:
                norm = (deg[src] * deg[dst]).pow(-0.5)
            return self.propagate(edge_index, x=x, norm=norm)

        def message(self, x_j, norm):
            return norm[:, None] * x_j

    return Conv


def _propagate_from_first_product(adj, emb, alpha):
    out, x = 0, emb
    for a in alpha:
        x = torch.sparse.mm(adj, x)
        out = out + a * x
    return out


def _propagate_plain_mean(adj, emb, alpha):
    out, x = emb, emb
    for _ in alpha[1:]:
        x = torch.sparse.mm(adj, x)
        out = out + x
    return out / len(alpha)


def _propagate_dense_powers(adj, emb, alpha):
    dense = adj.to_dense()
    return sum(a * torch.linalg.matrix_power(dense, k) @ emb for k, a in enumerate(alpha))


def _propagate_detached(adj, emb, alpha):
    out, x = alpha[0] * emb.detach(), emb.detach()
    for a in alpha[1:]:
        x = torch.sparse.mm(adj, x)
        out = out + a * x
    return out


WRONG.update({
    "02-1": [("one mean over all edges", _binary_one_mean),
             ("log(sigmoid) written out (-inf at -100)", _binary_log_sigmoid),
             ("the negatives' term with the wrong sign", lambda p, n: _F.softplus(-p).mean() + _F.softplus(-n).mean())],
    "02-2": [("neg - pos instead of pos - neg", _bpr_flipped),
             ("pairs user j's positive with user i's negatives", _bpr_paired_across_users),
             ("log(sigmoid) written out", _bpr_log_sigmoid),
             ("sums instead of averaging", lambda p, n: _F.softplus(-(p[:, None] - n)).sum())],
    "02-3": [("one mean over every pair of every user", _bpr_full_pooled),
             ("positives counted among the negatives", _bpr_full_every_item_negative),
             ("users without positives in the mean", _bpr_full_all_users)],
    "02-4": [("neg_scores transposed (M, B)", _batch_scores_transposed),
             ("every user against every negative of the batch", _batch_scores_all_negatives)],
    "03-1": [("no rejection", _negatives_no_rejection),
             ("a single redraw", _negatives_one_redraw),
             ("a clash moved to the next free id", _negatives_next_free),
             ("the global random state instead of the generator", _negatives_global_rng)],
    "03-2": [("no L2 term", _bpr_step(lambda *a: 0.0)),
             ("L2 over the whole tables", _bpr_step(_l2_tables)),
             ("L2 without the 1/M on the negatives", _bpr_step(_l2_without_1_over_m)),
             ("no zero_grad", _bpr_step(_l2, zero_grad=False)),
             ("no optimizer step", _bpr_step(_l2, step=False))],
    "03-3": [("keeps the live state_dict", lambda p: _Stopper(p, live_state=True)),
             ("a tie counts as an improvement", lambda p: _Stopper(p, ties_improve=True)),
             ("stops one evaluation late", lambda p: _Stopper(p, extra=1))],
    "03-4": [("the diagonal left in", _cosine_with_diagonal),
             ("divided by |U(i)| only", _cosine_by_one_degree),
             ("0/0 for an item nobody has", _cosine_nan_for_unused)],
    "05-1": [("one direction only", _edge_index_one_direction),
             ("items not shifted by num_users", _edge_index_no_offset),
             ("items shifted by num_items", _edge_index_offset_by_items)],
    "05-2": [("mean aggregation", _lgconv("mean")),
             ("no normalization", _lgconv("none")),
             ("self-loops added", _lgconv("self-loops")),
             ("1/(deg(i) deg(j)) without the square root", _lgconv("no sqrt")),
             ("not a MessagePassing layer", lambda: (lambda x, edge_index: x))],
    "05-3": [("starts at Â E, drops E(0)", _propagate_from_first_product),
             ("ignores alpha", _propagate_plain_mean),
             ("dense powers of Â", _propagate_dense_powers),
             ("detaches the embeddings", _propagate_detached)],
})
