"""The embedding models of the lectures: MF (03), NGCF (04), LightGCN (05); the item encoder PinSAGE (06)."""

from __future__ import annotations

import torch

from .._checks import check_choice
from ..interactions import Interactions
from .base import EmbeddingModel
from .lightgcn import LightGCN
from .mf import MF
from .ngcf import NGCF
from .pinsage import PinSAGE

MODELS = {"mf": MF, "ngcf": NGCF, "lightgcn": LightGCN}


def build_model(name: str, train: Interactions, *, seed: int = 0, **kwargs) -> EmbeddingModel:
    """Make a model by name with seeded initial weights (the global RNG is left as it was)."""
    check_choice("model", name, MODELS)
    if name == "mf":
        kwargs.pop("num_layers", None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MODELS[name](train, **kwargs)


__all__ = ["MODELS", "MF", "NGCF", "LightGCN", "PinSAGE", "EmbeddingModel", "build_model"]
