"""Run-time helpers shared by the training loops: deterministic CPU kernels and the median epoch time."""

from __future__ import annotations

import contextlib
import math

import torch


@contextlib.contextmanager
def deterministic(device="cpu"):
    """Deterministic kernels on the CPU for the code inside; the previous setting is restored.

    With two threads the default embedding and index-add backward kernels sum
    in a varying order, so the same seed gave slightly different weights (and
    NGCF visibly different metrics). Not slower here. Other devices are left as they are.
    """
    if torch.device(device).type != "cpu":
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


def median(values) -> float:
    """The median of a list of numbers (the upper one of the middle two), NaN when empty."""
    values = sorted(values)
    return values[len(values) // 2] if values else math.nan
