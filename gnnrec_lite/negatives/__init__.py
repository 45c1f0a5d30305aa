"""Negative strategies for BPR training: uniform, shared, hard, curriculum and distance-weighted.

Introduced in lecture 03 (uniform) and lecture 06 (the PinSAGE-style ones).
Each strategy is one class in one module, owning how its negatives are drawn
and the loss of one training step (``strategy.step(model, batch_size, epoch,
reg)``); :func:`~gnnrec_lite.train.train_bpr` picks one by the name in
``TrainConfig.negatives``.
"""

from __future__ import annotations

from ..interactions import Interactions
from .base import NegativeStrategy, Step
from .curriculum import CurriculumNegatives, CurriculumSchedule
from .distance import DistanceNegatives, distance_weighted_negatives
from .hard import DEFAULT_HARD_WINDOW, HardNegativePool, HardNegatives, hard_negative_pool
from .shared import SharedNegatives
from .uniform import UniformNegatives

STRATEGIES = {cls.name: cls for cls in (UniformNegatives, SharedNegatives, HardNegatives, CurriculumNegatives,
                                        DistanceNegatives)}
NEGATIVES = tuple(STRATEGIES)


def build_negatives(train: Interactions, config) -> NegativeStrategy:
    """The strategy named by ``config.negatives``, built from a :class:`~gnnrec_lite.train.TrainConfig`."""
    return STRATEGIES[config.negatives].from_config(train, config)


__all__ = ["DEFAULT_HARD_WINDOW", "NEGATIVES", "STRATEGIES", "CurriculumNegatives", "CurriculumSchedule",
           "DistanceNegatives", "HardNegativePool", "HardNegatives", "NegativeStrategy", "SharedNegatives", "Step",
           "UniformNegatives", "build_negatives", "distance_weighted_negatives", "hard_negative_pool"]
