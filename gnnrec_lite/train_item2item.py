r"""Training PinSAGE on related item pairs with its max-margin loss, one sampled computation graph per batch.

Introduced in lecture 06. For a batch of related pairs :math:`(q, p)` and
negatives :math:`n` (Ying et al., KDD 2018, section 3.3),

.. math::
    \mathcal{L} = \frac{1}{B M} \sum_{(q, p)} \sum_{n}
        \max\bigl(0,\; z_q^\top z_n - z_q^\top z_p + \Delta\bigr),

with :math:`M` negatives shared by the whole batch (the paper's choice) or
drawn per pair, plus optional hard negatives per query
(:mod:`~gnnrec_lite.item_negatives`). Each step embeds only the batch's
distinct items: their :class:`~gnnrec_lite.pinsage_sampler.ComputationGraph`
lists, layer by layer, the nodes those embeddings need. After training,
:meth:`~gnnrec_lite.models.PinSAGE.inference` embeds every item once per layer.

The pairs, features and neighbourhoods come from
:func:`~gnnrec_lite.item2item.prepare_item2item`; the held-out metrics from
:mod:`~gnnrec_lite.item2item`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from ._checks import check_choice, check_int, check_ks, check_positive
from ._runtime import deterministic, median
from .interactions import Interactions
from .item2item import cold_start_metrics, evaluate_item2item, prepare_item2item
from .item_negatives import draw_negatives, hard_item_pool
from .models.pinsage import PinSAGE
from .pinsage_sampler import computation_graph

ENCODERS = ("pinsage", "shallow", "features")
NEGATIVES = ("shared", "per_pair")


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
        return median(r["seconds"] for r in self.history)


def build_encoder(encoder: str, num_items: int, in_channels: int, *, embedding_dim: int = 64,
                  num_layers: int = 2, item_embedding: bool = False) -> PinSAGE:
    """``"pinsage"``; ``"shallow"`` (a learnable vector per item only); ``"features"`` (linear map of the features)."""
    check_choice("encoder", encoder, ENCODERS)
    if encoder == "pinsage":
        return PinSAGE(in_channels, embedding_dim, num_layers, num_items=num_items, item_embedding=item_embedding)
    if encoder == "shallow":
        return PinSAGE(0, embedding_dim, 0, num_items=num_items, item_embedding=True)
    return PinSAGE(in_channels, embedding_dim, 0)


def margin_loss(z_q: Tensor, z_p: Tensor, z_n: Tensor, margin: float = 0.2, *, z_hard: Tensor | None = None) -> Tensor:
    """``mean(max(0, z_q . z_n - z_q . z_p + margin))`` over every pair and each of its negatives.

    ``z_n`` is ``(M, D)`` for negatives shared by the batch or ``(B, M, D)``
    for negatives per pair; ``z_hard`` ``(B, h, D)`` adds each query's hard
    negatives to its row, so the mean runs over ``B (M + h)`` terms.

    Shapes:
        ``z_q, z_p (B, D)``; ``z_n (M, D)`` or ``(B, M, D)``; ``z_hard (B, h, D)`` -> scalar.
    """
    pos = (z_q * z_p).sum(-1)  # (B,): z_q . z_p
    neg = z_q @ z_n.T if z_n.dim() == 2 else torch.einsum("bd,bmd->bm", z_q, z_n)  # (B, M): z_q . z_n
    if z_hard is not None:
        neg = torch.cat([neg, torch.einsum("bd,bhd->bh", z_q, z_hard)], dim=1)  # (B, M + h)
    return F.relu(neg - pos[:, None] + margin).mean()


def train_pinsage(inter: Interactions, *, encoder: str = "pinsage", embedding_dim: int = 64, num_layers: int = 2,
                  num_neighbors: int = 10, num_epochs: int = 30, batch_size: int = 256, lr: float = 0.01,
                  margin: float = 0.2, num_negatives: int = 128, negatives: str = "shared", num_hard: int = 0,
                  hard_window=None, item_embedding: bool = False, neighbor_dropout: float = 0.0, k=(10,),
                  device: str = "cpu", seed: int = 0, progress: bool = True, data: dict | None = None,
                  **prepare) -> Item2ItemResult:
    """Train an item encoder on co-interaction pairs with the margin loss, one computation graph per batch.

    Introduced in lecture 06. Seeded and deterministic on CPU (runs under
    ``torch.use_deterministic_algorithms(True)``, restored afterwards);
    ``device="cuda"`` puts the model, features and neighbour table there.

    Args:
        inter (Interactions): the full data; ``data`` (a :func:`prepare_item2item`
            result) is built from it with the ``prepare`` keywords unless given.
        encoder (str): ``"pinsage"``, ``"shallow"`` or ``"features"`` (:func:`build_encoder`).
        num_negatives (int): ``M``, uniform negatives per batch (shared) or per pair. (default: 128)
        negatives (str): ``"shared"`` (one set per batch, the paper's) or ``"per_pair"``. (default: ``"shared"``)
        num_hard (int): hard negatives per pair from :func:`~gnnrec_lite.item_negatives.hard_item_pool`
            with ``hard_window``. (default: 0)
        neighbor_dropout (float): chance that an item loses its whole
            neighbourhood in a step, so the encoder also learns to embed items
            from their features alone, as it must for cold items. (default: 0)
        num_epochs (int): passes over the training pairs; 0 evaluates the untrained encoder.

    The history has one row per epoch: ``loss``, ``seconds``, and per batch
    on average ``seeds`` (distinct items embedded), ``slots`` (item slots in
    the loss, one computation graph each if nothing were shared) and
    ``computed`` (node representations the convolutions computed).
    """
    options = dict(num_epochs=check_int("num_epochs", num_epochs, minimum=0),
                   batch_size=check_int("batch_size", batch_size, minimum=1),
                   num_negatives=check_int("num_negatives", num_negatives, minimum=1),
                   num_hard=check_int("num_hard", num_hard, minimum=0),
                   per_pair=check_choice("negatives", negatives, NEGATIVES) == "per_pair",
                   lr=check_positive("lr", lr), margin=check_positive("margin", margin, allow_zero=True),
                   neighbor_dropout=neighbor_dropout, seed=seed, progress=progress, name=encoder)
    ks = check_ks(k)
    if not 0 <= neighbor_dropout < 1:
        raise ValueError(f"neighbor_dropout must be in [0, 1), got {neighbor_dropout}")
    if data is None:
        data = prepare_item2item(inter, num_neighbors=num_neighbors, seed=seed, **prepare)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_encoder(encoder, inter.num_items, data["features"].shape[1], embedding_dim=embedding_dim,
                              num_layers=num_layers, item_embedding=item_embedding)
    model.to(torch.device(device))
    pool = hard_item_pool(data["graph"], data["train_pairs"], window=hard_window, seed=seed) if num_hard else None
    with deterministic(device):
        history, item_z = _fit(model, data, pool, **options)
    test = data["test_pairs"]
    metrics = evaluate_item2item(item_z, test[:, 0], test[:, 1], k=ks) if test.numel() else {}
    cold = cold_start_metrics(item_z, data["cold_pairs"], genres=data["genres"], k=max(ks)) \
        if data["cold_pairs"].numel() else {}
    return Item2ItemResult(model, history, metrics, cold, sum(r["seconds"] for r in history), item_z, data)


def _inputs(model: PinSAGE, data: dict) -> tuple[Tensor, Tensor, Tensor]:
    """Features, neighbour table and weights on the model's device (no feature columns for a shallow encoder)."""
    feats = data["features"] if model.in_channels else data["features"][:, :0]  # (I, F) or (I, 0)
    return feats.to(model.device), data["neighbors"].to(model.device), data["weights"].to(model.device)


def batch_loss(model: PinSAGE, feats: Tensor, nbrs: Tensor, wts: Tensor, q: Tensor, p: Tensor, n: Tensor,
               hard: Tensor | None, margin: float) -> tuple[Tensor, dict]:
    """The margin loss of one batch: embed its distinct items through one computation graph, then score.

    Shapes:
        ``q, p (B,)``; ``n (M,)`` shared or ``(B, M)`` per pair; ``hard (B, h)`` or ``None``.
    """
    b, hard_flat = q.numel(), (hard.flatten() if hard is not None else q[:0])
    items = torch.cat([q, p, n.flatten(), hard_flat])  # (S,) every item slot of the loss
    seeds, slot = torch.unique(items, return_inverse=True)  # (B',) each item once; slot -> its row
    graph = computation_graph(nbrs, wts, seeds, model.num_layers)
    z = model(feats, graph)[slot]  # (S, D)
    z_n = z[2 * b:2 * b + n.numel()].view(*n.shape, -1)  # (M, D) or (B, M, D)
    z_hard = z[2 * b + n.numel():].view(b, -1, z.shape[1]) if hard is not None else None  # (B, h, D)
    loss = margin_loss(z[:b], z[b:2 * b], z_n, margin, z_hard=z_hard)
    return loss, {"seeds": seeds.numel(), "slots": items.numel(), "computed": graph.num_computed()}


def _fit(model: PinSAGE, data: dict, pool, *, num_epochs, batch_size, num_negatives, num_hard, per_pair, lr, margin,
         neighbor_dropout, seed, progress, name) -> tuple[list, Tensor]:
    """Adam on the margin loss over shuffled pairs; returns the history and every item's embedding ``(I, D)``."""
    feats, nbrs, wts = _inputs(model, data)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    pairs, candidates, dev = data["train_pairs"], data["negatives"], model.device
    history = []
    for epoch in tqdm(range(1, num_epochs + 1), disable=not progress, desc=name, file=sys.stderr):
        start, total, sizes = time.perf_counter(), 0.0, []
        model.train()
        for batch in torch.randperm(pairs.shape[0], generator=gen).split(batch_size):
            q, p = pairs[batch, 0], pairs[batch, 1]  # (B,), (B,)
            n = draw_negatives(candidates, q.numel(), num_negatives, per_pair=per_pair, generator=gen)
            hard = pool.sample(q, num_hard, generator=gen) if pool is not None else None  # (B, h)
            table = nbrs
            if neighbor_dropout:
                drop = torch.rand(nbrs.shape[0], generator=gen) < neighbor_dropout  # (I,)
                table = nbrs.masked_fill(drop.to(dev)[:, None], -1)  # (I, T): dropped items keep no neighbour
            loss, size = batch_loss(model, feats, table, wts, q.to(dev), p.to(dev), n.to(dev),
                                    hard.to(dev) if hard is not None else None, margin)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * batch.numel()
            sizes.append(size)
        history.append({"epoch": epoch, "loss": total / pairs.shape[0], "seconds": time.perf_counter() - start,
                        **{key: sum(s[key] for s in sizes) / len(sizes) for key in sizes[0]}})
    model.eval()
    with torch.no_grad():
        return history, model.inference(feats, nbrs, wts).cpu()


__all__ = ["ENCODERS", "NEGATIVES", "Item2ItemResult", "batch_loss", "build_encoder", "margin_loss", "train_pinsage"]
