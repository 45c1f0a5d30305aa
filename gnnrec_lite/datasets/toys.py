"""Small datasets that need no download: a real tiny graph, the lecture's toy, a generator."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import torch
from torch import Tensor

from .._checks import check_fraction, check_int, check_positive
from ..interactions import Interactions


def southern_women() -> Interactions:
    """Davis' Southern Women graph: 18 women (users) x 14 social events (items), 89 attendances.

    A real bipartite graph small enough to draw and to compute by hand
    (Davis, Gardner and Gardner, *Deep South*, 1941), shipped with networkx.
    Introduced in lecture 05, where LightGCN diffusion is shown on it.
    """
    graph = nx.davis_southern_women_graph()
    women, events = list(graph.graph["top"]), list(graph.graph["bottom"])
    w_index = {w: i for i, w in enumerate(women)}
    e_index = {e: i for i, e in enumerate(events)}
    pairs = sorted((w_index[a], e_index[b]) if a in w_index else (w_index[b], e_index[a])
                   for a, b in graph.edges())
    user, item = np.array(pairs, dtype=np.int64).T
    return Interactions(
        len(women), len(events), user, item, item_names=events,
        user_raw_ids=np.array(women), item_raw_ids=np.array(events), name="southern-women",
    )


@dataclass(frozen=True)
class LectureToy:
    """The lecture's two-user, two-item example.

    ``train`` holds the positive edges (u0, v0) and (u1, v1); ``scores[u, v]``
    are the model's scores. Each user ranks its own positive first, so
    Recall@1 is 1, yet the negative edge (u1, v0) outscores the positive edge
    (u0, v0), so the binary loss still complains. Introduced in lecture 02.
    """

    train: Interactions
    scores: Tensor  # (2, 2): rows users, columns items


def lecture_toy() -> LectureToy:
    """The 2-user/2-item failure case of the binary loss, as a named toy."""
    train = Interactions(2, 2, [0, 1], [0, 1], item_names=["v0", "v1"],
                         user_raw_ids=np.array(["u0", "u1"]), item_raw_ids=np.array(["v0", "v1"]),
                         name="lecture-toy")
    scores = torch.tensor([[1.0, -1.0],   # u0: its positive v0 on top
                           [2.0, 3.0]])   # u1: its positive v1 on top, but (u1, v0) = 2 > (u0, v0) = 1
    return LectureToy(train=train, scores=scores)


def synthetic(
    num_users: int = 1000,
    num_items: int = 2000,
    num_interactions: int = 20_000,
    *,
    num_communities: int = 8,
    affinity: float = 0.8,
    popularity_exponent: float = 1.0,
    seed: int = 0,
) -> Interactions:
    """Random interactions with planted structure, for tests and quick demos.

    Every user and item belongs to one of ``num_communities`` latent
    communities (kept in ``user_meta["community"]`` and
    ``item_meta["community"]``). Item popularity follows a power law,
    ``weight = rank ** -popularity_exponent`` (a long tail), and user
    activity is log-normal. Each interaction draws a user by activity, then
    with probability ``affinity`` an item of the user's own community and
    otherwise any item, by popularity. Every user gets at least one
    interaction; pairs are distinct; timestamps are random but seeded.

    Same arguments, same data. ``num_interactions`` is met exactly unless it
    exceeds what the pairs allow.
    """
    num_users = check_int("num_users", num_users, minimum=1)
    num_items = check_int("num_items", num_items, minimum=1)
    num_interactions = check_int("num_interactions", num_interactions, minimum=num_users,
                                 maximum=num_users * num_items)
    num_communities = check_int("num_communities", num_communities, minimum=1,
                                maximum=min(num_users, num_items))
    affinity = check_fraction("affinity", affinity, open_low=False, open_high=False)
    check_positive("popularity_exponent", popularity_exponent, allow_zero=True)
    seed = check_int("seed", seed)

    gen = torch.Generator().manual_seed(seed)
    user_comm = torch.randint(num_communities, (num_users,), generator=gen)
    item_comm = torch.arange(num_items) % num_communities  # every community has items
    item_comm = item_comm[torch.randperm(num_items, generator=gen)]
    rank = torch.randperm(num_items, generator=gen).double() + 1.0
    popularity = rank.pow(-float(popularity_exponent))  # (num_items,)
    activity = torch.exp(torch.randn(num_users, generator=gen, dtype=torch.float64))

    keys = _draw_pairs(num_interactions, activity, user_comm, item_comm, popularity, affinity, num_communities, gen)
    order = torch.argsort(keys)
    keys = keys[order]
    timestamp = torch.randint(1_000_000, 2_000_000, (keys.numel(),), generator=gen)
    return Interactions(
        num_users, num_items, keys // num_items, keys % num_items, timestamp=timestamp,
        user_meta={"community": user_comm.tolist()}, item_meta={"community": item_comm.tolist()},
        name="synthetic",
    )


def _draw_pairs(num_interactions, activity, user_comm, item_comm, popularity, affinity, num_communities,
                gen) -> Tensor:
    """``num_interactions`` distinct ``user * num_items + item`` keys, in draw order (see :func:`synthetic`)."""
    num_users, num_items = activity.numel(), popularity.numel()
    keys = torch.empty(0, dtype=torch.int64)
    first = torch.arange(num_users)  # one draw per user guarantees nobody is empty
    for _ in range(50):  # each round adds fresh distinct pairs; a few rounds suffice
        need = num_interactions - keys.numel()
        if need <= 0:
            break
        n = max(int(need * 1.2) + 16, 64)
        users = first if keys.numel() == 0 else torch.multinomial(activity, n, replacement=True, generator=gen)
        items = _draw_items(users, user_comm, item_comm, popularity, affinity, num_communities, gen)
        new = users * num_items + items
        new = new[~torch.isin(new, keys)]
        # keep first occurrences, in draw order, so the result does not depend on sorting
        uniq, inverse = torch.unique(new, return_inverse=True)
        first_pos = torch.full((uniq.numel(),), new.numel(), dtype=torch.int64)
        first_pos.scatter_reduce_(0, inverse, torch.arange(new.numel()), reduce="amin")
        new = new[torch.sort(first_pos).values][:need]
        keys = torch.cat([keys, new])
    need = num_interactions - keys.numel()
    if need > 0:  # popular pairs are used up (a dense request): fill with uniform unused pairs
        keys = torch.cat([keys, _unused_pairs(keys, num_users * num_items, need, gen)])
    return keys


def _unused_pairs(keys: Tensor, total: int, need: int, gen: torch.Generator) -> Tensor:
    """``need`` distinct keys in ``range(total)`` not in ``keys``, uniformly."""
    if total <= 1 << 26:
        free = torch.ones(total, dtype=torch.bool)
        free[keys] = False
        choices = torch.nonzero(free).flatten()
        return choices[torch.randperm(choices.numel(), generator=gen)[:need]]
    out = torch.empty(0, dtype=torch.int64)
    while out.numel() < need:  # sparse catalogue: rejection converges fast
        draw = torch.randint(total, (2 * need,), generator=gen)
        draw = torch.unique(draw[~torch.isin(draw, keys) & ~torch.isin(draw, out)])
        out = torch.cat([out, draw[torch.randperm(draw.numel(), generator=gen)]])[:need]
    return out


def _draw_items(users, user_comm, item_comm, popularity, affinity, num_communities, gen):
    """One item per entry of ``users``: own community with prob. ``affinity``, else any."""
    items = torch.multinomial(popularity, users.numel(), replacement=True, generator=gen)
    own = torch.rand(users.numel(), generator=gen, dtype=torch.float64) < affinity
    for c in range(num_communities):
        rows = torch.nonzero(own & (user_comm[users] == c)).flatten()
        if rows.numel():
            members = torch.nonzero(item_comm == c).flatten()
            pick = torch.multinomial(popularity[members], rows.numel(), replacement=True, generator=gen)
            items[rows] = members[pick]
    return items
