"""Tests of gnnrec_lite.metrics: top-K lists, Recall@K and friends.

References used, none of them the library itself:

* ``torch_geometric.metrics`` (LinkPredRecall/Precision/NDCG/HitRatio);
* a pure-Python implementation of the lecture's definitions, written below;
* hand-computed values on tiny examples.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from torch_geometric.metrics import LinkPredHitRatio, LinkPredNDCG, LinkPredPrecision, LinkPredRecall

import gnnrec_lite as g
from gnnrec_lite import (
    Interactions,
    evaluate,
    hit_rate_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    recommend,
    topk_from_scores,
)

METRIC_NAMES = ("recall", "precision", "ndcg", "hit_rate")
PYG = {"recall": LinkPredRecall, "precision": LinkPredPrecision, "ndcg": LinkPredNDCG, "hit_rate": LinkPredHitRatio}
ONE_METRIC = {"recall": recall_at_k, "precision": precision_at_k, "ndcg": ndcg_at_k, "hit_rate": hit_rate_at_k}


# --------------------------------------------------------------------------- pure-Python references
def py_topk(score_row, k, excluded=()):
    """Top-k of one row of scores, best first, ties to the lower id, -1 padding."""
    excluded = set(excluded)
    candidates = [i for i in range(len(score_row)) if i not in excluded]
    ranked = sorted(candidates, key=lambda i: (-score_row[i], i))[:k]
    return ranked + [-1] * (k - len(ranked))


def py_user_metrics(ranked, positives, k):
    """The lecture's per-user metrics for one list ``ranked`` and positive set ``positives`` (non-empty)."""
    top = ranked[:k]
    positives = set(positives)
    found = len(positives & {i for i in top if i >= 0})
    dcg = sum(1.0 / math.log2(r + 2) for r, i in enumerate(top) if i in positives)
    idcg = sum(1.0 / math.log2(r + 2) for r in range(min(len(positives), k)))
    return {"recall": found / len(positives), "precision": found / k, "ndcg": dcg / idcg,
            "hit_rate": float(found > 0)}


def py_mean_metrics(lists, positives_by_user, k):
    """Mean over users with at least one positive; also returns that user count."""
    per_user = [py_user_metrics(lists[u], pos, k) for u, pos in enumerate(positives_by_user) if pos]
    means = {name: sum(m[name] for m in per_user) / len(per_user) for name in METRIC_NAMES}
    return means, len(per_user)


def items_by_user(inter: Interactions):
    out = [set() for _ in range(inter.num_users)]
    for u, i in zip(inter.user.tolist(), inter.item.tolist()):
        out[u].add(i)
    return out


def pyg_metrics(recommended, test: Interactions, k):
    out = {}
    edge_label_index = torch.stack([test.user, test.item])
    for name, cls in PYG.items():
        metric = cls(k)
        metric.update(recommended[:, :k], edge_label_index)
        out[name] = float(metric.compute())
    return out


def random_split_data(seed, num_users=25, num_items=40, max_train=10, max_test=8):
    """Distinct random train/test pairs; some users get no test positive; every user keeps >= 30 candidates."""
    rng = random.Random(seed)
    tr_u, tr_i, te_u, te_i = [], [], [], []
    for u in range(num_users):
        items = rng.sample(range(num_items), max_train + max_test)
        n_train = rng.randint(0, max_train)
        n_test = 0 if u % 6 == 5 else rng.randint(1, max_test)
        tr_u += [u] * n_train
        tr_i += items[:n_train]
        te_u += [u] * n_test
        te_i += items[max_train:max_train + n_test]
    return (Interactions(num_users, num_items, tr_u, tr_i, name="train"),
            Interactions(num_users, num_items, te_u, te_i, name="test"))


# --------------------------------------------------------------------------- 1. agreement with references
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ranking_metrics_match_pyg_and_pure_python(seed):
    train, test = random_split_data(seed)
    gen = torch.Generator().manual_seed(seed)
    user_emb = torch.randn(train.num_users, 8, generator=gen)
    item_emb = torch.randn(train.num_items, 8, generator=gen)
    ks = [1, 5, 10, 20]
    recommended = recommend((user_emb, item_emb), max(ks), exclude=train)
    assert recommended.shape == (train.num_users, max(ks))
    assert (recommended >= 0).all()  # enough candidates: no padding, so PyG sees plain ids

    # the lists themselves: pure-Python ranking of the same scores, train items excluded
    scores = (user_emb @ item_emb.T).tolist()
    train_sets, test_sets = items_by_user(train), items_by_user(test)
    lists = [py_topk(scores[u], max(ks), train_sets[u]) for u in range(train.num_users)]
    assert recommended.tolist() == lists

    got = ranking_metrics(recommended, test, ks)
    for k in ks:
        ref_py, n_users = py_mean_metrics(lists, test_sets, k)
        ref_pyg = pyg_metrics(recommended, test, k)
        assert got["users"] == n_users == sum(1 for s in test_sets if s)
        for name in METRIC_NAMES:
            assert got[f"{name}@{k}"] == pytest.approx(ref_py[name], abs=1e-12), (name, k)
            assert got[f"{name}@{k}"] == pytest.approx(ref_pyg[name], rel=1e-5, abs=1e-6), (name, k)
            assert ONE_METRIC[name](recommended, test, k) == pytest.approx(ref_py[name], abs=1e-12), (name, k)


