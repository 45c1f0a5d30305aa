r"""Item-to-item recommendation with PinSAGE: related pairs, training with a margin loss, evaluation, cold start.

Introduced in lecture 06. Given a query item :math:`q`, recommend items
related to it. Related pairs :math:`(q, p)` come from co-interaction (items
that share many users); a PinSAGE encoder (Ying et al., KDD 2018) is trained
so that a related item is closer than a random one,

.. math::
    \mathcal{L} = \frac{1}{BM} \sum_{(q, p)} \sum_{n=1}^{M}
        \max\bigl(0,\; z_q^\top z_n - z_q^\top z_p + \Delta\bigr),

i.e. :math:`d(z_q, z_p) + \Delta \le d(z_q, z_n)` with :math:`d(a, b) = 1 - a^\top b`
on unit vectors; the :math:`M` negatives are shared by the whole mini-batch,
as in the paper. Items whose edges are all held out ("cold" items) keep their
features, so PinSAGE can still embed them; a shallow embedding table cannot.
"""

from __future__ import annotations

import re
from collections import Counter

import torch
from torch import Tensor

from . import _compat
from ._checks import as_index_tensor, check_choice, check_fraction, check_int, check_ks, check_scores
from .interactions import Interactions
from .walks import item_neighbors

_STOPWORDS = {"the", "a", "an", "of", "and", "in", "to", "on", "for", "la", "le", "de", "il", "les", "s"}


def item_feature_matrix(inter: Interactions, *, num_title_words: int = 100) -> tuple[Tensor, list[str]]:
    """Item inputs for PinSAGE: ``item_features`` (ML-100K: genres), z-scored year, bag of frequent title words.

    Each part is used when ``inter`` has it. A missing year is 0 (the mean).
    Title words are lower-cased; the ``num_title_words`` most frequent ones
    (ties alphabetical, a few stop words left out) become 0/1 columns.

    Returns:
        ``(features (I, F) float32, names)``.
    """
    num_title_words = check_int("num_title_words", num_title_words, minimum=0)
    cols, names = [], []
    if inter.item_features is not None:
        cols.append(inter.item_features)
        names += inter.item_feature_names or [f"feature_{j}" for j in range(inter.item_features.shape[1])]
    years = inter.item_meta.get("year")
    if years is not None and any(y is not None for y in years):
        y = torch.tensor([float(v) if v is not None else float("nan") for v in years])
        known = y[~y.isnan()]
        z = (y - known.mean()) / known.std().clamp(min=1e-6) if known.numel() > 1 else y - known.mean()
        cols.append(torch.nan_to_num(z, nan=0.0)[:, None])
        names.append("year")
    titles = inter.item_meta.get("title") or inter.item_names
    if titles is not None and num_title_words:
        docs = [set(re.findall(r"[a-z0-9']+", str(t).lower())) - _STOPWORDS for t in titles]
        counts = Counter(w for d in docs for w in d)
        vocab = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:num_title_words]]
        bag = torch.tensor([[w in d for w in vocab] for d in docs], dtype=torch.float32).view(len(docs), len(vocab))
        cols.append(bag)
        names += [f"title:{w}" for w in vocab]
    if not cols:
        raise ValueError(f"inter {inter.name!r} has no item_features, year or title: nothing to build features from")
    return torch.cat(cols, dim=1), names


def cointeraction_pairs(train: Interactions, *, num_partners: int = 10, min_common: int = 2) -> Tensor:
    r"""Related item pairs: per query item, its ``num_partners`` items with the highest cosine co-interaction.

    .. math::
        s_{ij} = \frac{|U(i) \cap U(j)|}{\sqrt{|U(i)|\,|U(j)|}}, \qquad i \ne j,\;
        |U(i) \cap U(j)| \ge \text{min\_common}

    Deterministic (ties go to the lower id). Dense ``(I, I)``: for catalogues of thousands of items.

    Returns:
        int64 ``(P, 2)`` rows ``(query, partner)``, by query then rank.
    """
    num_partners = check_int("num_partners", num_partners, minimum=1)
    min_common = check_int("min_common", min_common, minimum=1)
    r = train.to_csr(torch.float64).to_dense().clamp(max=1)  # (U, I)
    common = r.T @ r  # (I, I)
    deg = common.diagonal().clone()
    score = common / (deg[:, None] * deg[None, :]).sqrt().clamp(min=1)
    score[common < min_common] = 0.0
    score.fill_diagonal_(0.0)
    top_s, top_j = torch.sort(score, dim=1, descending=True, stable=True)
    top_s, top_j = top_s[:, :num_partners], top_j[:, :num_partners]  # (I, P)
    query = torch.arange(train.num_items)[:, None].expand_as(top_j)
    keep = top_s > 0
    return torch.stack([query[keep], top_j[keep]], dim=1)


