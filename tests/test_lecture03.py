"""Lecture 03 (the training loop, MF, item-kNN) in FAST mode: records against reruns and plain references; its claims;
its exercises left as stubs."""

import numpy as np
import pytest
import torch
from reference import by_user, popularity_ranking, recall_reference

import gnnrec_lite as gl
from gnnrec_lite.models import build_model
from gnnrec_lite.train import train_bpr
from lectures import assert_claims_hold, assert_exercises_not_attempted, execute

pytestmark = [pytest.mark.slow, pytest.mark.data]
STEM = "03_collaborative_filtering"
FAST_EPOCHS, FAST_EVAL_EVERY, PATIENCE = 8, 2, 3  # what the lecture's setup cell sets when FAST


@pytest.fixture(scope="module")
def records():
    return execute(STEM)[1]


@pytest.fixture(scope="module")
def splits(split):
    train, test = split
    fit, val = gl.random_split(train, 0.9, seed=1)  # the lecture's validation split (SEED + 1)
    return train, test, fit, val


def test_claims_checked_in_fast_mode_hold():
    assert_claims_hold(STEM)


def test_the_exercises_are_stubs_reported_not_attempted_and_the_notebook_runs_to_the_end():
    assert_exercises_not_attempted(STEM)


@pytest.fixture(scope="module")
def rerun(records, splits):
    """The lecture's train_bpr run redone here (FAST settings, one thread like the notebook): the model."""
    train, test, fit, val = splits
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_model("mf", fit, seed=0, embedding_dim=64)
        history = train_bpr(model, fit, val=val, num_epochs=FAST_EPOCHS, eval_every=FAST_EVAL_EVERY,
                            patience=PATIENCE, seed=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert history.best_epoch == records["mf/best epoch"]
    return model


def test_the_loop_from_scratch_and_train_bpr_record_the_same_run(records):
    assert records["scratch/best epoch"] == records["mf/best epoch"]
    assert records["scratch/test recall@20"] == records["mf/recall@20"]
    assert 1 <= records["mf/best epoch"] <= records["mf/epochs"] <= FAST_EPOCHS


def test_mf_recall_matches_a_rerun_ranked_in_plain_python(records, splits, rerun):
    train, test, _, _ = splits
    with torch.no_grad():
        user_z, item_z = (z.double().numpy() for z in rerun())
    scores = user_z @ item_z.T
    rows = {u: list(np.argsort(-scores[u], kind="stable")) for u in range(train.num_users)}
    assert records["mf/recall@20"] == pytest.approx(recall_reference(rows, by_user(train), by_user(test), 20),
                                                    abs=2e-3)


def test_popularity_baseline_from_fit_matches_plain_python(records, splits):
    train, test, fit, _ = splits
    rows = {u: popularity_ranking(fit) for u in range(train.num_users)}
    assert records["popular/recall@20"] == pytest.approx(
        recall_reference(rows, by_user(train), by_user(test), 20), abs=1e-12)


def itemknn_rows(fit, num_neighbors: int = 100) -> dict:
    """Item-kNN in numpy: cosine of the items' user columns, top-k per item (ties to the lower id), then sums."""
    r = np.zeros((fit.num_users, fit.num_items))
    r[fit.user.numpy(), fit.item.numpy()] = 1.0
    common = r.T @ r
    deg = np.diag(common).copy()
    sims = common / np.sqrt(np.maximum(np.outer(deg, deg), 1e-12))
    np.fill_diagonal(sims, 0.0)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :num_neighbors]
    kept = np.zeros_like(sims)
    np.put_along_axis(kept, order, np.take_along_axis(sims, order, axis=1), axis=1)
    scores = r @ kept.T  # score(u, i) = sum over the user's items j of s_ij, j among i's kept neighbours
    return {u: list(np.argsort(-scores[u], kind="stable")) for u in range(fit.num_users)}


def test_itemknn_recall_matches_numpy(records, splits):
    train, test, fit, _ = splits
    expected = recall_reference(itemknn_rows(fit), by_user(train), by_user(test), 20)
    assert records["itemknn/recall@20"] == pytest.approx(expected, abs=2e-3)  # float32 near-ties may swap


def test_picker_hits_by_plain_python(records, splits, rerun):
    train, test, fit, _ = splits
    user = records["picker/users"][0]
    assert 20 <= int((train.user == user).sum()) <= 80
    seen, held_out = by_user(train).get(user, set()), by_user(test).get(user, set())

    def hits(ranking):
        return len(held_out & set([i for i in ranking if i not in seen][:10]))

    with torch.no_grad():
        user_z, item_z = rerun()
    mf_ranking = list(np.argsort(-(item_z @ user_z[user]).double().numpy(), kind="stable"))
    got = records["picker/hits"]
    assert got["most popular: held-out hits in top 10"] == hits(popularity_ranking(fit))
    assert got["item-kNN: held-out hits in top 10"] == hits(itemknn_rows(fit)[user])
    assert got["MF: held-out hits in top 10"] == hits(mf_ranking)


def test_neighbours_are_the_cosine_nearest_titles(records, rerun):
    data = gl.load("ml-100k")
    with torch.no_grad():
        item_z = rerun()[1].double().numpy()
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
    assert len(records["sweep/train recall@20"]) == len(records["sweep/val recall@20"]) == 2
    assert all(0 < r < 1 for r in records["sweep/train recall@20"] + records["sweep/val recall@20"])


def test_genre_agreement_against_numpy(records, splits, rerun):
    _, _, fit, _ = splits
    data = gl.load("ml-100k")
    genres = ["Children's", "Horror", "Documentary", "Film-Noir", "Western"]
    hits = data.item_features[:, [data.item_feature_names.index(g) for g in genres]].numpy()
    keep = (hits.sum(1) == 1) & (fit.item_degree().numpy() >= 20)
    labels = hits[keep].argmax(1)
    shares = np.bincount(labels) / len(labels)
    assert records["genre 5-nn agreement/chance"] == pytest.approx(float((shares ** 2).sum()), abs=1e-12)

    def agreement(z):
        unit = z / np.linalg.norm(z, axis=1, keepdims=True)
        sims = unit @ unit.T
        np.fill_diagonal(sims, -2)
        neighbours = np.argsort(-sims, axis=1, kind="stable")[:, :5]
        return float((labels[neighbours] == labels[:, None]).mean())

    with torch.no_grad():
        trained = rerun()[1].double().numpy()[keep]
        start = build_model("mf", fit, seed=0, embedding_dim=64)()[1].double().numpy()[keep]  # the random start
    assert records["genre 5-nn agreement/trained"] == pytest.approx(agreement(trained), abs=0.02)
    assert records["genre 5-nn agreement/epoch 0"] == pytest.approx(agreement(start), abs=1e-6)
