"""gnnrec_lite: the small library behind the gnnrec course on GNNs for recommender systems.

The core follows the lectures, one concept per module: ``interactions`` (the
bipartite graph's edges), ``datasets``, ``splits``, ``graph``, ``ranking``
(top-K lists) and ``metrics`` (Recall@K and friends), ``losses``,
``sampling``, ``negatives``, ``train``, ``models``, ``propagate``, ``walks``,
``item2item``, ``similarity``, ``aggregators`` and ``baselines``. Two parts
sit on it without touching each other: ``gnnrec_lite.lecture`` (records,
claims, plots and widgets for the notebooks) and ``gnnrec_lite.grading``
(nbgrader and the homework's checks); ``gnnrec_lite.cli`` is the ``gnnrec``
command on top of everything.
"""

from . import _compat
from .baselines import most_popular
from .datasets import DATASETS, fetch, lecture_toy, load, southern_women, synthetic
from .graph import to_adjacency, to_edge_index, to_homogeneous_edge_index, to_networkx
from .interactions import Interactions
from .losses import binary_loss, binary_loss_full, bpr_loss, bpr_loss_full
from .metrics import evaluate, hit_rate_at_k, ndcg_at_k, precision_at_k, ranking_metrics, recall_at_k
from .ranking import recommend, topk_from_scores
from .sampling import sample_bpr_batch
from .splits import leave_one_out, random_split, temporal_split

_compat.install()  # gnnrec_lite.hwcheck, gnnrec_lite.notebook, ... as before the split

__version__ = "0.1.0"

__all__ = [
    "DATASETS", "Interactions", "binary_loss", "binary_loss_full", "bpr_loss", "bpr_loss_full",
    "evaluate", "fetch", "hit_rate_at_k", "lecture_toy", "leave_one_out", "load", "most_popular",
    "ndcg_at_k", "precision_at_k", "random_split", "ranking_metrics", "recall_at_k", "recommend",
    "sample_bpr_batch", "southern_women", "synthetic", "temporal_split", "to_adjacency",
    "to_edge_index", "to_homogeneous_edge_index", "to_networkx", "topk_from_scores",
]


def __getattr__(name: str):  # gnnrec_lite.record and other names that moved out of the core
    return _compat.moved_attribute(__name__, name)
