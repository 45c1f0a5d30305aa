"""Draw the figures the README shows (run `python tools/make_figures.py`; it rewrites docs/img/).

The PNGs are generated: edit this script, not the pictures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gnnrec_lite as gl  # noqa: E402


def southern_women_figure(out: Path) -> None:
    """The course's running picture: users and items as a bipartite graph, and ML-100K's long tail."""
    sw = gl.southern_women()
    graph = gl.to_networkx(sw)
    users = [n for n, d in graph.nodes(data=True) if d["bipartite"] == 0]
    pos = nx.bipartite_layout(graph, users, align="horizontal", scale=1.0)
    fig, (ax_graph, ax_tail) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
    nx.draw_networkx_edges(graph, pos, ax=ax_graph, alpha=0.35, width=0.8)
    nx.draw_networkx_nodes(graph, pos, nodelist=users, node_color="#3b7dd8", node_size=90, ax=ax_graph,
                           label="users (18 women)")
    items = [n for n in graph if n not in set(users)]
    nx.draw_networkx_nodes(graph, pos, nodelist=items, node_color="#e8893a", node_shape="s", node_size=90,
                           ax=ax_graph, label="items (14 events)")
    ax_graph.set_title("A user-item bipartite graph (Davis' Southern Women, 89 edges)", fontsize=10)
    ax_graph.legend(loc="lower center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False, fontsize=9)
    ax_graph.axis("off")

    ml = gl.load("ml-100k")
    degree = ml.item_degree().sort(descending=True).values.numpy()
    ax_tail.plot(range(1, len(degree) + 1), degree, color="#e8893a")
    ax_tail.set_yscale("log")
    ax_tail.set_xlabel("movie rank by popularity")
    ax_tail.set_ylabel("ratings (log scale)")
    ax_tail.set_title("MovieLens-100K: the long tail of 1,682 movies", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(out)
    plt.close(fig)


if __name__ == "__main__":
    southern_women_figure(ROOT / "docs" / "img" / "course-graph.png")
    print("wrote docs/img/course-graph.png")
