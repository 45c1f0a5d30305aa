"""Lecture 06 aside: sum, mean and max pooling against PyG's scatter, and GIN's Figure 3 by hand."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.utils import scatter

from gnnrec_lite.aggregators import AGGREGATORS, GIN_EXAMPLES, aggregate, distinguishes, multiset


@pytest.mark.parametrize("how", AGGREGATORS)
def test_aggregate_matches_pyg_scatter(how):
    gen = torch.Generator().manual_seed(0)
    messages = torch.randn(40, 5, generator=gen, dtype=torch.float64)
    index = torch.randint(0, 7, (40,), generator=gen)
    index[index == 3] = 4  # group 3 stays empty
    ours = aggregate(messages, index, how=how, num_groups=8)
    ref = scatter(messages, index, dim=0, dim_size=8, reduce=how)
    torch.testing.assert_close(ours, ref)
    assert torch.equal(ours[3], torch.zeros(5, dtype=torch.float64))  # empty groups are zero
    assert torch.equal(ours[7], torch.zeros(5, dtype=torch.float64))


def test_aggregate_without_index_pools_everything():
    x = torch.tensor([[1.0, -2.0], [3.0, 0.0], [-1.0, 5.0]])
    assert torch.equal(aggregate(x, how="sum"), torch.tensor([3.0, 3.0]))
    assert torch.equal(aggregate(x, how="mean"), torch.tensor([1.0, 1.0]))
    assert torch.equal(aggregate(x, how="max"), torch.tensor([3.0, 5.0]))


def test_multiset_one_hot_rows():
    rows = multiset({"g": 1, "r": 2})
    # names a, g, r -> one-hot columns 0, 1, 2
    assert torch.equal(rows, torch.tensor([[0.0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=torch.float64))


def test_one_hot_sum_counts_mean_proportions_max_set():
    counts = {"a": 1, "g": 3, "r": 2}
    rows = multiset(counts)
    assert aggregate(rows, how="sum").tolist() == [1.0, 3.0, 2.0]
    assert aggregate(rows, how="mean").tolist() == pytest.approx([1 / 6, 3 / 6, 2 / 6])
    assert aggregate(rows, how="max").tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("name", sorted(GIN_EXAMPLES))
def test_gin_figure_3_failures_by_hand(name):
    first, second, fails = GIN_EXAMPLES[name]
    # what fails, derived by hand from GIN section 5.2 (a: 2 vs 3 copies of a; b: {g, r} vs {g, r, r};
    # c: {g, r} vs {g, g, r, r})
    assert set(fails) == {"a": {"mean", "max"}, "b": {"max"}, "c": {"mean", "max"}}[name]
    for how in AGGREGATORS:
        assert distinguishes(how, first, second) == (how not in fails)


@pytest.mark.parametrize("name", sorted(GIN_EXAMPLES))
def test_failures_hold_for_any_features(name):
    first, second, fails = GIN_EXAMPLES[name]
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        feats = {k: torch.randn(8, generator=gen, dtype=torch.float64) for k in "agr"}
        for how in AGGREGATORS:
            assert distinguishes(how, first, second, features=feats) == (how not in fails)


def test_errors_name_the_argument():
    x = torch.ones(3, 2)
    with pytest.raises(ValueError, match="how must be one of"):
        aggregate(x, how="median")
    with pytest.raises(ValueError, match="messages must be a 2-D"):
        aggregate(torch.ones(3))
    with pytest.raises(ValueError, match="index must be int64"):
        aggregate(x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="out of range for num_groups"):
        aggregate(x, torch.tensor([0, 1, 5]), num_groups=2)
    with pytest.raises(ValueError, match="messages is empty"):
        aggregate(torch.ones(0, 2))
    with pytest.raises(ValueError, match="features has no vector"):
        multiset({"z": 1}, {"a": torch.ones(2)})
    with pytest.raises(ValueError, match="at least one neighbour"):
        multiset({"a": 0})
    with pytest.raises(ValueError, match="counts must be >= 0|counts\\['a'\\] must be >= 0"):
        multiset({"a": -1})
