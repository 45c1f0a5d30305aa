"""One-call figures for the lectures: degrees, bipartite drawings, curves and embedding maps.

Introduced in lecture 01. Every function takes an optional matplotlib ``ax``
(a new figure is made when it is ``None``), labels its axes, and returns the
axes so a lecture can add to them. Inputs are checked first, so a wrong shape
or an unknown method is reported by name instead of failing deep inside
matplotlib.
"""

from __future__ import annotations

import numpy as np
import torch

from .._checks import check_choice
from ..interactions import Interactions

PROJECTIONS = ("pca", "tsne")


def _axes(ax, figsize=(5, 4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def _as_matrix(name: str, x) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x.detach().cpu() if torch.is_tensor(x) else x), dtype=torch.float64)
    if x.dim() != 2 or x.shape[0] < 1:
        raise ValueError(f"{name} must be a 2-D array of shape (num_points, dim), got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def plot_degrees(train: Interactions, ax=None):
    """Complementary CDFs of user and item degrees on log-log axes (the long tail)."""
    ax = _axes(ax)
    for label, deg in (("users", train.user_degree()), ("items", train.item_degree())):
        d = np.sort(deg.numpy())[::-1]
        d = d[d > 0]
        ax.loglog(d, np.arange(1, len(d) + 1) / len(d), marker=".", ls="none", ms=3, label=label)
    ax.set(xlabel="degree d (interactions)", ylabel="fraction of nodes with degree >= d",
           title=f"degree distribution ({train.name or 'interactions'})")
    ax.legend()
    return ax


def draw_bipartite(train: Interactions, users, *, max_items_per_user: int = 6, ax=None, seed: int = 0):
    """Draw the chosen users and (some of) their items as a two-column bipartite graph.

    Items shared by several chosen users are the interesting ones: they are
    the paths collaborative filtering uses. Item labels are the item names
    when ``train`` has them.
    """
    import networkx as nx

    users = [int(u) for u in np.atleast_1d(np.asarray(users))]
    if not users:
        raise ValueError("users must name at least one user")
    bad = [u for u in users if not 0 <= u < train.num_users]
    if bad:
        raise ValueError(f"users {bad} are out of range for {train.num_users} users")
    ax = _axes(ax, figsize=(7, 5))
    csr = train.to_csr()
    counts = train.item_degree()
    g = nx.Graph()
    for u in users:
        items = csr.col_indices()[csr.crow_indices()[u]:csr.crow_indices()[u + 1]]
        items = items[torch.argsort(counts[items], descending=True, stable=True)][:max_items_per_user]
        for v in items.tolist():
            g.add_edge(("u", u), ("v", v))
    user_nodes = [n for n in g if n[0] == "u"]
    item_nodes = sorted((n for n in g if n[0] == "v"), key=lambda n: -g.degree(n))
    pos = {n: (0.0, -i / max(len(user_nodes) - 1, 1)) for i, n in enumerate(user_nodes)}
    pos |= {n: (1.0, -i / max(len(item_nodes) - 1, 1)) for i, n in enumerate(item_nodes)}
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.4)
    nx.draw_networkx_nodes(g, pos, nodelist=user_nodes, node_color="tab:blue", node_size=120, ax=ax)
    shared = [n for n in item_nodes if g.degree(n) > 1]
    nx.draw_networkx_nodes(g, pos, nodelist=item_nodes, node_color=["tab:red" if n in shared else "tab:orange"
                                                                    for n in item_nodes], node_size=80, ax=ax)
    names = train.item_names
    for n in user_nodes:
        ax.text(pos[n][0] - 0.04, pos[n][1], f"user {n[1]}", ha="right", va="center", fontsize=8)
    for n in item_nodes:
        label = names[n[1]] if names is not None else f"item {n[1]}"
        ax.text(pos[n][0] + 0.04, pos[n][1], label[:34], ha="left", va="center", fontsize=7)
    ax.set_xlim(-0.6, 1.9)
    ax.set_title(f"{len(user_nodes)} users and {len(item_nodes)} of their items (red: shared)")
    ax.axis("off")
    return ax


def plot_recall_vs_k(curves: dict, *, metric: str = "Recall", ax=None):
    """Plot metric@K against K for several models: ``curves = {name: {k: value}}``."""
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict {name: {k: value}}")
    ax = _axes(ax)
    for name, by_k in curves.items():
        if not isinstance(by_k, dict) or not by_k:
            raise ValueError(f"curves[{name!r}] must be a non-empty dict {{k: value}}")
        ks = sorted(int(k) for k in by_k)
        ax.plot(ks, [by_k[k] for k in ks], marker="o", ms=3, label=str(name))
    ax.set(xlabel="K (length of the recommendation list)", ylabel=f"{metric}@K", title=f"{metric}@K against K")
    ax.legend()
    return ax


def plot_history(history, metrics=("recall@20", "ndcg@20"), ax=None):
    """Training loss and evaluation curves of a :class:`~gnnrec_lite.train.History`."""
    if not getattr(history, "rows", None):
        raise ValueError("history has no epochs to plot")
    return history.plot(metrics=metrics, ax=ax)


