"""Lecture 01 (Recall@K) in FAST mode: its records against plain-Python recomputations, and its claims."""

import pytest
import torch
from reference import by_user, popularity_ranking, recall_reference

import gnnrec_lite as gl
from gnnrec_lite.datasets import cache
from lectures import assert_claims_hold, assert_exercises_not_attempted, execute

pytestmark = [pytest.mark.slow, pytest.mark.data]
STEM = "01_recall_at_k"


@pytest.fixture(scope="module")
def records():
    return execute(STEM)[1]


def test_claims_checked_in_fast_mode_hold():
    assert_claims_hold(STEM)


def test_the_exercises_are_stubs_reported_not_attempted_and_the_notebook_runs_to_the_end():
    assert_exercises_not_attempted(STEM)


def test_dataset_counts_from_the_raw_ratings_file(records):
    # GroupLens' u.data, one "user item rating timestamp" line per rating, read without the library's loader
    lines = (cache.data_home() / "ml-100k" / "u.data").read_text().splitlines()
    users = {line.split("\t")[0] for line in lines}
    items = {line.split("\t")[1] for line in lines}
    assert (records["users"], records["items"], records["interactions"]) == (len(users), len(items), len(lines))
    assert records["density"] == pytest.approx(len(lines) / (len(users) * len(items)))


def test_hand_example_by_set_arithmetic(records):
    # scores [.9,.1,.8,.7,.2,.3], item 0 seen, {2,4} future: the list is [2, 3] and finds one of two.
    ranked = sorted(range(6), key=lambda v: -[0.9, 0.1, 0.8, 0.7, 0.2, 0.3][v])
    top = [v for v in ranked if v != 0][:2]
    assert records["hand/recall@2"] == len({2, 4} & set(top)) / 2


def test_popularity_recall_matches_plain_python(records, split):
    train, test = split
    ranking = popularity_ranking(train)
    rows = {u: ranking for u in range(train.num_users)}
    seen, future = by_user(train), by_user(test)
    for key, k in (("popular/recall@10", 10), ("popular/recall@20", 20), ("popular/recall@50", 50)):
        assert records[key] == pytest.approx(recall_reference(rows, seen, future, k), abs=1e-12)
    assert records["popular/recall@20 (no exclusion)"] == pytest.approx(
        recall_reference(rows, seen, future, 20, exclude=False), abs=1e-12)


def test_seen_slots_count(records, split):
    train, _ = split
    top20 = popularity_ranking(train)[:20]
    seen = by_user(train)
    expected = sum(len(seen.get(u, set()) & set(top20)) for u in range(train.num_users)) / train.num_users
    assert records["popular/seen slots in top-20 (no exclusion)"] == pytest.approx(expected, rel=1e-6)


def test_share_of_top_items(records):
    deg = torch.bincount(gl.load("ml-100k").item, minlength=1682).sort(descending=True).values
    top = 1682 // 5  # the top 20% of the catalogue, rounded down
    assert records["share of ratings on top 20% items"] == pytest.approx(deg[:top].sum().item() / 100_000, abs=1e-12)
    assert records["pairs scored per second"] > 0
