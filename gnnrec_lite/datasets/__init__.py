"""Datasets: MovieLens-100K (fetched once, then offline) and small ones that need no download.

``load(name)`` is the one entry point the lectures and the CLI use.
"""

from __future__ import annotations

from ..interactions import Interactions
from .cache import data_home
from .movielens import DataError, fetch_ml100k, load_ml100k, verify_ml100k
from .toys import LectureToy, lecture_toy, southern_women, synthetic

DATASETS = {
    "ml-100k": "MovieLens-100K: 943 users, 1682 movies, 100,000 ratings (fetch once)",
    "southern-women": "Davis' Southern Women: 18 women x 14 events, 89 edges (ships with networkx)",
    "lecture-toy": "the lecture's 2-user/2-item example (2 positive edges)",
    "synthetic": "seeded random data with planted communities and long-tailed popularity",
}


def load(name: str, **kwargs) -> Interactions:
    """Load a dataset by name (see ``DATASETS``). Never touches the network.

    Keyword arguments go to the loader: ``path`` for ml-100k, the generator's
    arguments for synthetic.
    """
    if name == "ml-100k":
        return load_ml100k(**kwargs)
    if name == "southern-women":
        return southern_women(**kwargs)
    if name == "lecture-toy":
        return lecture_toy(**kwargs).train
    if name == "synthetic":
        return synthetic(**kwargs)
    raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}")


def fetch(name: str, **kwargs):
    """Fetch a dataset into the cache; datasets that ship locally need nothing."""
    if name == "ml-100k":
        return fetch_ml100k(**kwargs)
    if name in DATASETS:
        return None
    raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}")


__all__ = ["DATASETS", "DataError", "LectureToy", "data_home", "fetch", "fetch_ml100k", "lecture_toy",
           "load", "load_ml100k", "southern_women", "synthetic", "verify_ml100k"]