def project(x, method: str = "pca", *, seed: int = 0, perplexity: float = 30.0, num_iters: int = 500) -> np.ndarray:
    """Project points ``x`` of shape (N, D) to (N, 2).

    ``"pca"``: the top two principal components (signs fixed so each axis's
    largest coordinate is positive). ``"tsne"``: exact t-SNE (van der Maaten &
    Hinton, 2008) in torch, seeded; fine for a few thousand points.
    """
    check_choice("method", method, PROJECTIONS)
    x = _as_matrix("x", x)
    if x.shape[0] < 2:
        raise ValueError(f"x needs at least 2 points to project, got {x.shape[0]}")
    x = x - x.mean(0)
    if method == "pca":
        _, _, vt = torch.linalg.svd(x, full_matrices=False)
        out = x @ vt[:2].T if vt.shape[0] >= 2 else torch.cat([x @ vt[:1].T, torch.zeros(len(x), 1,
                                                                                         dtype=x.dtype)], 1)
        out = out * torch.sign(out.gather(0, out.abs().argmax(0, keepdim=True)))
        return out.numpy()
    return _tsne(x, perplexity=perplexity, num_iters=num_iters, seed=seed)


def _tsne(x: torch.Tensor, *, perplexity: float, num_iters: int, seed: int) -> np.ndarray:
    n = x.shape[0]
    perplexity = min(perplexity, (n - 1) / 3)
    d2 = torch.cdist(x, x).pow(2)  # (N, N)
    d2.fill_diagonal_(float("inf"))
    lo, hi = torch.full((n, 1), -50.0, dtype=x.dtype), torch.full((n, 1), 50.0, dtype=x.dtype)
    target = np.log(perplexity)
    for _ in range(60):  # bisection on log(precision) for every point at once
        mid = (lo + hi) / 2
        logits = -d2 * mid.exp()
        p = torch.softmax(logits, 1)
        entropy = -(p * torch.log_softmax(logits, 1).nan_to_num(neginf=0.0)).sum(1, keepdim=True)
        too_flat = entropy > target
        lo, hi = torch.where(too_flat, mid, lo), torch.where(too_flat, hi, mid)
    p = (p + p.T) / (2 * n)
    p = p.clamp_min(1e-12).float()
    gen = torch.Generator().manual_seed(seed)
    y = (torch.randn(n, 2, generator=gen) * 1e-2).requires_grad_(True)
    opt = torch.optim.SGD([y], lr=max(n / 12 / 4, 50), momentum=0.8)
    eye = torch.eye(n, dtype=torch.bool)
    for it in range(num_iters):
        exaggeration = 12.0 if it < num_iters // 4 else 1.0
        q = 1 / (1 + torch.cdist(y, y).pow(2))
        q = q.masked_fill(eye, 0)
        q = (q / q.sum()).clamp_min(1e-12)
        loss = (exaggeration * p * (torch.log(exaggeration * p) - torch.log(q))).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return y.detach().double().numpy()


def align_to(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Rotate/reflect and scale ``points`` (N, 2) to best match ``reference`` (orthogonal Procrustes).

    Keeps successive projections of training snapshots in the same orientation.
    """
    a, b = np.asarray(points, dtype=float), np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"points and reference must have the same shape, got {a.shape} and {b.shape}")
    a0, b0 = a - a.mean(0), b - b.mean(0)
    u, s, vt = np.linalg.svd(a0.T @ b0)
    scale = s.sum() / max((a0 ** 2).sum(), 1e-12)
    return scale * a0 @ (u @ vt) + b.mean(0)


def plot_embeddings(x, labels=None, *, label_names=None, method: str = "pca", names=None, annotate=(),
                    coords=None, ax=None, title: str | None = None, seed: int = 0):
    """Scatter a 2-D projection of embeddings ``x`` (N, D), coloured by ``labels``.

    Args:
        labels (array of N ints, optional): a category per point (e.g. a genre id).
        label_names (list of str, optional): legend text per category.
        method (str): ``"pca"`` or ``"tsne"`` (see :func:`project`).
        names (list of str, optional): one name per point, used by ``annotate``.
        annotate (iterable of int): points to label with their name.
        coords (array (N, 2), optional): an already computed projection.
    """
    x = _as_matrix("x", x)
    n = x.shape[0]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"labels must have one entry per point, shape ({n},), got {labels.shape}")
    if names is not None and len(names) != n:
        raise ValueError(f"names must have one entry per point ({n}), got {len(names)}")
    coords = project(x, method, seed=seed) if coords is None else np.asarray(coords)
    if coords.shape != (n, 2):
        raise ValueError(f"coords must have shape ({n}, 2), got {coords.shape}")
    ax = _axes(ax, figsize=(6, 5))
    if labels is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=6, alpha=0.6)
    else:
        cmap = __import__("matplotlib").colormaps["tab10"]
        for i, lab in enumerate(np.unique(labels)):
            mask = labels == lab
            text = label_names[int(lab)] if label_names is not None else str(lab)
            ax.scatter(coords[mask, 0], coords[mask, 1], s=6, alpha=0.7, color=cmap(i % 10), label=text)
        ax.legend(markerscale=2, fontsize=7, loc="best")
    for i in annotate:
        label = names[i] if names is not None else str(i)
        ax.annotate(label[:30], coords[i], fontsize=7, xytext=(3, 3), textcoords="offset points")
    axis = "PC" if method == "pca" else "t-SNE "
    ax.set(xlabel=f"{axis}1", ylabel=f"{axis}2", title=title or f"embeddings ({method.upper()})")
    return ax
