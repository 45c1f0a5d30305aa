r"""Sum, mean and max pooling of a neighbourhood, and the neighbourhoods that mean and max cannot tell apart.

Introduced in lecture 06, as an aside taken from Xu et al., "How Powerful are
Graph Neural Networks?" (GIN), ICLR 2019. A node's neighbours form a
*multiset*: the same feature may occur several times. A GNN layer pools the
neighbours' messages with a permutation-invariant function,

.. math::
    \mathrm{sum}(X) = \sum_{x \in X} x, \qquad
    \mathrm{mean}(X) = \frac{1}{|X|} \sum_{x \in X} x, \qquad
    \mathrm{max}(X) = \max_{x \in X} x \ \text{(per coordinate)}.

With one-hot features, sum returns the count of every feature (the whole
multiset), mean only their proportions, max only which features occur (the
underlying set). GIN's Figure 3 shows three pairs of neighbourhoods that
mean and/or max map to the same value; :data:`GIN_EXAMPLES` holds them as
feature counts and :func:`distinguishes` checks an aggregator on a pair.

PinSAGE's importance pooling is a weighted *mean* (its weights sum to one),
so it shares mean's blind spot; LightGCN's :math:`1/\sqrt{d_u d_v}` weights
are neither a sum nor a mean.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_choice, check_int

AGGREGATORS = ("sum", "mean", "max")

#: GIN, Figure 3: ``name -> (counts around v, counts around v', aggregators that fail)``. Letters name
#: node features: (a) every node has feature ``a``; (b) and (c) use ``g`` (green) and ``r`` (red).
GIN_EXAMPLES = {
    "a": ({"a": 2}, {"a": 3}, ("mean", "max")),
    "b": ({"g": 1, "r": 1}, {"g": 1, "r": 2}, ("max",)),
    "c": ({"g": 1, "r": 1}, {"g": 2, "r": 2}, ("mean", "max")),
}


def aggregate(messages: Tensor, index: Tensor | None = None, *, how: str = "sum",
              num_groups: int | None = None) -> Tensor:
    """Pool the rows of ``messages`` by group: ``out[g] = how({messages[j] : index[j] == g})``.

    Args:
        messages (Tensor): ``(M, F)`` one row per neighbour message.
        index (Tensor, optional): ``(M,)`` int64 group (receiving node) of each row;
            ``None`` pools all rows into one vector of shape ``(F,)``.
        how (str): ``"sum"``, ``"mean"`` or ``"max"``. (default: ``"sum"``)
        num_groups (int, optional): number of groups ``G``. (default: ``index.max() + 1``)

    Returns:
        ``(G, F)``, or ``(F,)`` without ``index``. A group with no rows gets zeros.
    """
    check_choice("how", how, AGGREGATORS)
    if not isinstance(messages, Tensor) or messages.dim() != 2:
        shape = tuple(messages.shape) if isinstance(messages, Tensor) else type(messages).__name__
        raise ValueError(f"messages must be a 2-D tensor (M, F), got {shape}")
    if index is None:
        if messages.shape[0] == 0:
            raise ValueError("messages is empty: there is nothing to pool")
        return aggregate(messages, torch.zeros(messages.shape[0], dtype=torch.int64), how=how, num_groups=1)[0]
    index = torch.as_tensor(index)
    if index.dtype != torch.int64 or index.shape != (messages.shape[0],):
        raise ValueError(f"index must be int64 of shape ({messages.shape[0]},), got {index.dtype} "
                         f"{tuple(index.shape)}")
    if index.numel() and int(index.min()) < 0:
        raise ValueError(f"index must be >= 0, got {int(index.min())}")
    if num_groups is None:
        num_groups = int(index.max()) + 1 if index.numel() else 0
    num_groups = check_int("num_groups", num_groups, minimum=0)
    if index.numel() and int(index.max()) >= num_groups:
        raise ValueError(f"index holds group {int(index.max())}, out of range for num_groups={num_groups}")
    out = torch.zeros(num_groups, messages.shape[1], dtype=messages.dtype)  # (G, F)
    if how == "max":
        expanded = index[:, None].expand_as(messages)  # (M, F)
        return out.scatter_reduce(0, expanded, messages, reduce="amax", include_self=False)
    out = out.index_add(0, index, messages)  # sum per group
    if how == "mean":
        count = torch.bincount(index, minlength=num_groups).clamp(min=1).to(messages.dtype)  # (G,)
        out = out / count[:, None]
    return out


def multiset(counts: dict, features: dict | None = None) -> Tensor:
    """The rows of a neighbourhood: ``features[name]`` repeated ``counts[name]`` times, ``(sum(counts), F)``.

    Without ``features`` each name gets a one-hot vector over the sorted names
    ``a``, ``g``, ``r`` of :data:`GIN_EXAMPLES` (any other names are appended in sorted order).
    """
    if not isinstance(counts, dict) or not counts:
        raise ValueError(f"counts must be a non-empty dict of feature name -> count, got {counts!r}")
    counts = {name: check_int(f"counts[{name!r}]", c, minimum=0) for name, c in counts.items()}
    if features is None:
        names = sorted({"a", "g", "r"} | set(counts))
        features = {n: torch.eye(len(names), dtype=torch.float64)[i] for i, n in enumerate(names)}
    missing = sorted(set(counts) - set(features))
    if missing:
        raise ValueError(f"features has no vector for {missing}")
    rows = [torch.as_tensor(features[name], dtype=torch.float64).reshape(1, -1).expand(c, -1)
            for name, c in sorted(counts.items()) if c]
    if not rows:
        raise ValueError(f"counts must hold at least one neighbour, got {counts!r}")
    return torch.cat(rows)


def distinguishes(how: str, first: dict, second: dict, *, features: dict | None = None,
                  atol: float = 1e-9) -> bool:
    """Whether aggregator ``how`` maps the neighbourhoods ``first`` and ``second`` (feature counts) apart."""
    a = aggregate(multiset(first, features), how=how)
    b = aggregate(multiset(second, features), how=how)
    return not torch.allclose(a, b, rtol=0.0, atol=atol)


__all__ = ["AGGREGATORS", "GIN_EXAMPLES", "aggregate", "distinguishes", "multiset"]
