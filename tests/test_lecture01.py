"""Lecture 01 (Recall@K) in FAST mode: its records against plain-Python recomputations."""

import pytest
import torch
from reference import by_user, popularity_ranking, recall_reference

import gnnrec_lite as gl
from lectures import execute

pytestmark = [pytest.mark.slow, pytest.mark.data]


@pytest.fixture(scope="module")
def records():
    return execute("01_recall_at_k")[1]


def test_dataset_counts_are_movielens_100k(records):
    # GroupLens' README for ML-100K: 100,000 ratings by 943 users on 1,682 movies.
    assert (records["users"], records["items"], records["interactions"]) == (943, 1682, 100_000)
    assert records["density"] == pytest.approx(100_000 / (943 * 1682))


def test_hand_example_is_one_half(records):
    # scores [.9,.1,.8,.7,.2,.3], item 0 seen, {2,4} future: the list is [2, 3] and finds one of two.
    assert records["hand/recall@2"] == 0.5


def test_popularity_recall_matches_plain_python(records, split):
    train, test = split
    ranking = popularity_ranking(train)
    rows = {u: ranking for u in range(train.num_users)}
    seen, future = by_user(train), by_user(test)
    for k in (10, 20, 50):
        assert records[f"popular/recall@{k}"] == pytest.approx(recall_reference(rows, seen, future, k), abs=1e-12)
    assert records["popular/recall@20 (no exclusion)"] == pytest.approx(
        recall_reference(rows, seen, future, 20, exclude=False), abs=1e-12)


def test_seen_slots_count(records, split):
    train, _ = split
    top20 = popularity_ranking(train)[:20]
    seen = by_user(train)
    expected = sum(len(seen.get(u, set()) & set(top20)) for u in range(train.num_users)) / train.num_users
    assert records["popular/seen slots in top-20 (no exclusion)"] == pytest.approx(expected, rel=1e-6)


def test_lecture_claims_hold(records):
    assert records["popular/recall@20"] > records["popular/recall@20 (no exclusion)"]
    assert records["popular/recall@10"] < records["popular/recall@20"] < records["popular/recall@50"]
    assert records["pairs scored per second"] > 0


def test_share_of_top_items(records, split):
    deg = torch.bincount(gl.load("ml-100k").item, minlength=1682).sort(descending=True).values
    top = 1682 // 5  # the top 20% of the catalogue, rounded down
    assert records["share of ratings on top 20% items"] == pytest.approx(deg[:top].sum().item() / 100_000, abs=1e-12)
