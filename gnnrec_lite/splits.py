"""Train/test splits made per user, so every user is both trained on and tested.

Introduced in lecture 01. All three splits share these rules:

* train and test never share a (user, item) pair;
* a user with at least one interaction keeps at least one in train;
* same input and seed, same split.
"""

from __future__ import annotations

import torch

from ._checks import check_choice, check_fraction, check_int
from .interactions import Interactions


def random_split(inter: Interactions, train_fraction: float = 0.8, *, seed: int = 0
                 ) -> tuple[Interactions, Interactions]:
    """Per-user random holdout: each user keeps ``round(train_fraction * degree)`` in train.

    The count is at least one, so a user with a single interaction has no test item.
    """
    fraction = check_fraction("train_fraction", train_fraction)
    seed = check_int("seed", seed)
    gen = torch.Generator().manual_seed(seed)
    key = torch.rand(len(inter), generator=gen, dtype=torch.float64)
    return _split_by_rank(inter, key, lambda deg: _train_count(deg, fraction))


def temporal_split(inter: Interactions, train_fraction: float = 0.8) -> tuple[Interactions, Interactions]:
    """Per-user temporal holdout: each user's earliest interactions go to train.

    Ties in time are broken by row order. Needs ``inter.timestamp``.
    """
    fraction = check_fraction("train_fraction", train_fraction)
    _require_time(inter)
    return _split_by_rank(inter, inter.timestamp.double(), lambda deg: _train_count(deg, fraction))


def leave_one_out(inter: Interactions, *, by: str = "time", seed: int = 0) -> tuple[Interactions, Interactions]:
    """Hold out one interaction per user with at least two.

    Args:
        by (str): ``"time"`` holds out each user's latest interaction (needs
            timestamps); ``"random"`` holds out a random one.
        seed (int): used when ``by="random"``.
    """
    check_choice("by", by, ("time", "random"))
    if by == "time":
        _require_time(inter)
        key = inter.timestamp.double()
    else:
        gen = torch.Generator().manual_seed(check_int("seed", seed))
        key = torch.rand(len(inter), generator=gen, dtype=torch.float64)
    return _split_by_rank(inter, key, lambda deg: torch.clamp(deg - 1, min=1))


def _train_count(degree: torch.Tensor, fraction: float) -> torch.Tensor:
    # round half up; the epsilon keeps 0.7 * 45 = 31.4999... from rounding down
    count = torch.floor(degree.double() * fraction + 0.5 + 1e-9).long()
    return torch.clamp(torch.minimum(count, degree), min=1)


def _require_time(inter: Interactions) -> None:
    if inter.timestamp is None:
        raise ValueError(f"{inter.name} has no timestamps; use random_split or leave_one_out(by='random')")


def _split_by_rank(inter: Interactions, key: torch.Tensor, train_count) -> tuple[Interactions, Interactions]:
    """Rank each user's interactions by ``key`` (row order breaks ties); the first ones train."""
    if len(inter) == 0:
        raise ValueError("inter is empty: nothing to split")
    # sort by user, then key, then row: two stable sorts (key first, user second)
    order = torch.argsort(key, stable=True)
    order = order[torch.argsort(inter.user[order], stable=True)]
    degree = inter.user_degree()
    start = torch.cumsum(degree, 0) - degree  # first position of each user in `order`
    rank = torch.arange(len(inter)) - start[inter.user[order]]  # rank within the user
    in_train = torch.zeros(len(inter), dtype=torch.bool)
    in_train[order] = rank < train_count(degree)[inter.user[order]]
    return (inter.subset(in_train, name=f"{inter.name}/train"),
            inter.subset(~in_train, name=f"{inter.name}/test"))


def parse_split(spec: str):
    """Turn ``random:0.8``, ``temporal:0.8`` or ``loo`` into a function of ``(inter, seed)``.

    Used by the command line.
    """
    kind, _, arg = spec.partition(":")
    if kind in ("random", "temporal"):
        try:
            fraction = float(arg or 0.8)
        except ValueError:
            raise ValueError(f"split must look like 'random:0.8', got {spec!r}") from None
        fraction = check_fraction("train_fraction", fraction)
        if kind == "random":
            return lambda inter, seed: random_split(inter, fraction, seed=seed)
        return lambda inter, seed: temporal_split(inter, fraction)
    if kind == "loo" and not arg:
        return lambda inter, seed: leave_one_out(inter, by="time" if inter.timestamp is not None else "random",
                                                 seed=seed)
    raise ValueError(f"split must be random:FRACTION, temporal:FRACTION or loo, got {spec!r}")
