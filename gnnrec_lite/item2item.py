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
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from ._checks import as_index_tensor, check_fraction, check_int, check_ks, check_scores
from .interactions import Interactions
from .models.pinsage import PinSAGE
from .walks import item_neighbors

_STOPWORDS = {"the", "a", "an", "of", "and", "in", "to", "on", "for", "la", "le", "de", "il", "les", "s"}
ENCODERS = ("pinsage", "shallow", "features")


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


def evaluate_item2item(item_z: Tensor, queries, targets, k=(10,)) -> dict[str, float]:
    """Hit@K and MRR of ``targets`` when all items but the query are ranked by dot product with it.

    The rank of a target is one plus the number of items (not the query)
    scoring strictly higher, so ties count in the target's favour.

    Shapes:
        item_z ``(I, D)``; queries, targets ``(Q,)``.
    """
    check_scores("item_z", item_z, ndim=2)
    num = item_z.shape[0]
    queries = as_index_tensor("queries", queries, size=num)
    targets = as_index_tensor("targets", targets, size=num)
    ks = check_ks(k, maximum=max(1, num - 1))
    if queries.numel() != targets.numel() or queries.numel() == 0:
        raise ValueError(f"queries and targets must be non-empty and of equal length, got {queries.numel()} "
                         f"and {targets.numel()}")
    if (queries == targets).any():
        raise ValueError(f"targets must differ from their queries, got item {int(queries[queries == targets][0])}")
    z = item_z.detach().cpu()
    ranks = []
    for lo in range(0, queries.numel(), 1024):
        q, t = queries[lo:lo + 1024], targets[lo:lo + 1024]
        scores = z[q] @ z.T  # (B, I)
        scores[torch.arange(q.numel()), q] = -torch.inf  # the query is not a candidate
        ranks.append(1 + (scores > scores.gather(1, t[:, None])).sum(1))
    rank = torch.cat(ranks).double()  # (Q,)
    out = {f"hit@{kk}": float((rank <= kk).double().mean()) for kk in ks}
    out["mrr"] = float((1.0 / rank).mean())
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


