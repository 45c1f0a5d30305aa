"""Lecture 03 (matrix factorization) in FAST mode: records against a rerun and plain-Python references; its claims."""

import numpy as np
import pytest
import torch
from reference import by_user, popularity_ranking, recall_reference

import gnnrec_lite as gl
from gnnrec_lite.models import build_model
from gnnrec_lite.train import train_bpr
from lectures import assert_claims_hold, execute

pytestmark = [pytest.mark.slow, pytest.mark.data]
STEM = "03_collaborative_filtering"


@pytest.fixture(scope="module")
def records():
    return execute(STEM)[1]


def test_claims_checked_in_fast_mode_hold():
    assert_claims_hold(STEM)


@pytest.fixture(scope="module")
def rerun(records, split):
    """The lecture's main model retrained here with its FAST settings, on one thread like the notebook."""
    train, test = split
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_model("mf", train, seed=0, embedding_dim=64)
        epochs = records["mf/epochs"]
        train_bpr(model, train, num_epochs=epochs, eval_every=max(1, epochs // 10), seed=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        return model()


def test_popularity_baseline_matches_plain_python(records, split):
    train, test = split
    rows = {u: popularity_ranking(train) for u in range(train.num_users)}
    assert records["popular/recall@20"] == pytest.approx(
        recall_reference(rows, by_user(train), by_user(test), 20), abs=1e-12)


def test_mf_recall_matches_a_rerun_ranked_in_plain_python(records, split, rerun):
    train, test = split
    user_z, item_z = (z.double().numpy() for z in rerun)
    scores = user_z @ item_z.T
    rows = {u: list(np.argsort(-scores[u], kind="stable")) for u in range(train.num_users)}
    expected = recall_reference(rows, by_user(train), by_user(test), 20)
    assert records["mf/recall@20"] == pytest.approx(expected, abs=2e-3)


def test_neighbours_are_the_cosine_nearest_titles(records, rerun):
    data = gl.load("ml-100k")
    item_z = rerun[1].double().numpy()
    unit = item_z / np.linalg.norm(item_z, axis=1, keepdims=True)
    star = data.item_names.index("Star Wars (1977)")
    sims = unit @ unit[star]
    sims[star] = -np.inf
    expected = [data.item_names[i] for i in np.argsort(-sims, kind="stable")[:10]]
    got = records["mf/neighbours of star wars"]
    assert len(got) == 10 and "Star Wars (1977)" not in got
    assert len(set(got) & set(expected)) >= 8  # a rerun may swap near-ties at the end of the list


def test_sweep_records_one_pair_per_size(records):
    assert records["sweep/dims"] == [4, 64]  # the FAST sweep
    assert len(records["sweep/train recall@20"]) == len(records["sweep/test recall@20"]) == 2
    assert all(0 < r < 1 for r in records["sweep/train recall@20"] + records["sweep/test recall@20"])


def test_genre_agreement_against_numpy(records, split, rerun):
    train, _ = split
    data = gl.load("ml-100k")
    genres = ["Children's", "Horror", "Documentary", "Film-Noir", "Western"]
    hits = data.item_features[:, [data.item_feature_names.index(g) for g in genres]].numpy()
    keep = (hits.sum(1) == 1) & (train.item_degree().numpy() >= 20)
    labels = hits[keep].argmax(1)
    shares = np.bincount(labels) / len(labels)
    assert records["genre 5-nn agreement/chance"] == pytest.approx(float((shares ** 2).sum()), abs=1e-12)

    def agreement(z):
        unit = z / np.linalg.norm(z, axis=1, keepdims=True)
        sims = unit @ unit.T
        np.fill_diagonal(sims, -2)
        neighbours = np.argsort(-sims, axis=1, kind="stable")[:, :5]
        return float((labels[neighbours] == labels[:, None]).mean())

    assert records["genre 5-nn agreement/trained"] == pytest.approx(agreement(rerun[1].double().numpy()[keep]),
                                                                    abs=0.02)
    with torch.no_grad():  # the random start: the same seed's initial item table, before any training
        start = build_model("mf", train, seed=0, embedding_dim=64)()[1].double().numpy()[keep]
    assert records["genre 5-nn agreement/epoch 0"] == pytest.approx(agreement(start), abs=1e-6)
