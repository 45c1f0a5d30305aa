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