@pytest.mark.parametrize("seed", [0, 1])
def test_readable_formulas_agree_with_the_batched_path_per_user(seed):
    """recall_at_k & co. (one user at a time, the lecture's formulas) equal ranking_metrics (batched) per user,
    with padding, a subset of users in any order and repeated test pairs."""
    train, test = random_split_data(seed)
    test = Interactions(test.num_users, test.num_items, torch.cat([test.user, test.user[:5]]),
                        torch.cat([test.item, test.item[:5]]), allow_duplicates=True)
    scores = torch.rand(train.num_users, train.num_items, generator=torch.Generator().manual_seed(seed))
    users = torch.randperm(train.num_users, generator=torch.Generator().manual_seed(seed + 9))[:25]
    recommended = recommend(scores, train.num_items - 1, exclude=train, users=users)  # lists padded with -1
    assert (recommended == -1).any()
    for k in (1, 7, train.num_items - 1):
        batched = ranking_metrics(recommended, test, k, users=users, reduction="none")
        for name, fn in ONE_METRIC.items():
            plain = fn(recommended, test, k, users=users, reduction="none")
            assert torch.allclose(plain, batched[f"{name}@{k}"], atol=1e-12, equal_nan=True), (name, k)
            assert fn(recommended, test, k, users=users) == pytest.approx(
                ranking_metrics(recommended, test, k, users=users)[f"{name}@{k}"], abs=1e-12)


def test_pyg_comparison_is_not_vacuous():
    """The random data above must give metrics strictly between 0 and 1, or agreement would prove little."""
    train, test = random_split_data(0)
    gen = torch.Generator().manual_seed(0)
    recommended = recommend((torch.randn(25, 8, generator=gen), torch.randn(40, 8, generator=gen)), 10,
                            exclude=train)
    got = ranking_metrics(recommended, test, 10)
    for name in ("recall", "precision", "ndcg"):
        assert 0 < got[f"{name}@10"] < 1


def test_recall_follows_the_lecture_definition_with_train_excluded():
    """Recall@K = |P_u ∩ R_u| / |P_u|, R_u without training items, averaged over users with a positive."""
    train, test = random_split_data(7)
    scores = torch.randn(train.num_users, train.num_items, generator=torch.Generator().manual_seed(7))
    k = 12
    train_sets, test_sets = items_by_user(train), items_by_user(test)
    expected = []
    for u in range(train.num_users):
        if not test_sets[u]:
            continue
        ranked = [i for i in sorted(range(train.num_items), key=lambda i: -scores[u, i].item())
                  if i not in train_sets[u]][:k]
        expected.append(len(test_sets[u] & set(ranked)) / len(test_sets[u]))
    got = recall_at_k(recommend(scores, k, exclude=train), test, k)
    assert got == pytest.approx(sum(expected) / len(expected), abs=1e-12)


# --------------------------------------------------------------------------- 2. hand-computed tiny cases
L2, L3 = 1.0 / math.log2(3), 1.0 / math.log2(4)  # discounts at ranks 2 and 3


@pytest.fixture
def tiny():
    """4 users, 5 items. User 2 has no positive; user 3 has more positives (4) than any cutoff."""
    test = Interactions(4, 5, [0, 0, 1, 3, 3, 3, 3], [1, 3, 0, 0, 1, 2, 4])
    recommended = torch.tensor([[3, 4, 1],
                                [2, 0, 4],
                                [0, 1, 2],
                                [3, 0, 1]])
    return recommended, test


# per user, per k: (recall, precision, ndcg, hit_rate), computed by hand
TINY_EXPECTED = {
    1: [(1 / 2, 1.0, 1.0, 1.0), (0.0, 0.0, 0.0, 0.0), None, (0.0, 0.0, 0.0, 0.0)],
    2: [(1 / 2, 1 / 2, 1 / (1 + L2), 1.0), (1.0, 1 / 2, L2 / 1, 1.0), None, (1 / 4, 1 / 2, L2 / (1 + L2), 1.0)],
    3: [(1.0, 2 / 3, (1 + L3) / (1 + L2), 1.0),  # |P_u| = 2 < k: ideal DCG has 2 terms
        (1.0, 1 / 3, L2 / 1, 1.0),  # |P_u| = 1
        None,
        (2 / 4, 2 / 3, (L2 + L3) / (1 + L2 + L3), 1.0)],  # |P_u| = 4 > k: ideal DCG has k terms
}


