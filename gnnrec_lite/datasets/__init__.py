"""Datasets: MovieLens-100K (fetched once, then offline) and small ones that need no download.

``load(name)`` is the one entry point the lectures and the CLI use.
"""

from __future__ import annotations

from .._checks import check_choice
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


def load(name: str, *, data_dir=None, **kwargs) -> Interactions:
    """Load a dataset by name (see ``DATASETS``). Never touches the network.

    Args:
        name (str): a key of ``DATASETS``.
        data_dir (path, optional): the cache folder of fetched datasets
            (default: ``$GNNREC_DATA_DIR`` or ``~/.cache/gnnrec``); datasets
            that ship with the library ignore it.
        **kwargs: the generator's arguments for ``synthetic``.
    """
    check_choice("name", name, DATASETS)
    if name == "ml-100k":
        return load_ml100k(data_dir, **kwargs)
    if name == "lecture-toy":
        return lecture_toy(**kwargs).train
    return _LOCAL[name](**kwargs)


def fetch(name: str, *, data_dir=None, **kwargs):
    """Fetch a dataset into the cache (``data_dir``, as in :func:`load`); datasets that ship locally need nothing.

    Returns the folder written, or ``None`` for a dataset that ships with the library.
    """
    check_choice("name", name, DATASETS)
    return fetch_ml100k(data_dir, **kwargs) if name == "ml-100k" else None


_LOCAL = {"southern-women": southern_women, "synthetic": synthetic}


__all__ = ["DATASETS", "DataError", "LectureToy", "data_home", "fetch", "fetch_ml100k", "lecture_toy",
           "load", "load_ml100k", "southern_women", "synthetic", "verify_ml100k"]
