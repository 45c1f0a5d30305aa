"""Interactions: validation, raw-id mapping, subsets, degrees, CSR views and describe()."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnrec_lite import Interactions

# A small hand-made graph: 4 users (user 3 has no interaction), 5 items (item 4 never seen).
USERS = [2, 0, 1, 0, 2, 1, 0, 2]
ITEMS = [3, 1, 0, 0, 1, 3, 2, 0]
NUM_USERS, NUM_ITEMS = 4, 5


def small(**kwargs) -> Interactions:
    return Interactions(NUM_USERS, NUM_ITEMS, USERS, ITEMS, **kwargs)


def dense_r(user, item, num_users, num_items) -> np.ndarray:
    r = np.zeros((num_users, num_items))
    for u, i in zip(user, item):
        r[u, i] += 1
    return r


def random_interactions(num_users=30, num_items=25, num_edges=200, seed=0) -> Interactions:
    rng = np.random.default_rng(seed)
    pairs = rng.choice(num_users * num_items, size=num_edges, replace=False)
    return Interactions(num_users, num_items, pairs // num_items, pairs % num_items,
                        timestamp=rng.integers(0, 1000, num_edges))


# ----------------------------------------------------------------- validation
def test_valid_construction_keeps_columns():
    inter = small(timestamp=np.arange(8) * 10, rating=[1, 2, 3, 4, 5, 4, 3, 2])
    assert len(inter) == inter.num_interactions == 8
    assert inter.user.dtype == torch.int64 and inter.item.dtype == torch.int64
    assert inter.user.tolist() == USERS and inter.item.tolist() == ITEMS
    assert inter.timestamp.tolist() == list(range(0, 80, 10))
    assert inter.rating.tolist() == [1, 2, 3, 4, 5, 4, 3, 2]
    assert inter.density == pytest.approx(8 / 20)


def test_lengths_differ():
    with pytest.raises(ValueError, match="same length"):
        Interactions(3, 3, [0, 1, 2], [0, 1])


@pytest.mark.parametrize(("user", "item", "name"), [([0, 3], [0, 1], "user"), ([0, 1], [0, 3], "item")])
def test_ids_out_of_range(user, item, name):
    with pytest.raises(ValueError, match=rf"^{name} holds id 3, out of range for size 3"):
        Interactions(3, 3, user, item)


@pytest.mark.parametrize(("user", "item", "name"), [([0, -1], [0, 1], "user"), ([0, 1], [-2, 1], "item")])
def test_negative_ids(user, item, name):
    with pytest.raises(ValueError, match=rf"^{name} holds a negative id"):
        Interactions(3, 3, user, item)


@pytest.mark.parametrize(("user", "item", "name"), [([0.5, 1.0], [0, 1], "user"), ([0, 1], [0, 1.25], "item")])
def test_non_integral_float_ids(user, item, name):
    with pytest.raises(TypeError, match=rf"^{name} must hold integers"):
        Interactions(3, 3, user, item)


def test_non_integral_float_tensor_ids():
    with pytest.raises(TypeError, match="item must hold integers"):
        Interactions(3, 3, torch.tensor([0, 1]), torch.tensor([0.5, 1.0]))


def test_two_dimensional_ids():
    with pytest.raises(ValueError, match="user must be 1-D"):
        Interactions(3, 3, [[0, 1]], [0, 1])


def test_duplicates_rejected():
    with pytest.raises(ValueError, match=r"duplicate interaction \(user 1, item 2\).*allow_duplicates"):
        Interactions(3, 3, [0, 1, 1], [0, 2, 2])


def test_duplicates_allowed_when_asked():
    inter = Interactions(3, 3, [0, 1, 1], [0, 2, 2], allow_duplicates=True)
    assert len(inter) == 3
    assert inter.user_degree().tolist() == [1, 2, 0]
    assert inter.item_degree().tolist() == [1, 0, 2]
    np.testing.assert_array_equal(inter.to_csr().to_dense().numpy(), dense_r([0, 1, 1], [0, 2, 2], 3, 3))


@pytest.mark.parametrize("shape", [(NUM_ITEMS - 1, 2), (NUM_ITEMS,), (NUM_ITEMS, 2, 1)])
def test_item_features_bad_shape(shape):
    with pytest.raises(ValueError, match="item_features must have shape"):
        small(item_features=torch.zeros(shape))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_item_features_not_finite(bad):
    feats = torch.zeros(NUM_ITEMS, 3)
    feats[2, 1] = bad
    with pytest.raises(ValueError, match="item_features contains NaN or infinite"):
        small(item_features=feats)


def test_item_feature_names_must_match_columns():
    with pytest.raises(ValueError, match="item_feature_names"):
        small(item_features=torch.zeros(NUM_ITEMS, 3), item_feature_names=["a", "b"])


def test_item_features_stored_as_float32():
    feats = np.arange(NUM_ITEMS * 2, dtype=np.float64).reshape(NUM_ITEMS, 2)
    inter = small(item_features=feats, item_feature_names=["x", "y"])
    assert inter.item_features.dtype == torch.float32
    np.testing.assert_array_equal(inter.item_features.numpy(), feats)


def test_item_names_wrong_length():
    with pytest.raises(ValueError, match=r"item_names must have one entry per row \(5\), got 4"):
        small(item_names=["a", "b", "c", "d"])


@pytest.mark.parametrize("column", ["timestamp", "rating"])
def test_column_wrong_length(column):
    with pytest.raises(ValueError, match=rf"^{column} must have shape \(8,\)"):
        small(**{column: np.arange(7)})


@pytest.mark.parametrize("column", ["timestamp", "rating"])
def test_column_not_finite(column):
    values = np.arange(8, dtype=float)
    values[3] = np.nan
    with pytest.raises(ValueError, match=rf"^{column} contains NaN"):
        small(**{column: values})


def test_boolean_timestamp_rejected():
    with pytest.raises(TypeError, match="timestamp must be numeric"):
        small(timestamp=np.ones(8, dtype=bool))


@pytest.mark.parametrize("name", ["num_users", "num_items"])
@pytest.mark.parametrize("value", [0, -3])
def test_sizes_below_one(name, value):
    sizes = {"num_users": 3, "num_items": 3, name: value}
    with pytest.raises(ValueError, match=rf"^{name} must be >= 1, got {value}"):
        Interactions(sizes["num_users"], sizes["num_items"], [], [])


@pytest.mark.parametrize("value", [2.0, "3", True])
def test_sizes_must_be_int(value):
    with pytest.raises(TypeError, match="num_users must be an int"):
        Interactions(value, 3, [0], [0])


def test_meta_columns_wrong_length():
    with pytest.raises(ValueError, match=r"item_meta\['year'\]"):
        small(item_meta={"year": [1990] * (NUM_ITEMS + 1)})
    with pytest.raises(ValueError, match=r"user_meta\['age'\]"):
        small(user_meta={"age": [30] * (NUM_USERS - 1)})


def test_raw_ids_validated():
    with pytest.raises(ValueError, match="user_raw_ids must have shape"):
        small(user_raw_ids=["a", "b"])
    with pytest.raises(ValueError, match="item_raw_ids must not repeat"):
        small(item_raw_ids=["a", "b", "c", "d", "a"])


def test_empty_interactions_are_valid():
    inter = Interactions(3, 4, [], [])
    assert len(inter) == 0
    assert inter.user_degree().tolist() == [0, 0, 0]
    assert inter.item_degree().tolist() == [0, 0, 0, 0]
    assert inter.density == 0.0


# ------------------------------------------------------------------- from_raw
def test_from_raw_string_ids():
    raw_users = ["carol", "alice", "bob", "alice", "dave"]
    raw_items = ["m3", "m1", "m3", "m2", "m1"]
    inter = Interactions.from_raw(raw_users, raw_items)
    assert (inter.num_users, inter.num_items) == (4, 3)
    assert list(inter.user_raw_ids) == sorted(set(raw_users))
    assert list(inter.item_raw_ids) == sorted(set(raw_items))
    # every row maps back to its raw pair
    back = [(inter.user_raw_ids[u], inter.item_raw_ids[i]) for u, i in zip(inter.user.tolist(), inter.item.tolist())]
    assert back == list(zip(raw_users, raw_items))
    for rank, raw in enumerate(sorted(set(raw_users))):
        assert inter.user_index(raw) == rank
    for rank, raw in enumerate(sorted(set(raw_items))):
        assert inter.item_index(raw) == rank
    with pytest.raises(KeyError, match="erin"):
        inter.user_index("erin")
    with pytest.raises(KeyError, match="m9"):
        inter.item_index("m9")


def test_from_raw_int_ids_sorted_numerically():
    raw_users = [100, 7, 100, 25, 7]
    raw_items = [9, 10, 2, 10, 9]
    inter = Interactions.from_raw(raw_users, raw_items)
    assert list(inter.user_raw_ids) == [7, 25, 100]  # numeric, not lexicographic order
    assert list(inter.item_raw_ids) == [2, 9, 10]
    assert inter.user.tolist() == [2, 0, 2, 1, 0]
    assert inter.item.tolist() == [1, 2, 0, 2, 1]
    assert inter.user_index(100) == 2 and inter.item_index(10) == 2
    with pytest.raises(KeyError):
        inter.user_index(8)
    with pytest.raises(KeyError):
        inter.item_index(3)


def test_from_raw_mapping_ignores_row_order():
    raw_users = ["b", "a", "c", "a"]
    raw_items = [5, 3, 3, 4]
    perm = [3, 2, 0, 1]
    a = Interactions.from_raw(raw_users, raw_items)
    b = Interactions.from_raw([raw_users[p] for p in perm], [raw_items[p] for p in perm])
    assert list(a.user_raw_ids) == list(b.user_raw_ids)
    assert list(a.item_raw_ids) == list(b.item_raw_ids)
    assert set(zip(a.user.tolist(), a.item.tolist())) == set(zip(b.user.tolist(), b.item.tolist()))


def test_from_raw_passes_kwargs_and_validates():
    inter = Interactions.from_raw(["x", "y"], ["p", "q"], timestamp=[5, 6], name="tiny")
    assert inter.timestamp.tolist() == [5, 6] and inter.name == "tiny"
    with pytest.raises(ValueError, match="raw_users and raw_items"):
        Interactions.from_raw(["x", "y"], ["p"])
    with pytest.raises(ValueError, match="raw_users is empty"):
        Interactions.from_raw([], [])
    with pytest.raises(ValueError, match="duplicate"):
        Interactions.from_raw(["x", "x"], ["p", "p"])


def test_default_raw_ids_are_indices():
    inter = small()
    assert list(inter.user_raw_ids) == list(range(NUM_USERS))
    assert inter.item_index(3) == 3
    with pytest.raises(KeyError):
        inter.item_index(NUM_ITEMS)


# --------------------------------------------------------------------- subset
def test_subset_by_mask_keeps_id_spaces_and_metadata():
    feats = torch.arange(NUM_ITEMS * 2, dtype=torch.float32).reshape(NUM_ITEMS, 2)
    inter = small(timestamp=np.arange(8), rating=np.arange(8) % 5 + 1, item_names=list("abcde"),
                  item_features=feats, item_meta={"year": list(range(2000, 2005))},
                  user_meta={"age": [20, 30, 40, 50]}, user_raw_ids=list("pqrs"), name="orig")
    mask = np.array([True, False, True, True, False, False, True, False])
    sub = inter.subset(torch.as_tensor(mask), name="sub")
    assert (sub.num_users, sub.num_items) == (NUM_USERS, NUM_ITEMS)
    assert sub.user.tolist() == [u for u, m in zip(USERS, mask) if m]
    assert sub.item.tolist() == [i for i, m in zip(ITEMS, mask) if m]
    assert sub.timestamp.tolist() == [0, 2, 3, 6]
    assert sub.rating.tolist() == inter.rating[torch.as_tensor(mask)].tolist()
    assert sub.item_names == list("abcde")
    assert torch.equal(sub.item_features, feats)
    assert sub.item_meta == {"year": list(range(2000, 2005))}
    assert sub.user_meta == {"age": [20, 30, 40, 50]}
    assert list(sub.user_raw_ids) == list("pqrs")
    assert sub.name == "sub" and inter.subset(mask).name == "orig"
    # the original is untouched
    assert inter.user.tolist() == USERS and len(inter) == 8


def test_subset_by_index_array():
    inter = small(timestamp=np.arange(8) * 3)
    sub = inter.subset([7, 0, 4])
    assert sub.user.tolist() == [USERS[7], USERS[0], USERS[4]]
    assert sub.item.tolist() == [ITEMS[7], ITEMS[0], ITEMS[4]]
    assert sub.timestamp.tolist() == [21, 0, 12]


def test_subset_errors():
    inter = small()
    with pytest.raises(ValueError, match="index mask must have shape"):
        inter.subset(torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="index holds id 8"):
        inter.subset([0, 8])


def test_subset_empty_selection():
    inter = small()
    assert len(inter.subset(torch.zeros(8, dtype=torch.bool))) == 0
    assert len(inter.subset(np.array([], dtype=np.int64))) == 0
    assert len(inter.subset([])) == 0  # an empty list of indices, like subset([0, 1]) with none selected


# ---------------------------------------------------------------- degrees/CSR
def test_degrees_match_bincount():
    inter = random_interactions()
    np.testing.assert_array_equal(inter.user_degree().numpy(), np.bincount(inter.user.numpy(), minlength=30))
    np.testing.assert_array_equal(inter.item_degree().numpy(), np.bincount(inter.item.numpy(), minlength=25))
    assert inter.user_degree().shape == (30,) and inter.item_degree().shape == (25,)


def test_degrees_include_empty_tail():
    inter = small()
    assert inter.user_degree().tolist() == [3, 2, 3, 0]
    assert inter.item_degree().tolist() == [3, 2, 1, 2, 0]


@pytest.mark.parametrize("seed", [0, 1])
def test_csr_matches_dense_reference(seed):
    inter = random_interactions(seed=seed)
    r = dense_r(inter.user.tolist(), inter.item.tolist(), inter.num_users, inter.num_items)
    indptr, indices = inter.csr()
    assert indptr.shape == (inter.num_users + 1,) and indices.shape == (len(inter),)
    assert indptr[0] == 0 and indptr[-1] == len(inter)
    for u in range(inter.num_users):
        row = indices[indptr[u]:indptr[u + 1]].tolist()
        assert row == np.flatnonzero(r[u]).tolist()  # the user's items, sorted
        assert row == inter.items_of(u).tolist()


def test_csr_of_user_without_items_is_empty():
    indptr, indices = small().csr()
    assert indptr[3] == indptr[4]
    assert indices[indptr[0]:indptr[1]].tolist() == [0, 1, 2]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_to_csr_equals_dense_r(dtype):
    inter = random_interactions(seed=3)
    mat = inter.to_csr(dtype=dtype)
    assert mat.layout == torch.sparse_csr and mat.dtype == dtype
    assert mat.shape == (inter.num_users, inter.num_items)
    r = dense_r(inter.user.tolist(), inter.item.tolist(), inter.num_users, inter.num_items)
    np.testing.assert_array_equal(mat.to_dense().numpy(), r)


def test_items_of_checks_user():
    inter = small()
    assert inter.items_of(3).tolist() == []
    with pytest.raises(ValueError, match="user must be <= 3"):
        inter.items_of(4)


# ------------------------------------------------------------------- describe
def _describe_reference(user, item, num_users, num_items) -> dict:
    ud = np.bincount(user, minlength=num_users)
    idg = np.bincount(item, minlength=num_items)
    out = {"users": num_users, "items": num_items, "interactions": len(user),
           "density": len(user) / (num_users * num_items)}
    for side, deg in (("user", ud), ("item", idg)):
        out[f"{side}_degree_min"] = deg.min()
        out[f"{side}_degree_median"] = np.median(deg)
        out[f"{side}_degree_mean"] = deg.mean()
        out[f"{side}_degree_max"] = deg.max()
        out[f"{side}s_without_interactions"] = int(np.sum(deg == 0))
    top = max(1, num_items // 5)
    out["share_of_top_20pct_items"] = np.sort(idg)[::-1][:top].sum() / len(user)
    return out


@pytest.mark.parametrize(
    "inter",
    [
        Interactions(NUM_USERS, NUM_ITEMS, USERS, ITEMS),  # even number of users and items
        Interactions(3, 5, [0, 0, 0, 1, 2, 2], [0, 1, 2, 0, 3, 4]),  # odd number of users
        random_interactions(num_users=31, num_items=25, num_edges=150, seed=5),
        random_interactions(num_users=30, num_items=24, num_edges=150, seed=6),
    ],
    ids=["even", "odd", "random-odd", "random-even"],
)
def test_describe_against_numpy(inter):
    got = inter.describe()
    want = _describe_reference(inter.user.numpy(), inter.item.numpy(), inter.num_users, inter.num_items)
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value), key


def test_describe_known_values():
    got = small().describe()
    assert got["users_without_interactions"] == 1 and got["items_without_interactions"] == 1
    assert got["user_degree_max"] == 3 and got["item_degree_min"] == 0
    assert got["share_of_top_20pct_items"] == pytest.approx(3 / 8)  # 5 // 5 = 1 top item, degree 3


def test_repr_mentions_name_and_counts():
    text = repr(small(timestamp=np.arange(8), name="toy"))
    assert "'toy'" in text and "4 users" in text and "5 items" in text and "8 interactions" in text
    assert "timestamp" in text


def test_merge_keeps_every_row_and_checks_the_id_spaces():
    from gnnrec_lite.interactions import merge

    a = Interactions(3, 4, [0, 1], [1, 2])
    b = Interactions(3, 4, [1, 2], [2, 3])
    both = merge(a, b)
    assert sorted(zip(both.user.tolist(), both.item.tolist())) == [(0, 1), (1, 2), (1, 2), (2, 3)]
    assert both.user_degree().tolist() == [1, 2, 1]
    with pytest.raises(ValueError, match="must share the id spaces"):
        merge(a, Interactions(3, 5, [0], [4]))


def test_rows_mask_marks_each_rows_items_like_a_dense_matrix():
    from gnnrec_lite.interactions import rows_mask

    inter = small()
    dense = torch.zeros(inter.num_users, inter.num_items, dtype=torch.bool)
    dense[inter.user, inter.item] = True
    rows = torch.tensor([2, 0, 2, inter.num_users - 1])  # repeats and any order
    assert torch.equal(rows_mask(*inter.csr(), rows, inter.num_items), dense[rows])
    assert rows_mask(*inter.csr(), torch.empty(0, dtype=torch.int64), inter.num_items).shape == (0, inter.num_items)