@dataclass
class Item2ItemResult:
    """What :func:`train_pinsage` returns: the model, per-epoch history, held-out metrics and the data it used."""

    model: PinSAGE
    history: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    cold: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    item_z: Tensor | None = None
    data: dict = field(default_factory=dict)

    @property
    def seconds_per_epoch(self) -> float:
        times = sorted(r["seconds"] for r in self.history)
        return times[len(times) // 2] if times else float("nan")


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


def build_encoder(encoder: str, num_items: int, in_channels: int, *, embedding_dim: int = 64,
                  num_layers: int = 2, item_embedding: bool = False) -> PinSAGE:
    """``"pinsage"``; ``"shallow"`` (a learnable vector per item only); ``"features"`` (linear map of the features)."""
    if encoder == "pinsage":
        return PinSAGE(in_channels, embedding_dim, num_layers, num_items=num_items, item_embedding=item_embedding)
    if encoder == "shallow":
        return PinSAGE(0, embedding_dim, 0, num_items=num_items, item_embedding=True)
    if encoder == "features":
        return PinSAGE(in_channels, embedding_dim, 0)
    raise ValueError(f"encoder must be one of {list(ENCODERS)}, got {encoder!r}")


def train_pinsage(inter: Interactions, *, encoder: str = "pinsage", embedding_dim: int = 64, num_layers: int = 2,
                  num_neighbors: int = 10, num_epochs: int = 30, batch_size: int = 256, lr: float = 0.01,
                  margin: float = 0.2, num_negatives: int = 128, item_embedding: bool = False,
                  neighbor_dropout: float = 0.0, k=(10,),
                  seed: int = 0, progress: bool = True, data: dict | None = None, **prepare) -> Item2ItemResult:
    """Train an item encoder on co-interaction pairs with the shared-negative margin loss; evaluate held-out pairs.

    Seeded and deterministic on CPU (runs under ``torch.use_deterministic_algorithms(True)``,
    restored afterwards). ``data`` reuses a :func:`prepare_item2item` result;
    otherwise ``prepare`` keywords go to it. ``num_epochs=0`` evaluates the untrained encoder.
    ``neighbor_dropout`` is the chance that an item loses its whole neighbourhood in a training step,
    so the encoder also learns to embed items from their features alone (as it must for cold items).
    """
    num_epochs = check_int("num_epochs", num_epochs, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    num_negatives = check_int("num_negatives", num_negatives, minimum=1)
    ks = check_ks(k)
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not 0 <= neighbor_dropout < 1:
        raise ValueError(f"neighbor_dropout must be in [0, 1), got {neighbor_dropout}")
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if data is None:
        data = prepare_item2item(inter, num_neighbors=num_neighbors, seed=seed, **prepare)
    feats, nbrs, wts = data["features"], data["neighbors"], data["weights"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_encoder(encoder, inter.num_items, feats.shape[1], embedding_dim=embedding_dim,
                              num_layers=num_layers, item_embedding=item_embedding)
    if model.in_channels == 0:
        feats = feats[:, :0]  # (I, 0): the shallow encoder reads no features
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    pairs, negatives = data["train_pairs"], data["negatives"]
    history, was_det = [], torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        for epoch in tqdm(range(1, num_epochs + 1), disable=not progress, desc=f"{encoder}", file=sys.stderr):
            start, total = time.perf_counter(), 0.0
            model.train()
            for batch in torch.randperm(pairs.shape[0], generator=gen).split(batch_size):
                q, p = pairs[batch, 0], pairs[batch, 1]
                n = negatives[torch.randint(negatives.numel(), (num_negatives,), generator=gen)]
                if neighbor_dropout:
                    drop = (torch.rand(nbrs.shape[0], generator=gen) < neighbor_dropout)[:, None]  # (I, 1)
                    z = model(feats, nbrs.masked_fill(drop, -1), wts.masked_fill(drop, 0.0))  # (I, D)
                else:
                    z = model(feats, nbrs, wts)  # (I, D)
                pos = (z[q] * z[p]).sum(1)  # (B,)
                neg = z[q] @ z[n].T  # (B, M): negatives shared by the batch
                loss = F.relu(neg - pos[:, None] + margin).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * batch.numel()
            history.append({"epoch": epoch, "loss": total / pairs.shape[0], "seconds": time.perf_counter() - start})
        model.eval()
        with torch.no_grad():
            item_z = model(feats, nbrs, wts)
    finally:
        torch.use_deterministic_algorithms(was_det)
    test = data["test_pairs"]
    metrics = evaluate_item2item(item_z, test[:, 0], test[:, 1], k=ks) if test.numel() else {}
    cold = cold_start_metrics(item_z, data["cold_pairs"], genres=data["genres"], k=max(ks)) \
        if data["cold_pairs"].numel() else {}
    return Item2ItemResult(model, history, metrics, cold, sum(r["seconds"] for r in history), item_z, data)


def run_pinsage_cli(args) -> int:
    """``gnnrec train --model pinsage``: table to stdout, progress to stderr, JSON (atomic) on success."""
    from . import datasets
    from .datasets.cache import atomic_write_json

    name = args.dataset or "ml-100k"
    inter = datasets.load(name, **({"path": args.data_dir} if name == "ml-100k" else {}))
    print(f"pinsage on {name}: {inter.num_items} items, {len(inter)} interactions", file=sys.stderr)
    start = time.perf_counter()
    res = train_pinsage(inter, embedding_dim=args.dim, num_layers=args.layers, num_epochs=args.epochs,
                        batch_size=args.batch_size, lr=args.lr, seed=args.seed, k=tuple(args.k),
                        progress=not args.quiet)
    wall = time.perf_counter() - start
    ks = sorted(set(args.k))
    cold_key = f"cold_hit@{max(ks)}"
    print(f"{'k':>4}  {'hit':>8}  {'mrr':>8}  {cold_key:>12}")
    for kk in ks:
        cold = res.cold.get(cold_key, float("nan"))
        print(f"{kk:>4}  {res.metrics[f'hit@{kk}']:>8.4f}  {res.metrics['mrr']:>8.4f}  {cold:>12.4f}")
    print(f"{len(res.history)} epochs, {res.train_seconds:.1f} s training "
          f"({res.seconds_per_epoch:.3f} s/epoch median), {wall:.1f} s in all")
    if args.json:
        atomic_write_json(args.json, {
            "config": {kk: v for kk, v in vars(args).items() if kk != "func"}, "model": repr(res.model),
            "history": res.history, "metrics": res.metrics, "cold": res.cold, "train_seconds": res.train_seconds,
            "seconds_per_epoch": res.seconds_per_epoch, "wall_seconds": wall,
            "data": {"train_pairs": len(res.data["train_pairs"]), "test_pairs": len(res.data["test_pairs"]),
                     "cold_pairs": len(res.data["cold_pairs"]), "cold_items": len(res.data["cold_items"])},
        })
    return 0


def _check_pairs(name: str, pairs) -> Tensor:
    pairs = torch.as_tensor(pairs)
    if pairs.dim() != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0 or pairs.dtype != torch.int64:
        raise ValueError(f"{name} must be a non-empty int64 (P, 2) tensor, got {pairs.dtype} {tuple(pairs.shape)}")
    return pairs


__all__ = ["ENCODERS", "Item2ItemResult", "build_encoder", "cointeraction_pairs", "cold_start_metrics",
           "evaluate_item2item", "item_feature_matrix", "prepare_item2item", "run_pinsage_cli", "split_pairs",
           "train_pinsage"]
