"""Independent reference computations shared by several test files (dense, plain numpy)."""

from __future__ import annotations

import numpy as np


def dense_norm_adj(inter) -> np.ndarray:
    """Â = D^-1/2 A D^-1/2 of the bipartite graph, users then items, built densely (zero rows when isolated)."""
    n = inter.num_users + inter.num_items
    a = np.zeros((n, n))
    for u, i in zip(inter.user.tolist(), inter.item.tolist()):
        a[u, inter.num_users + i] += 1.0
        a[inter.num_users + i, u] += 1.0
    deg = a.sum(1)
    inv = np.zeros(n)
    inv[deg > 0] = deg[deg > 0] ** -0.5
    return inv[:, None] * a * inv[None, :]


def recall_reference(ranked_rows, seen: dict, future: dict, k: int, *, exclude: bool = True) -> float:
    """Mean Recall@k in plain Python: ``ranked_rows[u]`` is user u's items best first.

    ``seen`` and ``future`` map a user to a set of items; seen items are
    skipped when ``exclude``; users without future items are left out.
    """
    values = []
    for u, items in future.items():
        if not items:
            continue
        row = [v for v in ranked_rows[u] if not (exclude and v in seen.get(u, set()))][:k]
        values.append(len(items & set(row)) / len(items))
    return sum(values) / len(values)


def by_user(inter) -> dict:
    """user -> set of items, from Interactions."""
    out: dict = {}
    for u, i in zip(inter.user.tolist(), inter.item.tolist()):
        out.setdefault(u, set()).add(i)
    return out


def popularity_ranking(train) -> list[int]:
    """Items by training count, most first, ties to the lower id (plain Python)."""
    counts = [0] * train.num_items
    for i in train.item.tolist():
        counts[i] += 1
    return sorted(range(train.num_items), key=lambda i: (-counts[i], i))


def spearman(x, y) -> float:
    """Spearman's rho from average ranks (ties share the mean of their positions), in numpy."""
    def avg_rank(a):
        _, inverse, counts = np.unique(np.asarray(a, dtype=float), return_inverse=True, return_counts=True)
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return (start + (counts + 1) / 2)[inverse]
    rx, ry = avg_rank(x), avg_rank(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / np.sqrt((rx ** 2).sum() * (ry ** 2).sum()))
