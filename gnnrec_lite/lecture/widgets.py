"""Interactive figures that still show a picture when nothing interactive is attached.

Introduced in lecture 02. :func:`interactive_plot` displays ipywidgets
controls and, below them, a *display output* holding the current figure (an
inline PNG) and an optional results table. When a control moves, the figure is
redrawn and the same display output is updated in place. Because the picture
is an ordinary output rather than a widget's internal state, a notebook
executed by nbclient, or rendered to HTML, keeps the figure drawn for the
controls' initial values: the static fallback comes for free.

Figures are drawn on a fresh :class:`matplotlib.figure.Figure` (never
``pyplot``), so redrawing does not leak figures or print them twice.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import torch

from ..interactions import Interactions


def _figure_html(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="figure"/>'


def _value_text(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def results_table(values: dict) -> str:
    """A small two-column HTML table of named results (numbers to 4 decimals)."""
    rows = "".join(f"<tr><td style='text-align:left;padding-right:1em'>{html.escape(str(k))}</td>"
                   f"<td class='gnnrec-value' style='text-align:right'><b>{html.escape(_value_text(v))}</b></td></tr>"
                   for k, v in values.items())
    return f"<table class='gnnrec-results'>{rows}</table>"


class LivePlot:
    """Controls plus a figure redrawn when they change. Build it with :func:`interactive_plot`.

    Attributes:
        controls (dict): name -> ipywidgets control.
        last (dict): the values returned by the latest draw (for tests and notebooks).
    """

    def __init__(self, draw, controls: dict, *, figsize=(6.0, 4.0)):
        self.draw = draw
        self.controls = controls
        self.figsize = figsize
        self.last: dict = {}
        self.handle = None

    @property
    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def render(self) -> dict:
        """Draw for the current control values; a mimebundle (``text/html`` and ``text/plain``).

        A ``ValueError`` raised by ``draw`` (an empty selection, say) becomes a
        short message in place of the figure instead of a traceback.
        """
        from matplotlib.figure import Figure

        fig = Figure(figsize=self.figsize, layout="constrained")
        try:
            out = self.draw(fig, **self.values)
        except ValueError as err:
            self.last = {}
            msg = html.escape(str(err))
            return {"text/html": f"<div class='gnnrec-message' style='color:#a40'>⚠ {msg}</div>",
                    "text/plain": f"! {err}"}
        self.last = dict(out or {})
        table = results_table(self.last) if self.last else ""
        text = "; ".join(f"{k} = {_value_text(v)}" for k, v in self.last.items())
        figure = _figure_html(fig) if fig.axes else ""
        return {"text/html": f"<div class='gnnrec-live'>{table}{figure}</div>", "text/plain": text or "(figure)"}

    def update(self, *_):
        bundle = self.render()
        if self.handle is not None:
            self.handle.update(bundle, raw=True)
        return bundle

    def show(self):
        """Display the controls and the figure, and start listening to the controls."""
        import ipywidgets as widgets
        from IPython.display import display

        display(widgets.VBox(list(self.controls.values())))
        self.handle = display(self.render(), raw=True, display_id=True)
        for c in self.controls.values():
            c.observe(self.update, names="value")
        return self

    def _ipython_display_(self):
        self.show()


def interactive_plot(draw, *, figsize=(6.0, 4.0), show: bool = True, **controls) -> LivePlot:
    """Display ``controls`` and the figure ``draw(fig, **values)`` draws; redraw on every change.

    Args:
        draw: ``draw(fig, **values) -> dict | None``; draws on the matplotlib
            ``fig`` and may return named results shown in a table above it.
        figsize (tuple): inches.
        show (bool): display at once (``False`` builds it for a test).
        **controls: ipywidgets controls by the names ``draw`` takes.
    """
    if not callable(draw):
        raise TypeError(f"draw must be callable, got {type(draw).__name__}")
    if not controls:
        raise ValueError("interactive_plot needs at least one control")
    for name, c in controls.items():
        if not hasattr(c, "observe") or not hasattr(c, "value"):
            raise TypeError(f"control {name!r} must be an ipywidgets control with a value, got {type(c).__name__}")
    live = LivePlot(draw, controls, figsize=figsize)
    return live.show() if show else live


# Lecture 02: the binary loss and BPR on the 2-user/2-item case ------------------------------------------------


def toy_losses(scores, positives) -> dict:
    """Training Recall@1, binary loss and BPR loss of a small dense score matrix."""
    from ..losses import binary_loss_full, bpr_loss_full
    from ..metrics import ranking_metrics
    from ..ranking import topk_from_scores

    scores = torch.as_tensor(scores, dtype=torch.float64)
    top1 = topk_from_scores(scores, 1)
    recall = ranking_metrics(top1, positives, k=1)["recall@1"]
    return {"Recall@1": float(recall), "binary loss": float(binary_loss_full(scores, positives)),
            "BPR loss": float(bpr_loss_full(scores, positives))}


def loss_explorer(scores=None, positives: Interactions | None = None, *, low: float = -4.0, high: float = 4.0,
                  show: bool = True) -> LivePlot:
    """Sliders for every score of a small user x item matrix; Recall@1, binary and BPR loss update live.

    Defaults to the lecture's 2 x 2 failure case (:func:`~gnnrec_lite.datasets.lecture_toy`).
    """
    import ipywidgets as widgets

    if scores is None or positives is None:
        from ..datasets import lecture_toy

        toy = lecture_toy()
        scores = toy.scores if scores is None else scores
        positives = toy.train if positives is None else positives
    scores = torch.as_tensor(scores, dtype=torch.float64)
    if scores.dim() != 2 or scores.numel() > 16:
        raise ValueError(f"scores must be a small 2-D matrix (at most 16 entries), got shape {tuple(scores.shape)}")
    if (scores.shape[0], scores.shape[1]) != (positives.num_users, positives.num_items):
        raise ValueError(f"scores shape {tuple(scores.shape)} does not match positives "
                         f"({positives.num_users} users x {positives.num_items} items)")
    mask = torch.zeros(scores.shape, dtype=torch.bool)
    mask[positives.user, positives.item] = True
    controls = {f"s_{u}_{v}": widgets.FloatSlider(value=float(scores[u, v]), min=low, max=high, step=0.1,
                                                  description=f"f(u{u}, v{v})", continuous_update=True,
                                                  readout_format=".1f")
                for u in range(scores.shape[0]) for v in range(scores.shape[1])}

    def draw(fig, **values):
        s = torch.tensor([[values[f"s_{u}_{v}"] for v in range(scores.shape[1])] for u in range(scores.shape[0])])
        ax = fig.add_subplot()
        ax.imshow(s.numpy(), cmap="coolwarm", vmin=low, vmax=high)
        for u in range(s.shape[0]):
            for v in range(s.shape[1]):
                ax.text(v, u, f"{s[u, v]:.1f}" + ("\n(positive)" if mask[u, v] else ""), ha="center",
                        va="center", fontsize=10, fontweight="bold" if mask[u, v] else "normal")
        ax.set_xticks(range(s.shape[1]), [f"v{v}" for v in range(s.shape[1])])
        ax.set_yticks(range(s.shape[0]), [f"u{u}" for u in range(s.shape[0])])
        ax.set(xlabel="item", ylabel="user", title="scores f(u, v)")
        return toy_losses(s, positives)

    return interactive_plot(draw, figsize=(3.6, 3.0), show=show, **controls)


# Lecture 03: watching item embeddings organise themselves during training --------------------------------------


def embedding_snapshots(snapshots, labels=None, *, label_names=None, names=None, annotate=(), method: str = "pca",
                        show: bool = True) -> LivePlot:
    """An epoch slider over saved embeddings ``[(epoch, (N, D) array), ...]``, projected to 2-D.

    Every snapshot is projected on its own and then rotated onto the last one
    (orthogonal Procrustes), so the picture does not spin between epochs.
    """
    import ipywidgets as widgets

    from .plotting import align_to, plot_embeddings, project

    snapshots = list(snapshots)
    if not snapshots:
        raise ValueError("snapshots must hold at least one (epoch, embeddings) pair, got none")
    shapes = {tuple(np.shape(e)) for _, e in snapshots}
    if len(shapes) != 1:
        raise ValueError(f"all snapshots must have the same shape, got {sorted(shapes)}")
    epochs = [int(e) for e, _ in snapshots]
    coords = [project(emb, method) for _, emb in snapshots]
    coords = [align_to(c, coords[-1]) for c in coords]
    span = np.concatenate(coords)
    lo, hi = np.percentile(span, 1, axis=0), np.percentile(span, 99, axis=0)
    pad = 0.1 * (hi - lo)
    by_epoch = dict(zip(epochs, zip(coords, (e for _, e in snapshots))))
    slider = widgets.SelectionSlider(options=epochs, value=epochs[-1], description="epoch",
                                     continuous_update=False)

    def draw(fig, epoch):
        if epoch not in by_epoch:
            raise ValueError(f"no snapshot for epoch {epoch}; saved epochs are {epochs}")
        xy, emb = by_epoch[epoch]
        ax = fig.add_subplot()
        plot_embeddings(emb, labels, label_names=label_names, names=names, annotate=annotate, coords=xy, ax=ax,
                        method=method, title=f"item embeddings after epoch {epoch}")
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        return {"epoch": epoch}

    return interactive_plot(draw, figsize=(6.5, 5.0), show=show, epoch=slider)


# Lectures 03 and 05: what each model recommends to one user ---------------------------------------------------


class LiveTable(LivePlot):
    """Controls plus an HTML table rebuilt when they change; ``draw(**values) -> (html, results)``."""

    def render(self) -> dict:
        try:
            page, results = self.draw(**self.values)
        except ValueError as err:
            self.last = {}
            return {"text/html": f"<div class='gnnrec-message' style='color:#a40'>⚠ {html.escape(str(err))}</div>",
                    "text/plain": f"! {err}"}
        self.last = dict(results)
        return {"text/html": f"<div class='gnnrec-live'>{page}</div>",
                "text/plain": "; ".join(f"{k} = {_value_text(v)}" for k, v in self.last.items()) or "(table)"}


def user_history(train: Interactions, user: int, k: int = 10) -> list[int]:
    """The ``k`` items ``user`` rated highest in ``train`` (ratings if present, then the lower id)."""
    mask = train.user == user
    items = train.item[mask].tolist()
    stars = train.rating[mask].tolist() if train.rating is not None else [0] * len(items)
    return [i for _, i in sorted(zip(stars, items), key=lambda si: (-si[0], si[1]))][:k]


def recommendation_table(lists: dict, train: Interactions, test: Interactions, user: int, k: int = 10):
    """``(html, hits)``: the user's best-rated training items beside each model's top ``k``, held-out hits marked.

    Args:
        lists (dict): model name -> ``(num_users, >= k)`` item ids, best first, training items excluded.
        train, test (Interactions): the user's history (with ``item_names``) and held-out items.
    """
    names = train.item_names or [str(i) for i in range(train.num_items)]
    held_out = set(test.item[test.user == user].tolist())
    columns = {"rated highest in training": [(names[i], False) for i in user_history(train, user, k)]}
    hits = {}
    for model, top in lists.items():
        row = [int(i) for i in top[user][:k].tolist() if int(i) >= 0]
        columns[model] = [(names[i], i in held_out) for i in row]
        hits[f"{model}: held-out hits in top {k}"] = sum(i in held_out for i in row)
    head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in columns)
    body = ""
    for r in range(k):
        cells = []
        for col in columns.values():
            title, hit = col[r] if r < len(col) else ("", False)
            text = html.escape(title)
            cells.append(f"<td style='text-align:left'>{'<b>✓ ' + text + '</b>' if hit else text}</td>")
        body += f"<tr>{''.join(cells)}</tr>"
    foot = "".join(f"<td style='text-align:left'><i>{v} of {len(held_out)} held-out</i></td>" for v in hits.values())
    page = (f"<p>user {user}: {int((train.user == user).sum())} training ratings, {len(held_out)} held out; "
            f"<b>✓</b> marks a held-out movie</p><table class='gnnrec-results'><tr>{head}</tr>{body}"
            f"<tr><td></td>{foot}</tr></table>")
    return page, hits


def recommendation_picker(lists: dict, train: Interactions, test: Interactions, users, *, k: int = 10,
                          show: bool = True) -> LiveTable:
    """A user picker over :func:`recommendation_table`; ``users`` are the choices, the first one shown at once."""
    import ipywidgets as widgets

    users = [int(u) for u in users]
    if not users:
        raise ValueError("users must name at least one user to pick from")
    options = [(f"user {u} ({int((train.user == u).sum())} ratings)", u) for u in users]
    picker = widgets.Dropdown(options=options, value=users[0], description="user")

    def draw(user):
        return recommendation_table(lists, train, test, user, k)

    live = LiveTable(draw, {"user": picker})
    return live.show() if show else live
