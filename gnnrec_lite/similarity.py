"""Looking items up by name, and their nearest neighbours in embedding space.

Introduced in lecture 03: once a model has embedded the items, movies that
the same people watch should sit close together, and a list of a film's
neighbours by title is the quickest way to see whether they do.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_choice, check_int
from .interactions import Interactions

MEASURES = ("cosine", "dot")


def find_items(inter: Interactions, query: str) -> list[int]:
    """Ids of the items whose name contains ``query`` (case-insensitive), in id order."""
    if inter.item_names is None:
        raise ValueError(f"{inter.name or 'these interactions'} have no item_names to search")
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty string, got {query!r}")
    q = query.strip().lower()
    return [i for i, name in enumerate(inter.item_names) if q in str(name).lower()]


def nearest_items(item_emb: Tensor, item: int, k: int = 10, *, measure: str = "cosine") -> tuple[Tensor, Tensor]:
    """The ``k`` items most similar to ``item`` (itself left out): ``(ids (k,), similarities (k,))``.

    Args:
        item_emb (Tensor): ``(num_items, D)`` item embeddings.
        item (int): the query item's id.
        k (int): how many neighbours.
        measure (str): ``"cosine"`` (angle only) or ``"dot"`` (the score a
            dot-product model would give, so popular, long vectors win).
    """
    check_choice("measure", measure, MEASURES)
    if not isinstance(item_emb, Tensor) or item_emb.dim() != 2:
        raise ValueError(f"item_emb must be a 2-D tensor (num_items, D), got {getattr(item_emb, 'shape', item_emb)}")
    n = item_emb.shape[0]
    item = check_int("item", item, minimum=0, maximum=n - 1)
    k = check_int("k", k, minimum=1, maximum=n - 1)
    z = item_emb.detach().float()
    if measure == "cosine":
        z = torch.nn.functional.normalize(z, dim=1)
    sims = z @ z[item]  # (num_items,)
    sims[item] = -torch.inf
    values, ids = torch.topk(sims, k)
    return ids, values
