"""gnnrec_lite._checks: the one-line argument checks every public function uses, and their messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gnnrec_lite._checks import check_choice, check_per_user_scores, check_positive


def test_check_choice_returns_the_value_or_lists_the_choices_in_order():
    assert check_choice("negatives", "shared", ("uniform", "shared")) == "shared"
    assert check_choice("name", "b", {"a": 1, "b": 2}) == "b"  # a dict's keys are its choices
    with pytest.raises(ValueError, match=r"^negatives must be one of \['uniform', 'shared'\], got 'hard'$"):
        check_choice("negatives", "hard", ("uniform", "shared"))
    with pytest.raises(ValueError, match=r"got None$"):
        check_choice("by", None, ("time", "random"))


@pytest.mark.parametrize("value", [1, 0.5, np.float32(2.0), 1e-12])
def test_check_positive_accepts_positive_numbers(value):
    assert check_positive("lr", value) == pytest.approx(float(value))


@pytest.mark.parametrize("value, allow_zero, error, match", [
    (0.0, False, ValueError, r"^lr must be > 0, got 0.0$"),
    (-1, True, ValueError, r"^lr must be >= 0, got -1.0$"),
    (math.nan, True, ValueError, r"^lr must be >= 0, got nan$"),
    (math.inf, False, ValueError, r"^lr must be > 0, got inf$"),
    ("0.1", False, TypeError, r"^lr must be a number, got str '0.1'$"),
    (True, False, TypeError, r"^lr must be a number, got bool True$"),
])
def test_check_positive_names_the_argument_and_the_value(value, allow_zero, error, match):
    with pytest.raises(error, match=match):
        check_positive("lr", value, allow_zero=allow_zero)
    if allow_zero:
        assert check_positive("reg", 0, allow_zero=True) == 0.0


def test_check_per_user_scores_shapes():
    assert check_per_user_scores("neg_scores", torch.zeros(3), batch=3).shape == (3, 1)
    assert check_per_user_scores("neg_scores", torch.zeros(3, 4), batch=3).shape == (3, 4)
    for bad in (torch.zeros(2, 4), torch.zeros(3, 0), torch.zeros(3, 2, 2)):
        with pytest.raises(ValueError, match=r"^neg_scores must have shape \(B=3, M>=1\)"):
            check_per_user_scores("neg_scores", bad, batch=3)