@pytest.mark.parametrize("k", [1, 2, 3])
def test_hand_computed_tiny_case(tiny, k):
    recommended, test = tiny
    per_user = ranking_metrics(recommended, test, k, reduction="none")
    means = ranking_metrics(recommended, test, k)
    assert means["users"] == 3
    for j, name in enumerate(METRIC_NAMES):
        values = per_user[f"{name}@{k}"]
        assert values.dtype == torch.float64 and values.shape == (4,)
        assert math.isnan(values[2])
        for u in (0, 1, 3):
            assert values[u].item() == pytest.approx(TINY_EXPECTED[k][u][j], abs=1e-12), (name, u)
        expected_mean = sum(TINY_EXPECTED[k][u][j] for u in (0, 1, 3)) / 3
        assert means[f"{name}@{k}"] == pytest.approx(expected_mean, abs=1e-12)
        assert ONE_METRIC[name](recommended, test, k) == pytest.approx(expected_mean, abs=1e-12)
        single = ONE_METRIC[name](recommended, test, k, reduction="none")
        assert torch.equal(single.isnan(), values.isnan())
        assert torch.allclose(single.nan_to_num(-1.0), values.nan_to_num(-1.0))


def test_hand_computed_agrees_with_pyg(tiny):
    recommended, test = tiny
    for k in (1, 2, 3):
        got = ranking_metrics(recommended, test, k)
        ref = pyg_metrics(recommended, test, k)
        for name in METRIC_NAMES:
            assert got[f"{name}@{k}"] == pytest.approx(ref[name], rel=1e-6)


def test_several_cutoffs_at_once_equal_one_at_a_time(tiny):
    recommended, test = tiny
    together = ranking_metrics(recommended, test, [3, 1, 2])
    assert set(together) == {f"{n}@{k}" for n in METRIC_NAMES for k in (1, 2, 3)} | {"users"}
    for k in (1, 2, 3):
        alone = ranking_metrics(recommended, test, k)
        for name in METRIC_NAMES:
            assert together[f"{name}@{k}"] == alone[f"{name}@{k}"]


def test_users_argument_maps_rows_to_users(tiny):
    recommended, test = tiny
    rows = torch.tensor([3, 0])  # evaluate users 3 and 0 only, in that order
    got = ranking_metrics(recommended[rows], test, 3, users=rows)
    assert got["users"] == 2
    assert got["recall@3"] == pytest.approx((2 / 4 + 1.0) / 2)
    per_user = ranking_metrics(recommended[rows], test, 3, users=[3, 0], reduction="none")["recall@3"]
    assert per_user[0].item() == pytest.approx(1.0) and per_user[3].item() == pytest.approx(0.5)
    assert per_user[1].isnan() and per_user[2].isnan()  # user 1 has a positive but was not evaluated


