"""gnnrec_lite: the small library behind the gnnrec course on GNNs for recommender systems.

Each module matches a concept of the lectures: ``interactions`` (the bipartite
graph's edges), ``datasets``, ``splits``, ``graph`` (conversions), ``metrics``
(Recall@K and friends), ``losses`` (binary and BPR), ``sampling``,
``baselines``, ``models`` and ``train``; for the notebooks, ``notebook``
(``record`` and running lectures), ``plotting``, ``widgets`` and
``similarity``.
"""

from ._compat import install as _install_old_import_paths
from .baselines import most_popular
from .datasets import DATASETS, fetch, lecture_toy, load, southern_women, synthetic
from .graph import to_adjacency, to_edge_index, to_homogeneous_edge_index, to_networkx
from .interactions import Interactions
from .losses import binary_loss, binary_loss_full, bpr_loss, bpr_loss_full
from .metrics import (
    evaluate,
    hit_rate_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    recommend,
    topk_from_scores,
)
from .sampling import sample_bpr_batch
from .splits import leave_one_out, random_split, temporal_split

_install_old_import_paths()  # gnnrec_lite.hwcheck, gnnrec_lite.notebook, ... as before the split

__version__ = "0.1.0"

__all__ = [
    "DATASETS", "Interactions", "binary_loss", "binary_loss_full", "bpr_loss", "bpr_loss_full",
    "evaluate", "fetch", "hit_rate_at_k", "lecture_toy", "leave_one_out", "load", "most_popular",
    "ndcg_at_k", "precision_at_k", "random_split", "ranking_metrics", "recall_at_k", "recommend",
    "sample_bpr_batch", "southern_women", "synthetic", "temporal_split", "to_adjacency",
    "to_edge_index", "to_homogeneous_edge_index", "to_networkx", "topk_from_scores",
]
