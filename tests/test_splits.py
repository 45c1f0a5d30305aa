"""Per-user splits: disjoint and complete, every user trained on, reproducible, counts by formula."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest

from gnnrec_lite import Interactions, leave_one_out, load, random_split, temporal_split
from gnnrec_lite.splits import parse_split


def pairs(inter: Interactions) -> set[tuple[int, int]]:
    return set(zip(inter.user.tolist(), inter.item.tolist()))


def per_user_count(inter: Interactions) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for u in inter.user.tolist():
        out[u] += 1
    return out


def expected_train_count(fraction: float, degree: int) -> int:
    """round-half-up(fraction * degree) in exact arithmetic, clipped to [1, degree]."""
    exact = Fraction(str(fraction)) * degree
    return min(max(int(exact + Fraction(1, 2)), 1), degree)


def make_data(num_users=40, num_items=30, seed=0, with_time=True, ties=False) -> Interactions:
    """Random data with a wide range of user degrees (0 to num_items), distinct pairs."""
    rng = np.random.default_rng(seed)
    user, item = [], []
    for u in range(num_users - 1):  # the last user has no interaction
        deg = int(rng.integers(1, num_items + 1)) if u % 5 else 1 + u % 3  # include degrees 1, 2, 3
        items = rng.choice(num_items, size=deg, replace=False)
        user += [u] * deg
        item += items.tolist()
    perm = rng.permutation(len(user))  # rows not grouped by user
    user, item = np.array(user)[perm], np.array(item)[perm]
    timestamp = None
    if with_time:
        timestamp = rng.integers(0, 20 if ties else 10**9, len(user))
    return Interactions(num_users, num_items, user, item, timestamp=timestamp, name="data")


SPLITS = {
    "random-0.8": lambda inter, seed=0: random_split(inter, 0.8, seed=seed),
    "random-0.5": lambda inter, seed=0: random_split(inter, 0.5, seed=seed),
    "temporal-0.8": lambda inter, seed=0: temporal_split(inter, 0.8),
    "temporal-0.3": lambda inter, seed=0: temporal_split(inter, 0.3),
    "loo-time": lambda inter, seed=0: leave_one_out(inter, by="time"),
    "loo-random": lambda inter, seed=0: leave_one_out(inter, by="random", seed=seed),
}


# ------------------------------------------------------------ shared rules
@pytest.mark.parametrize("kind", sorted(SPLITS))
@pytest.mark.parametrize("ties", [False, True])
def test_disjoint_and_complete(kind, ties):
    inter = make_data(ties=ties)
    train, test = SPLITS[kind](inter)
    assert len(train) + len(test) == len(inter)
    assert pairs(train) & pairs(test) == set()
    assert pairs(train) | pairs(test) == pairs(inter)
    for part in (train, test):
        assert (part.num_users, part.num_items) == (inter.num_users, inter.num_items)
        assert part.timestamp is not None
    assert train.name == "data/train" and test.name == "data/test"


@pytest.mark.parametrize("kind", sorted(SPLITS))
def test_rows_keep_their_timestamps(kind):
    inter = make_data()
    row_time = {(u, i): t for u, i, t in zip(inter.user.tolist(), inter.item.tolist(), inter.timestamp.tolist())}
    for part in SPLITS[kind](inter):
        for u, i, t in zip(part.user.tolist(), part.item.tolist(), part.timestamp.tolist()):
            assert row_time[(u, i)] == t


@pytest.mark.parametrize("kind", sorted(SPLITS))
def test_every_active_user_has_a_train_item(kind):
    inter = make_data(seed=1)
    train, _ = SPLITS[kind](inter)
    active = set(inter.user.tolist())
    assert len(active) == inter.num_users - 1
    assert set(train.user.tolist()) == active


@pytest.mark.parametrize("kind", ["random-0.8", "random-0.5", "loo-random"])
def test_same_seed_same_split_other_seed_differs(kind):
    inter = make_data(seed=2)
    a_train, a_test = SPLITS[kind](inter, seed=7)
    b_train, b_test = SPLITS[kind](inter, seed=7)
    assert pairs(a_train) == pairs(b_train) and pairs(a_test) == pairs(b_test)
    c_train, _ = SPLITS[kind](inter, seed=8)
    assert pairs(c_train) != pairs(a_train)


def test_random_split_default_seed_is_reproducible():
    inter = make_data(seed=3)
    assert pairs(random_split(inter)[0]) == pairs(random_split(inter)[0])


@pytest.mark.parametrize("fraction", [0.8, 0.5, 0.25, 0.75, 0.6, 0.1])
@pytest.mark.parametrize("kind", ["random", "temporal"])
def test_per_user_train_count_is_rounded_half_up(kind, fraction):
    inter = make_data(seed=4)
    split = random_split(inter, fraction, seed=1) if kind == "random" else temporal_split(inter, fraction)
    train_count, degree = per_user_count(split[0]), per_user_count(inter)
    for u, deg in degree.items():
        assert train_count[u] == expected_train_count(fraction, deg), (u, deg)


def test_train_count_rounds_half_up_not_to_even():
    # degree 5 at 0.5 is 2.5 -> 3 (Python's round would give 2); degree 3 -> 1.5 -> 2; degree 1 -> 0.5 -> 1
    inter = Interactions(3, 5, [0] * 5 + [1] * 3 + [2], list(range(5)) + [0, 1, 2] + [4])
    train, test = random_split(inter, 0.5, seed=0)
    assert per_user_count(train) == {0: 3, 1: 2, 2: 1}
    assert per_user_count(test) == {0: 2, 1: 1}


def test_user_with_one_interaction_has_no_test_item():
    inter = Interactions(2, 4, [0, 1, 1, 1], [2, 0, 1, 3], timestamp=[5, 1, 2, 3])
    for split in (random_split(inter, 0.1), temporal_split(inter, 0.1), leave_one_out(inter),
                  leave_one_out(inter, by="random")):
        assert (0, 2) in pairs(split[0])
        assert 0 not in split[1].user.tolist()


# ----------------------------------------------------------------- temporal
@pytest.mark.parametrize("fraction", [0.8, 0.5, 0.2])
@pytest.mark.parametrize("ties", [False, True])
def test_temporal_train_never_after_test(fraction, ties):
    inter = make_data(seed=5, ties=ties)
    train, test = temporal_split(inter, fraction)
    last_train: dict[int, int] = defaultdict(lambda: -1)
    for u, t in zip(train.user.tolist(), train.timestamp.tolist()):
        last_train[u] = max(last_train[u], t)
    for u, t in zip(test.user.tolist(), test.timestamp.tolist()):
        assert last_train[u] <= t


def test_temporal_ties_broken_by_row_order():
    # all four rows at the same time: the first rows go to train
    inter = Interactions(1, 4, [0, 0, 0, 0], [3, 1, 0, 2], timestamp=[7, 7, 7, 7])
    train, test = temporal_split(inter, 0.5)
    assert train.item.tolist() == [3, 1] and test.item.tolist() == [0, 2]


def test_temporal_split_is_deterministic():
    inter = make_data(seed=6)
    assert pairs(temporal_split(inter, 0.7)[0]) == pairs(temporal_split(inter, 0.7)[0])


# ------------------------------------------------------------ leave one out
def test_loo_by_time_holds_out_latest():
    inter = make_data(seed=7)
    train, test = leave_one_out(inter, by="time")
    degree, test_count = per_user_count(inter), per_user_count(test)
    latest: dict[int, int] = defaultdict(lambda: -1)
    for u, t in zip(inter.user.tolist(), inter.timestamp.tolist()):
        latest[u] = max(latest[u], t)
    for u, deg in degree.items():
        assert test_count.get(u, 0) == (1 if deg >= 2 else 0)
    for u, t in zip(test.user.tolist(), test.timestamp.tolist()):
        assert t == latest[u]
    assert len(test) == sum(deg >= 2 for deg in degree.values())


def test_loo_by_time_on_ties_holds_out_last_row():
    inter = Interactions(2, 4, [0, 0, 0, 1, 1], [2, 0, 3, 1, 0], timestamp=[1, 9, 9, 4, 3])
    train, test = leave_one_out(inter, by="time")
    assert pairs(test) == {(0, 3), (1, 1)}
    assert pairs(train) == {(0, 2), (0, 0), (1, 0)}


def test_loo_random_holds_out_one_per_user():
    inter = make_data(seed=8)
    _, test = leave_one_out(inter, by="random", seed=3)
    degree, test_count = per_user_count(inter), per_user_count(test)
    for u, deg in degree.items():
        assert test_count.get(u, 0) == (1 if deg >= 2 else 0)


def test_loo_random_does_not_need_time_and_is_not_always_latest():
    inter = make_data(seed=9)
    no_time = Interactions(inter.num_users, inter.num_items, inter.user, inter.item)
    _, test = leave_one_out(no_time, by="random", seed=0)
    assert len(test) == sum(d >= 2 for d in per_user_count(inter).values())
    _, latest = leave_one_out(inter, by="time")
    _, rand = leave_one_out(inter, by="random", seed=0)
    assert pairs(rand) != pairs(latest)


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_fraction_outside_open_interval(fraction):
    inter = make_data()
    with pytest.raises(ValueError, match="train_fraction must be in"):
        random_split(inter, fraction)
    with pytest.raises(ValueError, match="train_fraction must be in"):
        temporal_split(inter, fraction)


def test_fraction_wrong_type():
    with pytest.raises(TypeError, match="train_fraction"):
        random_split(make_data(), "0.8")


def test_seed_must_be_int():
    with pytest.raises(TypeError, match="seed"):
        random_split(make_data(), 0.8, seed=1.5)
    with pytest.raises(TypeError, match="seed"):
        leave_one_out(make_data(), by="random", seed="x")


def test_time_splits_need_timestamps():
    inter = make_data(with_time=False)
    with pytest.raises(ValueError, match="no timestamps"):
        temporal_split(inter)
    with pytest.raises(ValueError, match="no timestamps"):
        leave_one_out(inter, by="time")


def test_empty_input():
    empty = Interactions(3, 3, [], [], timestamp=[])
    for split in (lambda: random_split(empty), lambda: temporal_split(empty), lambda: leave_one_out(empty),
                  lambda: leave_one_out(empty, by="random")):
        with pytest.raises(ValueError, match="inter is empty"):
            split()


@pytest.mark.parametrize("by", ["latest", "Time", "", None])
def test_bad_by(by):
    with pytest.raises(ValueError, match=r"by must be one of \['time', 'random'\]"):
        leave_one_out(make_data(), by=by)


# --------------------------------------------------------------- parse_split
def test_parse_split_random():
    inter = make_data(seed=10)
    got = parse_split("random:0.6")(inter, 4)
    want = random_split(inter, 0.6, seed=4)
    assert pairs(got[0]) == pairs(want[0]) and pairs(got[1]) == pairs(want[1])
    default = parse_split("random")(inter, 4)
    assert pairs(default[0]) == pairs(random_split(inter, 0.8, seed=4)[0])


def test_parse_split_temporal():
    inter = make_data(seed=11)
    got = parse_split("temporal:0.5")(inter, 123)
    assert pairs(got[0]) == pairs(temporal_split(inter, 0.5)[0])
    assert pairs(parse_split("temporal")(inter, 0)[0]) == pairs(temporal_split(inter, 0.8)[0])


def test_parse_split_loo_uses_time_when_available():
    inter = make_data(seed=12)
    assert pairs(parse_split("loo")(inter, 0)[1]) == pairs(leave_one_out(inter, by="time")[1])
    no_time = Interactions(inter.num_users, inter.num_items, inter.user, inter.item)
    assert pairs(parse_split("loo")(no_time, 5)[1]) == pairs(leave_one_out(no_time, by="random", seed=5)[1])


@pytest.mark.parametrize("spec", ["random:abc", "temporal:x", "loo:3", "kfold:5", "", "RANDOM:0.8", "random:0.8:1"])
def test_parse_split_rejects_bad_specs(spec):
    with pytest.raises(ValueError, match="split must"):
        parse_split(spec)


@pytest.mark.parametrize("spec", ["random:1.5", "temporal:0", "random:-0.2"])
def test_parse_split_bad_fraction_is_caught(spec):
    """An out-of-range fraction is refused, at parse time or at the latest when the split runs."""
    with pytest.raises(ValueError, match="train_fraction|split must"):
        parse_split(spec)(make_data(), 0)


# ------------------------------------------------------------------ ML-100K
@pytest.fixture(scope="module")
def ml100k() -> Interactions:
    return load("ml-100k")


@pytest.mark.data
def test_ml100k_random_80_20_counts(ml100k):
    inter = ml100k
    train, test = random_split(inter, 0.8, seed=0)
    degree = np.bincount(inter.user.numpy(), minlength=inter.num_users)
    want = np.array([expected_train_count(0.8, int(d)) if d else 0 for d in degree])
    np.testing.assert_array_equal(np.bincount(train.user.numpy(), minlength=inter.num_users), want)
    assert len(train) == want.sum() and len(test) == len(inter) - want.sum()
    assert pairs(train) & pairs(test) == set()
    assert len(pairs(train) | pairs(test)) == len(inter) == 100_000


@pytest.mark.data
def test_ml100k_temporal_and_loo(ml100k):
    inter = ml100k
    train, test = temporal_split(inter, 0.8)
    ut, tt = train.user.numpy(), train.timestamp.numpy()
    last_train = np.full(inter.num_users, np.iinfo(np.int64).min)
    np.maximum.at(last_train, ut, tt)
    assert np.all(last_train[test.user.numpy()] <= test.timestamp.numpy())

    _, held = leave_one_out(inter, by="time")
    degree = np.bincount(inter.user.numpy(), minlength=inter.num_users)
    assert len(held) == int(np.sum(degree >= 2))
    assert np.array_equal(np.bincount(held.user.numpy(), minlength=inter.num_users), (degree >= 2).astype(int))
    latest = np.full(inter.num_users, np.iinfo(np.int64).min)
    np.maximum.at(latest, inter.user.numpy(), inter.timestamp.numpy())
    assert np.array_equal(held.timestamp.numpy(), latest[held.user.numpy()])