def test_positives_are_a_set_even_when_test_repeats_a_pair():
    """P_u is a set: a repeated (user, item) pair in test must not inflate |P_u|."""
    test = Interactions(2, 3, [0, 0, 1], [1, 1, 2], allow_duplicates=True)
    got = ranking_metrics(torch.tensor([[1], [2]]), test, 1)
    assert got["recall@1"] == pytest.approx(1.0)  # every positive of every user was found
    assert got["ndcg@1"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- 3. evaluate and scorer forms
def test_evaluate_equals_recommend_plus_ranking_metrics():
    train, test = random_split_data(3)
    emb = (torch.randn(25, 6, generator=torch.Generator().manual_seed(3)),
           torch.randn(40, 6, generator=torch.Generator().manual_seed(4)))
    ks = (5, 10)
    direct = ranking_metrics(recommend(emb, 10, exclude=train), test, ks)
    assert evaluate(emb, train, test, ks) == direct
    per_user = evaluate(emb, train, test, ks, reduction="none")
    direct_none = ranking_metrics(recommend(emb, 10, exclude=train), test, ks, reduction="none")
    assert per_user.keys() == direct_none.keys()
    for key in per_user:
        assert torch.equal(per_user[key].isnan(), direct_none[key].isnan())
        assert torch.equal(per_user[key].nan_to_num(-1.0), direct_none[key].nan_to_num(-1.0))


def test_all_scorer_forms_give_the_same_lists():
    """Integer-valued embeddings make every dot product exact (and tie a lot), so all forms must agree bit for bit."""
    train, test = random_split_data(5)
    gen = torch.Generator().manual_seed(5)
    user_emb = torch.randint(-2, 3, (25, 3), generator=gen).float()
    item_emb = torch.randint(-2, 3, (40, 3), generator=gen).float()
    dense = user_emb @ item_emb.T
    k = 15
    train_sets = items_by_user(train)
    expected = [py_topk(dense[u].tolist(), k, train_sets[u]) for u in range(25)]

    by_tuple = recommend((user_emb, item_emb), k, exclude=train)
    by_dense = recommend(dense, k, exclude=train)
    by_callable = recommend(lambda users: dense[users], k, exclude=train)
    assert by_tuple.tolist() == expected
    assert torch.equal(by_dense, by_tuple) and torch.equal(by_callable, by_tuple)
    assert by_tuple.dtype == torch.int64

    # 1-D shared scores (e.g. popularity) against the equivalent dense and rank-1 embedding forms
    shared = torch.randint(0, 5, (40,), generator=gen).float()
    by_shared = recommend(shared, k, exclude=train)
    assert torch.equal(by_shared, recommend(shared.expand(25, -1).clone(), k, exclude=train))
    assert torch.equal(by_shared, recommend((torch.ones(25, 1), shared[:, None]), k, exclude=train))
    assert by_shared.tolist() == [py_topk(shared.tolist(), k, train_sets[u]) for u in range(25)]

    # evaluate accepts every form and gives the same numbers
    ref = evaluate(dense, train, test, (5, 15))
    for scorer in ((user_emb, item_emb), lambda users: dense[users]):
        assert evaluate(scorer, train, test, (5, 15)) == ref


def test_callable_scorer_with_num_items_and_no_exclude():
    """The docstring: num_items is what a callable scorer needs when there is no ``exclude``."""
    scores = torch.randn(6, 9, generator=torch.Generator().manual_seed(0))
    users = torch.tensor([4, 0, 2])
    got = recommend(lambda b: scores[b], 3, num_items=9, users=users)
    assert got.tolist() == [py_topk(scores[u].tolist(), 3) for u in users.tolist()]


def test_callable_scorer_is_called_without_grad():
    seen = []

    def scorer(users):
        seen.append(torch.is_grad_enabled())
        return torch.zeros(users.numel(), 4, requires_grad=True) + users[:, None].float()

    train = Interactions(3, 4, [0], [1])
    recommend(scorer, 2, exclude=train)
    assert seen == [False]


@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_batch_size_does_not_change_results(batch_size):
    train, test = random_split_data(11)
    emb = (torch.randn(25, 4, generator=torch.Generator().manual_seed(1)),
           torch.randn(40, 4, generator=torch.Generator().manual_seed(2)))
    full = recommend(emb, 20, exclude=train, batch_size=1000)
    assert torch.equal(recommend(emb, 20, exclude=train, batch_size=batch_size), full)
    assert evaluate(emb, train, test, (5, 20), batch_size=batch_size) == ranking_metrics(full, test, (5, 20))


def test_recommend_users_subset_in_any_order():
    train, _ = random_split_data(2)
    scores = torch.randn(25, 40, generator=torch.Generator().manual_seed(2))
    everyone = recommend(scores, 8, exclude=train)
    users = [17, 3, 3, 0, 24]
    assert torch.equal(recommend(scores, 8, exclude=train, users=users, batch_size=2), everyone[users])
    assert torch.equal(recommend(scores, 8, exclude=train, users=np.array(users)), everyone[users])


# --------------------------------------------------------------------------- 4. documented edge cases
def test_ties_all_equal_scores_go_to_the_lowest_ids():
    scores = torch.zeros(3, 7)
    assert topk_from_scores(scores, 4).tolist() == [[0, 1, 2, 3]] * 3
    exclude = torch.zeros(3, 7, dtype=torch.bool)
    exclude[1, [0, 2]] = True
    exclude[2, [1, 2, 3, 4]] = True
    assert topk_from_scores(scores, 4, exclude=exclude).tolist() == [[0, 1, 2, 3], [1, 3, 4, 5], [0, 5, 6, -1]]
    train = Interactions(3, 7, [1, 1, 2, 2, 2, 2], [0, 2, 1, 2, 3, 4])
    assert recommend(torch.ones(7), 4, exclude=train).tolist() == [[0, 1, 2, 3], [1, 3, 4, 5], [0, 5, 6, -1]]


def test_ties_across_the_cut_and_inside_the_list():
    scores = torch.tensor([[0.5, 1.0, 0.5, 2.0, 0.5, 0.5],
                           [1.0, 3.0, 3.0, 0.0, 3.0, 1.0],
                           [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0]])
    assert topk_from_scores(scores, 1).tolist() == [[3], [1], [1]]
    assert topk_from_scores(scores, 2).tolist() == [[3, 1], [1, 2], [1, 2]]
    assert topk_from_scores(scores, 3).tolist() == [[3, 1, 0], [1, 2, 4], [1, 2, 3]]
    assert topk_from_scores(scores, 4).tolist() == [[3, 1, 0, 2], [1, 2, 4, 0], [1, 2, 3, 5]]
    assert topk_from_scores(scores, 6).tolist() == [[3, 1, 0, 2, 4, 5], [1, 2, 4, 0, 5, 3], [1, 2, 3, 5, 0, 4]]
    # tie order must not depend on the column order torch happens to see: reverse the columns
    flipped = topk_from_scores(scores.flip(1), 3)
    assert flipped.tolist() == [[2, 4, 0], [1, 3, 4], [0, 2, 3]]


@pytest.mark.parametrize("seed", range(4))
def test_topk_with_heavy_ties_matches_python_sort(seed):
    gen = torch.Generator().manual_seed(seed)
    scores = torch.randint(0, 4, (60, 30), generator=gen).double()
    exclude = torch.rand(60, 30, generator=gen) < 0.3
    exclude[0] = True  # a user with no candidate at all
    for k in (1, 3, 10, 25, 30):
        got = topk_from_scores(scores, k, exclude=exclude)
        expected = [py_topk(scores[u].tolist(), k, exclude[u].nonzero().flatten().tolist()) for u in range(60)]
        assert got.tolist() == expected, k


def test_k_larger_than_candidates_pads_with_minus_one():
    train = Interactions(2, 5, [0, 0, 0], [0, 1, 2])
    test = Interactions(2, 5, [0, 0, 1], [3, 4, 0])
    scores = torch.tensor([[5.0, 4.0, 3.0, 1.0, 2.0], [0.0, 1.0, 2.0, 3.0, 4.0]])
    rec = recommend(scores, 4, exclude=train)
    assert rec.tolist() == [[4, 3, -1, -1], [4, 3, 2, 1]]
    got = ranking_metrics(rec, test, 4, reduction="none")
    assert got["recall@4"].tolist() == [1.0, 0.0]
    assert got["precision@4"].tolist() == [2 / 4, 0.0]  # still divided by K, not by the 2 candidates
    assert got["hit_rate@4"].tolist() == [1.0, 0.0]
    assert got["ndcg@4"][0].item() == pytest.approx(1.0)


def test_padding_is_never_a_hit_even_when_item_zero_is_a_positive():
    test = Interactions(1, 5, [0, 0], [0, 3])
    rec = torch.tensor([[3, -1, -1]])
    got = ranking_metrics(rec, test, 3)
    assert got["recall@3"] == pytest.approx(0.5)
    assert got["precision@3"] == pytest.approx(1 / 3)
    assert got["ndcg@3"] == pytest.approx(1.0 / (1.0 + L2))
    assert g.metrics.hits_matrix(rec, test).tolist() == [[True, False, False]]


def test_k_larger_than_num_items_is_an_error():
    train = Interactions(2, 5, [0], [0])
    with pytest.raises(ValueError, match=r"k must be <= the number of items \(5\), got 6"):
        recommend(torch.zeros(2, 5), 6, exclude=train)
    with pytest.raises(ValueError, match="k must be <="):
        topk_from_scores(torch.zeros(2, 5), 6)
    with pytest.raises(ValueError, match="k must be <="):
        evaluate(torch.zeros(2, 5), train, Interactions(2, 5, [1], [1]), (2, 6))
    assert recommend(torch.zeros(2, 5), 5, exclude=train).shape == (2, 5)  # k == num_items is fine


def test_users_without_positives_are_nan_and_left_out_of_the_mean():
    test = Interactions(5, 6, [1, 1, 3], [0, 2, 5])
    rec = torch.tensor([[0, 1], [2, 3], [4, 5], [5, 0], [1, 2]])
    per_user = ranking_metrics(rec, test, 2, reduction="none")
    for name in METRIC_NAMES:
        assert per_user[f"{name}@2"].isnan().tolist() == [True, False, True, False, True]
    assert per_user["recall@2"][1].item() == pytest.approx(0.5)
    assert per_user["recall@2"][3].item() == pytest.approx(1.0)
    means = ranking_metrics(rec, test, 2)
    assert means["users"] == 2
    assert means["recall@2"] == pytest.approx(0.75)  # not 1.5 / 5
    assert means["precision@2"] == pytest.approx(0.5)
    assert "users" not in per_user


def test_excluding_training_items_matters():
    """Lecture 01: a model that scores the training items highest looks useless unless they are excluded."""
    train = Interactions(3, 6, [0, 0, 1, 1, 2, 2], [0, 1, 2, 3, 4, 5])
    test = Interactions(3, 6, [0, 1, 2], [2, 4, 0])
    train_mask = torch.zeros(3, 6)
    train_mask[train.user, train.item] = 1.0
    test_mask = torch.zeros(3, 6)
    test_mask[test.user, test.item] = 1.0
    scores = 10.0 * train_mask + test_mask
    rec_all = recommend(scores, 2)  # no exclusion: the train items fill the list
    assert rec_all.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert recall_at_k(rec_all, test, 2) == 0.0
    rec_excl = recommend(scores, 2, exclude=train)
    assert recall_at_k(rec_excl, test, 2) > 0
    assert recall_at_k(rec_excl, test, 2) == pytest.approx(1.0)
    assert evaluate(scores, train, test, 2)["recall@2"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- 5. bad input
@pytest.fixture
def small():
    train = Interactions(3, 5, [0, 1, 2], [0, 1, 2])
    test = Interactions(3, 5, [0, 1, 2], [3, 4, 0])
    return train, test, torch.randn(3, 5, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("bad_k", [0, -1])
def test_k_below_one(small, bad_k):
    train, test, scores = small
    rec = recommend(scores, 3, exclude=train)
    with pytest.raises(ValueError, match=r"k must be >= 1"):
        recommend(scores, bad_k, exclude=train)
    with pytest.raises(ValueError, match=r"k must be >= 1"):
        topk_from_scores(scores, bad_k)
    for fn in ONE_METRIC.values():
        with pytest.raises(ValueError, match=r"k must be >= 1"):
            fn(rec, test, bad_k)
    with pytest.raises(ValueError, match=r"k must be >= 1"):
        ranking_metrics(rec, test, [1, bad_k])
    with pytest.raises(ValueError, match=r"k must be >= 1"):
        evaluate(scores, train, test, bad_k)


@pytest.mark.parametrize("bad_k", [2.0, "3", True, None])
def test_k_not_an_int(small, bad_k):
    train, test, scores = small
    rec = recommend(scores, 3, exclude=train)
    with pytest.raises(TypeError, match=r"^k must be an int"):
        recommend(scores, bad_k, exclude=train)
    with pytest.raises(TypeError, match=r"^k must be an int"):
        recall_at_k(rec, test, bad_k)
    with pytest.raises(TypeError, match=r"^k must be an int"):
        ranking_metrics(rec, test, [bad_k])


def test_empty_list_of_cutoffs(small):
    train, test, scores = small
    with pytest.raises(ValueError, match=r"k must name at least one cutoff"):
        ranking_metrics(recommend(scores, 3, exclude=train), test, [])


def test_k_larger_than_the_lists(small):
    train, test, scores = small
    with pytest.raises(ValueError, match=r"k must be <= the length of the recommended lists \(2\)"):
        ranking_metrics(recommend(scores, 2, exclude=train), test, 3)


@pytest.mark.parametrize("bad, word", [(math.nan, "NaN"), (math.inf, "infinite"), (-math.inf, "infinite")])
def test_non_finite_scores(small, bad, word):
    train, _, scores = small
    scores = scores.clone()
    scores[1, 2] = bad
    with pytest.raises(ValueError, match=rf"^scorer contains {word}"):
        recommend(scores, 2, exclude=train)
    with pytest.raises(ValueError, match=rf"^scorer contains {word}"):
        recommend(scores[1], 2, exclude=train)
    with pytest.raises(ValueError, match=rf"^scores contains {word}"):
        recommend(lambda b: scores[b], 2, exclude=train)
    with pytest.raises(ValueError, match=rf"^scores contains {word}"):
        topk_from_scores(scores, 2)
    emb = torch.ones(3, 2)
    emb[0, 1] = bad
    with pytest.raises(ValueError, match=rf"^user_emb contains {word}"):
        recommend((emb, torch.ones(5, 2)), 2, exclude=train)
    with pytest.raises(ValueError, match=rf"^item_emb contains {word}"):
        recommend((torch.ones(5, 2)[:3], torch.cat([emb, torch.ones(2, 2)])), 2, exclude=train)


def test_scores_that_overflow_in_the_dot_product_are_rejected(small):
    train, _, _ = small
    with pytest.raises(ValueError, match=r"^scores contains infinite"):
        recommend((torch.full((3, 2), 1e30), torch.full((5, 2), 1e30)), 2, exclude=train)


def test_integer_scores_are_rejected(small):
    train, _, _ = small
    with pytest.raises(TypeError, match=r"^scorer must be a floating-point tensor"):
        recommend(torch.zeros(3, 5, dtype=torch.int64), 2, exclude=train)


def test_mismatched_shapes(small):
    train, test, scores = small
    with pytest.raises(ValueError, match=r"user_emb and item_emb must share the embedding size, got 4 and 3"):
        recommend((torch.randn(3, 4), torch.randn(5, 3)), 2, exclude=train)
    with pytest.raises(ValueError, match=r"scorer has 6 items but exclude has 5"):
        recommend(torch.randn(3, 6), 2, exclude=train)
    with pytest.raises(ValueError, match=r"scorer has 4 users but exclude has 3"):
        recommend(torch.randn(4, 5), 2, exclude=train)
    with pytest.raises(ValueError, match=r"scorer has 6 items but exclude has 5"):
        recommend(torch.randn(6), 2, exclude=train)
    with pytest.raises(ValueError, match=r"scorer has 7 items"):
        recommend((torch.randn(3, 2), torch.randn(7, 2)), 2, exclude=train)
    with pytest.raises(ValueError, match=r"^scorer returned shape \(3, 4\) for 3 users, expected \(3, 5\)"):
        recommend(lambda b: torch.zeros(b.numel(), 4), 2, exclude=train)
    with pytest.raises(ValueError, match=r"^scorer tuple must be \(user_emb, item_emb\)"):
        recommend((torch.randn(3, 2),), 2, exclude=train)
    with pytest.raises(ValueError, match=r"^user_emb must be 2-D"):
        recommend((torch.randn(3), torch.randn(5, 2)), 2, exclude=train)
    with pytest.raises(ValueError, match=r"^num_items is 4 but the scorer has 5 items"):
        recommend(scores, 2, exclude=train, num_items=4)
    with pytest.raises(ValueError, match=r"exclude.*num_items"):
        recommend(lambda b: scores[b], 2)
    with pytest.raises(ValueError, match=r"^train \(3 x 5\) and test \(3 x 6\) must share the id spaces"):
        evaluate(scores, train, Interactions(3, 6, [0], [5]), 2)
    with pytest.raises(ValueError, match=r"^train \(3 x 5\) and test \(4 x 5\) must share the id spaces"):
        evaluate(scores, train, Interactions(4, 5, [3], [4]), 2)
    with pytest.raises(ValueError, match=r"^exclude must be a bool tensor of shape \(3, 5\)"):
        topk_from_scores(scores, 2, exclude=torch.zeros(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"^exclude must be a bool tensor"):
        topk_from_scores(scores, 2, exclude=torch.zeros(3, 5))


def test_wrong_types(small):
    train, test, scores = small
    with pytest.raises(TypeError, match=r"^exclude must be Interactions or None"):
        recommend(scores, 2, exclude=torch.zeros(3, 5, dtype=torch.bool))
    with pytest.raises(TypeError, match=r"^scorer must be"):
        recommend("scores", 2, exclude=train)
    with pytest.raises(TypeError, match=r"^test must be Interactions"):
        ranking_metrics(torch.zeros(3, 2, dtype=torch.int64), {"user": [0]}, 2)
    with pytest.raises(TypeError, match=r"^recommended must hold item ids"):
        ranking_metrics(torch.zeros(3, 2), test, 2)
    with pytest.raises(ValueError, match=r"^recommended must be a 2-D"):
        ranking_metrics(torch.zeros(3, dtype=torch.int64), test, 1)
    with pytest.raises(ValueError, match=r"^reduction must be one of \['mean', 'none'\], got 'sum'"):
        ranking_metrics(recommend(scores, 2, exclude=train), test, 2, reduction="sum")
    with pytest.raises(ValueError, match=r"^batch_size must be >= 1, got 0"):
        recommend(scores, 2, exclude=train, batch_size=0)
    with pytest.raises(TypeError, match=r"^batch_size must be an int"):
        recommend(scores, 2, exclude=train, batch_size=2.5)


@pytest.mark.parametrize("bad_id", [5, 99, -2])
def test_out_of_range_ids_in_recommended(small, bad_id):
    _, test, _ = small
    rec = torch.tensor([[0, 1], [2, bad_id], [3, 4]])
    with pytest.raises(ValueError, match=r"^recommended holds ids outside -1\.\.4"):
        ranking_metrics(rec, test, 2)
    with pytest.raises(ValueError, match=r"^recommended holds ids outside"):
        recall_at_k(rec, test, 2)


def test_wrong_rows_or_users(small):
    train, test, scores = small
    rec = recommend(scores, 2, exclude=train)
    with pytest.raises(ValueError, match=r"^recommended has 2 rows but test has 3 users"):
        ranking_metrics(rec[:2], test, 2)
    with pytest.raises(ValueError, match=r"^users has 3 ids for 2 rows of recommended"):
        ranking_metrics(rec[:2], test, 2, users=[0, 1, 2])
    with pytest.raises(ValueError, match=r"^users has 1 ids for 2 rows"):
        precision_at_k(rec[:2], test, 2, users=[0])
    with pytest.raises(ValueError, match=r"^users holds id 3, out of range for size 3"):
        ranking_metrics(rec[:2], test, 2, users=[0, 3])
    with pytest.raises(ValueError, match=r"^users holds a negative id"):
        recommend(scores, 2, exclude=train, users=[0, -1])
    with pytest.raises(ValueError, match=r"^users holds id 3"):
        recommend(scores, 2, exclude=train, users=[3])


def test_empty_test_or_no_positive_among_the_users(small):
    train, test, scores = small
    empty = Interactions(3, 5, [], [])
    rec = recommend(scores, 2, exclude=train)
    with pytest.raises(ValueError, match=r"^test is empty"):
        ranking_metrics(rec, empty, 2)
    with pytest.raises(ValueError, match=r"^test is empty"):
        ndcg_at_k(rec, empty, 2)
    with pytest.raises(ValueError, match=r"^test is empty"):
        evaluate(scores, train, empty, 2)
    only_user_1 = Interactions(3, 5, [1], [3])
    with pytest.raises(ValueError, match=r"none of the evaluated users has a test positive"):
        ranking_metrics(rec[[0, 2]], only_user_1, 2, users=[0, 2])


# --------------------------------------------------------------------------- 6. bounded memory
def _recording_scorer(num_items, calls):
    row = torch.linspace(0.0, 1.0, num_items)  # distinct scores: no tie handling needed

    def scorer(users):
        calls.append(users.numel())
        return row.expand(users.numel(), -1)

    return scorer


def test_default_batch_keeps_one_score_block_near_4m_entries():
    num_items, num_users = 1_000_003, 7
    cap = 2**22 // num_items  # = 4 users per block
    train = Interactions(num_users, num_items, [0, 6], [num_items - 1, 0])
    calls = []
    rec = recommend(_recording_scorer(num_items, calls), 3, exclude=train)
    assert sum(calls) == num_users
    assert max(calls) <= cap
    assert len(calls) == math.ceil(num_users / cap)  # it did batch, with full blocks
    assert rec[0].tolist() == [num_items - 2, num_items - 3, num_items - 4]  # train item excluded
    assert rec[1].tolist() == [num_items - 1, num_items - 2, num_items - 3]


def test_small_catalogue_is_scored_in_one_block_and_explicit_batch_size_is_obeyed():
    calls = []
    train = Interactions(300, 50, [0], [0])
    recommend(_recording_scorer(50, calls), 5, exclude=train)
    assert calls == [300]
    calls.clear()
    recommend(_recording_scorer(50, calls), 5, exclude=train, batch_size=64, users=range(0, 300, 2))
    assert calls == [64, 64, 22]


# --------------------------------------------------------------------------- 7. MovieLens-100K
@pytest.mark.data
def test_most_popular_recall_on_ml100k_matches_references():
    data = g.load("ml-100k")
    train, test = g.random_split(data, 0.8, seed=0)
    k = 20
    popularity = g.most_popular(train)
    got = evaluate(popularity, train, test, k)

    # pure Python: one global ranking by (popularity desc, id asc), then skip each user's train items
    counts = [0] * train.num_items
    for i in train.item.tolist():
        counts[i] += 1
    order = sorted(range(train.num_items), key=lambda i: (-counts[i], i))
    train_sets, test_sets = items_by_user(train), items_by_user(test)
    lists = []
    for u in range(train.num_users):
        ranked = []
        for i in order:
            if i not in train_sets[u]:
                ranked.append(i)
                if len(ranked) == k:
                    break
        lists.append(ranked)
    evaluated = [u for u in range(train.num_users) if test_sets[u]]
    recall = sum(len(test_sets[u] & set(lists[u])) / len(test_sets[u]) for u in evaluated) / len(evaluated)

    assert got["users"] == len(evaluated)
    assert got["recall@20"] == pytest.approx(recall, abs=1e-12)
    assert 0.05 < recall < 0.5  # a sane, non-degenerate value for most-popular

    rec = recommend(popularity, k, exclude=train)
    assert rec.tolist() == lists
    ref = pyg_metrics(rec, test, k)
    for name in METRIC_NAMES:
        assert got[f"{name}@{k}"] == pytest.approx(ref[name], rel=1e-5)
