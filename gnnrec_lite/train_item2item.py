r"""Training an item encoder on related pairs with PinSAGE's max-margin loss.

Introduced in lecture 06. For a batch of related pairs :math:`(q, p)` and
:math:`M` negatives :math:`n` shared by the whole batch, as in the paper,

.. math::
    \mathcal{L} = \frac{1}{BM} \sum_{(q, p)} \sum_{n=1}^{M}
        \max\bigl(0,\; z_q^\top z_n - z_q^\top z_p + \Delta\bigr).

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
from .models.pinsage import PinSAGE

ENCODERS = ("pinsage", "shallow", "features")


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


def margin_loss(z: Tensor, q: Tensor, p: Tensor, n: Tensor, margin: float) -> Tensor:
    """``mean(max(0, z_q . z_n - z_q . z_p + margin))`` over the batch's pairs and the shared negatives.

    Shapes:
        ``z (I, D)``; ``q, p (B,)``; ``n (M,)``.
    """
    pos = (z[q] * z[p]).sum(1)  # (B,)
    neg = z[q] @ z[n].T  # (B, M): negatives shared by the batch
    return F.relu(neg - pos[:, None] + margin).mean()


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
    options = dict(num_epochs=check_int("num_epochs", num_epochs, minimum=0),
                   batch_size=check_int("batch_size", batch_size, minimum=1),
                   num_negatives=check_int("num_negatives", num_negatives, minimum=1),
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
    with deterministic():
        history, item_z = _fit(model, data, **options)
    test = data["test_pairs"]
    metrics = evaluate_item2item(item_z, test[:, 0], test[:, 1], k=ks) if test.numel() else {}
    cold = cold_start_metrics(item_z, data["cold_pairs"], genres=data["genres"], k=max(ks)) \
        if data["cold_pairs"].numel() else {}
    return Item2ItemResult(model, history, metrics, cold, sum(r["seconds"] for r in history), item_z, data)


def _fit(model: PinSAGE, data: dict, *, num_epochs, batch_size, num_negatives, lr, margin, neighbor_dropout, seed,
         progress, name) -> tuple[list, Tensor]:
    """Adam on the margin loss over shuffled pairs; returns the history and the final item embeddings ``(I, D)``."""
    feats, nbrs, wts = data["features"], data["neighbors"], data["weights"]
    if model.in_channels == 0:
        feats = feats[:, :0]  # (I, 0): the shallow encoder reads no features
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    pairs, negatives = data["train_pairs"], data["negatives"]
    history = []
    for epoch in tqdm(range(1, num_epochs + 1), disable=not progress, desc=name, file=sys.stderr):
        start, total = time.perf_counter(), 0.0
        model.train()
        for batch in torch.randperm(pairs.shape[0], generator=gen).split(batch_size):
            n = negatives[torch.randint(negatives.numel(), (num_negatives,), generator=gen)]  # (M,)
            if neighbor_dropout:
                drop = (torch.rand(nbrs.shape[0], generator=gen) < neighbor_dropout)[:, None]  # (I, 1)
                z = model(feats, nbrs.masked_fill(drop, -1), wts.masked_fill(drop, 0.0))  # (I, D)
            else:
                z = model(feats, nbrs, wts)  # (I, D)
            loss = margin_loss(z, pairs[batch, 0], pairs[batch, 1], n, margin)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * batch.numel()
        history.append({"epoch": epoch, "loss": total / pairs.shape[0], "seconds": time.perf_counter() - start})
    model.eval()
    with torch.no_grad():
        return history, model(feats, nbrs, wts)


__all__ = ["ENCODERS", "Item2ItemResult", "build_encoder", "margin_loss", "train_pinsage"]
