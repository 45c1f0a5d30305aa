"""Mini-batch BPR sampling: shapes, real positives, rejected negatives, reproducibility, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnrec_lite import Interactions, sample_bpr_batch, synthetic


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def positives_of(train: Interactions) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        out.setdefault(u, set()).add(i)
    return out


@pytest.fixture(scope="module")
def dense_train() -> Interactions:
    """300 users x 60 items at 25% density: rejection has real work to do."""
    return synthetic(300, 60, 4500, num_communities=3, seed=11)


@pytest.mark.parametrize(("batch_size", "num_negatives"), [(1, 1), (64, 1), (257, 5)])
def test_shapes_and_dtypes(dense_train, batch_size, num_negatives):
    users, pos, neg = sample_bpr_batch(dense_train, batch_size, num_negatives=num_negatives, generator=gen())
    assert users.shape == (batch_size,) and pos.shape == (batch_size,)
    assert neg.shape == (batch_size, num_negatives)
    assert users.dtype == pos.dtype == neg.dtype == torch.int64
    assert 0 <= int(users.min()) and int(users.max()) < dense_train.num_users
    assert 0 <= int(neg.min()) and int(neg.max()) < dense_train.num_items


def test_positives_are_train_interactions(dense_train):
    users, pos, _ = sample_bpr_batch(dense_train, 4000, generator=gen(1))
    positives = positives_of(dense_train)
    for u, i in zip(users.tolist(), pos.tolist()):
        assert i in positives[u]


def test_users_without_train_items_are_never_drawn():
    # users 0, 2 and 4 have no training item
    train = Interactions(5, 6, [1, 1, 3, 3, 3], [0, 5, 1, 2, 4])
    users, pos, _ = sample_bpr_batch(train, 2000, num_negatives=2, generator=gen(2))
    assert set(users.tolist()) == {1, 3}
    positives = positives_of(train)
    assert all(i in positives[u] for u, i in zip(users.tolist(), pos.tolist()))
    # every positive of every active user shows up (uniform over the user's items)
    assert set(zip(users.tolist(), pos.tolist())) == set(zip(train.user.tolist(), train.item.tolist()))


def test_negatives_are_never_positives(dense_train):
    users, _, neg = sample_bpr_batch(dense_train, 3000, num_negatives=4, generator=gen(3))
    positives = positives_of(dense_train)
    for u, row in zip(users.tolist(), neg.tolist()):
        assert not positives[u].intersection(row)


def test_negatives_avoid_positives_of_a_very_active_user():
    """A user who lacks a single item must get exactly that item as its negative, every time.

    The docstring allows a positive negative only for "a user who has every item".
    """
    num_items = 20
    train = Interactions(2, num_items, [0] * (num_items - 1) + [1], list(range(num_items - 1)) + [0])
    users, _, neg = sample_bpr_batch(train, 500, num_negatives=4, generator=gen(4))
    assert bool((neg[users == 0] == num_items - 1).all())
    assert not bool((neg[users == 1] == 0).any())


def test_user_with_every_item_keeps_its_draw():
    train = Interactions(2, 3, [0, 0, 0, 1], [0, 1, 2, 1])
    users, pos, neg = sample_bpr_batch(train, 300, num_negatives=2, generator=gen(5))
    assert set(users.tolist()) == {0, 1}
    assert 0 <= int(neg.min()) and int(neg.max()) < 3
    assert not bool((neg[users == 1] == 1).any())


def test_without_rejection_negatives_can_be_positives(dense_train):
    users, _, neg = sample_bpr_batch(dense_train, 3000, num_negatives=2, generator=gen(6), reject_positives=False)
    positives = positives_of(dense_train)
    clashes = sum(i in positives[u] for u, row in zip(users.tolist(), neg.tolist()) for i in row)
    assert clashes > 0  # 25% density: about 1500 of the 6000 draws


def test_same_generator_seed_same_batch(dense_train):
    a = sample_bpr_batch(dense_train, 128, num_negatives=3, generator=gen(42))
    b = sample_bpr_batch(dense_train, 128, num_negatives=3, generator=gen(42))
    c = sample_bpr_batch(dense_train, 128, num_negatives=3, generator=gen(43))
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_seed_argument_reproducible_when_no_generator(dense_train):
    a = sample_bpr_batch(dense_train, 64, num_negatives=2, seed=9)
    b = sample_bpr_batch(dense_train, 64, num_negatives=2, seed=9)
    c = sample_bpr_batch(dense_train, 64, num_negatives=2, seed=10)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_generator_replaces_seed(dense_train):
    a = sample_bpr_batch(dense_train, 64, seed=1, generator=gen(5))
    b = sample_bpr_batch(dense_train, 64, seed=2, generator=gen(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_edges_draw_gives_real_edges_weighted_by_degree():
    # user 0 has 1 item, user 1 has 4: drawing edges uniformly gives user 1 four times as often
    train = Interactions(2, 6, [0, 1, 1, 1, 1], [5, 0, 1, 2, 3])
    users, pos, _ = sample_bpr_batch(train, 5000, draw="edges", generator=gen(12))
    keys = set(zip(train.user.tolist(), train.item.tolist()))
    assert all(pair in keys for pair in zip(users.tolist(), pos.tolist()))
    share_user1 = float((users == 1).double().mean())
    assert 0.75 < share_user1 < 0.85  # 0.8 expected
    # the default draw="users" picks the two users equally often
    users, _, _ = sample_bpr_batch(train, 5000, generator=gen(12))
    assert 0.45 < float((users == 1).double().mean()) < 0.55


@pytest.mark.parametrize("reject", [False, True])
def test_negatives_roughly_uniform(reject):
    num_items = 12
    # sparse train so rejection barely matters: user u has only item u
    train = Interactions(num_items, num_items, list(range(num_items)), list(range(num_items)))
    users, _, neg = sample_bpr_batch(train, 3000, num_negatives=4, generator=gen(7), reject_positives=reject)
    counts = np.bincount(neg.flatten().numpy(), minlength=num_items)
    assert counts.min() > 0  # every item drawn
    expected = neg.numel() / num_items  # 1000
    assert counts.min() > 0.8 * expected and counts.max() < 1.2 * expected
    # users roughly uniform over the active ones too
    user_counts = np.bincount(users.numpy(), minlength=num_items)
    assert user_counts.min() > 0.6 * (3000 / num_items)


def test_positive_choice_roughly_uniform_within_user():
    train = Interactions(1, 5, [0, 0, 0, 0], [0, 1, 3, 4])
    _, pos, _ = sample_bpr_batch(train, 4000, generator=gen(8))
    counts = np.bincount(pos.numpy(), minlength=5)
    assert counts[2] == 0
    assert counts[[0, 1, 3, 4]].min() > 800  # 1000 each on average


@pytest.mark.parametrize(("kwargs", "error", "name"), [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": -5}, ValueError, "batch_size"),
    ({"batch_size": 2.0}, TypeError, "batch_size"),
    ({"batch_size": 4, "num_negatives": 0}, ValueError, "num_negatives"),
    ({"batch_size": 4, "num_negatives": 1.5}, TypeError, "num_negatives"),
    ({"batch_size": 4, "draw": "items"}, ValueError, "draw"),
    ({"batch_size": 4, "seed": 0.5}, TypeError, "seed"),
])
def test_bad_arguments(dense_train, kwargs, error, name):
    with pytest.raises(error, match=rf"^{name}\b"):
        sample_bpr_batch(dense_train, **kwargs)


def test_empty_train():
    with pytest.raises(ValueError, match="train is empty"):
        sample_bpr_batch(Interactions(3, 4, [], []), 8)