def split_pairs(pairs: Tensor, test_fraction: float = 0.2, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random train/test split of pairs; ``(a, b)`` and ``(b, a)`` always land on the same side."""
    test_fraction = check_fraction("test_fraction", test_fraction)
    pairs = _check_pairs("pairs", pairs)
    lo, hi = pairs.min(1).values, pairs.max(1).values
    key = lo * (int(pairs.max()) + 1) + hi
    uniq, inv = torch.unique(key, return_inverse=True)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    in_test = torch.zeros(uniq.numel(), dtype=torch.bool)
    in_test[torch.randperm(uniq.numel(), generator=gen)[: round(test_fraction * uniq.numel())]] = True
    return pairs[~in_test[inv]], pairs[in_test[inv]]


TIES = ("best", "random")


def evaluate_item2item(item_z: Tensor, queries, targets, k=(10,), *, ties: str = "best") -> dict[str, float]:
    """Hit@K and MRR of ``targets`` when all items but the query are ranked by dot product with it.

    The rank of a target is one plus the number of items (not the query)
    scoring strictly higher; ``ties`` says what items scoring exactly the
    same do (see :func:`evaluate_item_scores`). Embeddings rarely tie, so both
    rules give the same numbers for them.

    Shapes:
        item_z ``(I, D)``; queries, targets ``(Q,)``.
    """
    check_scores("item_z", item_z, ndim=2)
    z = item_z.detach().cpu()
    return _rank_metrics(lambda q: z[q] @ z.T, z.shape[0], queries, targets, k, ties)  # (B, I) per block


def evaluate_item_scores(scores: Tensor, queries, targets, k=(10,), *, ties: str = "best") -> dict[str, float]:
    r"""Hit@K and MRR of ``targets`` when row ``q`` of an ``(I, I)`` score matrix ranks the items for query ``q``.

    ``scores`` may be dense or sparse (missing entries score 0), e.g.
    :func:`~gnnrec_lite.baselines.item_similarities` for item-kNN. With
    :math:`h` the items (not the query) scoring strictly higher than the
    target and :math:`t` the others scoring exactly the same:

    * ``ties="best"``: rank :math:`h + 1`, ties in the target's favour (the
      rule of :func:`evaluate_item2item`);
    * ``ties="random"``: the expectation over a uniformly random order of the
      tied items, the target equally likely at ranks :math:`h+1, \dots, h+t+1`:

    .. math::
        \mathrm{Hit@}K = \frac{\min(\max(K - h, 0),\, t + 1)}{t + 1}, \qquad
        \mathrm{RR} = \frac{1}{t + 1} \sum_{r = h + 1}^{h + t + 1} \frac{1}{r}.

    A query whose row is empty (an item-kNN cold item) ties every candidate:
    ``"best"`` then calls every target rank 1, ``"random"`` gives chance.

    Shapes:
        scores ``(I, I)``; queries, targets ``(Q,)``.
    """
    if scores.dim() != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores must be a square (I, I) matrix, got {tuple(scores.shape)}")
    if not scores.is_sparse:
        check_scores("scores", scores, ndim=2)

    def rows(q: Tensor) -> Tensor:
        return (scores.index_select(0, q).to_dense() if scores.is_sparse else scores[q]).double()  # (B, I)

    return _rank_metrics(rows, scores.shape[0], queries, targets, k, ties)


def _rank_metrics(rows, num: int, queries, targets, k, ties: str) -> dict[str, float]:
    """Hit@K and MRR from ``rows(q) -> (B, I)`` scores, with the ``ties`` rule of :func:`evaluate_item_scores`."""
    check_choice("ties", ties, TIES)
    queries = as_index_tensor("queries", queries, size=num)
    targets = as_index_tensor("targets", targets, size=num)
    ks = check_ks(k, maximum=max(1, num - 1))
    if queries.numel() != targets.numel() or queries.numel() == 0:
        raise ValueError(f"queries and targets must be non-empty and of equal length, got {queries.numel()} "
                         f"and {targets.numel()}")
    if (queries == targets).any():
        raise ValueError(f"targets must differ from their queries, got item {int(queries[queries == targets][0])}")
    higher, tied = [], []
    for lo in range(0, queries.numel(), 1024):
        q, t = queries[lo:lo + 1024], targets[lo:lo + 1024]
        scores = rows(q).clone()  # (B, I)
        scores[torch.arange(q.numel()), q] = -torch.inf  # the query is not a candidate
        target = scores.gather(1, t[:, None])  # (B, 1)
        higher.append((scores > target).sum(1))
        tied.append((scores == target).sum(1) - 1)  # other items with the target's score
    h = torch.cat(higher).double()  # (Q,)
    n = torch.cat(tied).double() + 1 if ties == "random" else torch.ones_like(h)  # equally likely ranks h+1..h+n
    out = {f"hit@{kk}": float(((kk - h).clamp(min=0).minimum(n) / n).mean()) for kk in ks}
    harmonic = (torch.special.digamma(h + n + 1) - torch.special.digamma(h + 1)) / n  # mean of 1/r over the ranks
    out["mrr"] = float(torch.where(n == 1, 1.0 / (h + 1), harmonic).mean())
    return out


def cold_start_metrics(item_z: Tensor, cold_pairs: Tensor, *, genres: Tensor | None = None,
                       k: int = 10) -> dict[str, float]:
    """How well cold items (no edges in training) are embedded.

    ``cold_hit@k`` / ``cold_mrr``: :func:`evaluate_item2item` on the cold
    items' related pairs. With ``genres`` ``(I, G)``: ``cold_genre_share@k``,
    the share of a cold item's ``k`` nearest items that share a genre with
    it, and ``genre_chance``, the same share for two random distinct items.
    """
    k = check_int("k", k, minimum=1)
    cold_pairs = _check_pairs("cold_pairs", cold_pairs)
    res = evaluate_item2item(item_z, cold_pairs[:, 0], cold_pairs[:, 1], k=k)
    out = {f"cold_hit@{k}": res[f"hit@{k}"], "cold_mrr": res["mrr"]}
    if genres is not None:
        g = torch.as_tensor(genres, dtype=torch.float64)
        if g.shape[0] != item_z.shape[0]:
            raise ValueError(f"genres must have one row per item ({item_z.shape[0]}), got {g.shape[0]}")
        cold = cold_pairs[:, 0].unique()
        scores = item_z.detach().double() @ item_z.detach().double().T  # (I, I)
        scores.fill_diagonal_(-torch.inf)
        near = scores[cold].topk(k, dim=1).indices  # (C, k)
        shared = (g[cold][:, None, :] * g[near]).sum(-1) > 0  # (C, k)
        both = (g @ g.T > 0).double()
        both.fill_diagonal_(0.0)
        out[f"cold_genre_share@{k}"] = float(shared.double().mean())
        out["genre_chance"] = float(both.sum() / (g.shape[0] * (g.shape[0] - 1)))
    return out


def prepare_item2item(inter: Interactions, *, num_partners: int = 10, test_fraction: float = 0.2,
                      num_cold_items: int | None = None, num_neighbors: int = 10, num_title_words: int = 100,
                      seed: int = 0) -> dict:
    """Pairs, cold items, training graph, neighbourhoods and features for :func:`train_pinsage`.

    ``num_cold_items`` (default 2% of the items that have pairs) query items
    lose all their interactions in the training graph; their pairs are the
    cold test set, and no training pair touches them.
    """
    pairs = cointeraction_pairs(inter, num_partners=num_partners)
    if pairs.numel() == 0:
        raise ValueError(f"inter {inter.name!r} has no co-interaction pairs: too sparse for item-to-item training")
    candidates = pairs[:, 0].unique()
    if num_cold_items is None:
        num_cold_items = max(1, candidates.numel() // 50)
    num_cold_items = check_int("num_cold_items", num_cold_items, minimum=0, maximum=candidates.numel() - 1)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    cold = candidates[torch.randperm(candidates.numel(), generator=gen)[:num_cold_items]].sort().values
    is_cold = torch.zeros(inter.num_items, dtype=torch.bool)
    is_cold[cold] = True
    graph = inter.subset(~is_cold[inter.item], name=f"{inter.name} (cold items removed)")
    warm = pairs[~is_cold[pairs[:, 0]] & ~is_cold[pairs[:, 1]]]
    train_pairs, test_pairs = split_pairs(warm, test_fraction, seed=seed)
    neighbors, weights = item_neighbors(graph, num_neighbors=num_neighbors, seed=seed)
    features, names = item_feature_matrix(inter, num_title_words=num_title_words)
    return {"graph": graph, "train_pairs": train_pairs, "test_pairs": test_pairs,
            "cold_pairs": pairs[is_cold[pairs[:, 0]] & ~is_cold[pairs[:, 1]]], "cold_items": cold,
            "neighbors": neighbors, "weights": weights, "features": features, "feature_names": names,
            "genres": inter.item_features, "negatives": torch.nonzero(graph.item_degree() > 0).flatten()}


def _check_pairs(name: str, pairs) -> Tensor:
    pairs = torch.as_tensor(pairs)
    if pairs.dim() != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0 or pairs.dtype != torch.int64:
        raise ValueError(f"{name} must be a non-empty int64 (P, 2) tensor, got {pairs.dtype} {tuple(pairs.shape)}")
    return pairs


__all__ = ["TIES", "cointeraction_pairs", "cold_start_metrics", "evaluate_item2item", "evaluate_item_scores",
           "item_feature_matrix", "prepare_item2item", "split_pairs"]


def __getattr__(name: str):  # the training half moved to gnnrec_lite.train_item2item
    return _compat.moved_attribute(__name__, name)
