r"""Curriculum negatives: shared negatives, plus hard ones that grow in number as training goes on.

Introduced in lecture 06 (PinSAGE): at epoch :math:`n` each user gets
:math:`n - 1` hard negatives (up to a cap) on top of the shared ones, so the
task starts easy and gets harder.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._checks import check_int
from ..interactions import Interactions
from .hard import HardNegatives


@dataclass(frozen=True)
class CurriculumSchedule:
    r"""How many hard negatives each user gets per epoch, on top of the shared ones.

    Introduced in lecture 06 (PinSAGE): at epoch :math:`n` (from 1), add
    :math:`n - 1` hard negatives, so negatives get harder as training goes on:

    .. math::
        h(n) = \min\big(\text{max\_hard},\ \text{step} \cdot (n - 1)\big).

    Args:
        max_hard (int): the cap. (default: 8)
        step (int): hard negatives added per epoch. (default: 1, as in the lecture)
    """

    max_hard: int = 8
    step: int = 1

    def __post_init__(self) -> None:
        check_int("max_hard", self.max_hard, minimum=0)
        check_int("step", self.step, minimum=0)

    def __call__(self, epoch: int) -> int:
        epoch = check_int("epoch", epoch, minimum=1)
        return min(self.max_hard, self.step * (epoch - 1))


class CurriculumNegatives(HardNegatives):
    """:class:`~gnnrec_lite.negatives.hard.HardNegatives` whose count per user follows a :class:`CurriculumSchedule`.

    ``num_hard`` is the schedule's cap; the arguments are otherwise those of
    :class:`~gnnrec_lite.negatives.hard.HardNegatives`.
    """

    name = "curriculum"

    def __init__(self, train: Interactions, *, num_shared: int = 256, num_hard: int = 2, window=None,
                 method: str = "walk", draw: str = "users", seed: int = 0) -> None:
        super().__init__(train, num_shared=num_shared, num_hard=num_hard, window=window, method=method, draw=draw,
                         seed=seed)
        self.schedule = CurriculumSchedule(self.num_hard)

    def hard_negatives(self, epoch: int) -> int:
        return self.schedule(epoch)
