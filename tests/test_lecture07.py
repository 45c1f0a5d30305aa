"""Lecture 07 (negatives) run in FAST mode; its records checked against independent computations, and its claims."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from reference import spearman

import gnnrec_lite as gl
from gnnrec_lite.item2item import prepare_item2item
from gnnrec_lite.negatives import DEFAULT_HARD_WINDOW
from gnnrec_lite.train import TrainConfig
from gnnrec_lite.walks import visit_counts
from lectures import assert_claims_hold, assert_exercises_not_attempted, execute, notebook_parameters

pytestmark = [pytest.mark.slow, pytest.mark.data]
STEM = "07_negatives"


P = notebook_parameters(STEM)
FAST_EPOCHS = min(P["EPOCHS"], 2)            # what the lecture's FAST cell sets
FAST_HARD = min(P["NUM_HARD"], FAST_EPOCHS - 1)


@pytest.fixture(scope="module")
def records():
    return execute(STEM)[1]


def test_claims_checked_in_fast_mode_hold():
    assert_claims_hold(STEM)


def test_the_notebook_runs_to_the_end_with_every_exercise_not_attempted():
    assert_exercises_not_attempted(STEM)


def test_the_full_run_keeps_the_curriculum_below_its_cap_until_the_last_epoch():
    assert P["NUM_HARD"] == P["EPOCHS"] - 1 and P["COUNT_BATCH"] < 943


def test_negative_embeddings_counted_by_the_trainer(records, split):
    train, _ = split
    b, m = records["negatives/batch size"], records["negatives/num negatives"]
    assert b == P["COUNT_BATCH"] < train.num_users
    steps = math.ceil(len(train) / b)
    assert records["negatives/per-user embeddings per epoch"] == steps * b * m   # |U_mini| |V_neg| per batch
    assert records["negatives/shared embeddings per epoch"] == steps * m         # |V_neg| per batch
    assert records["negatives/saving"] == b
    assert 1 <= records["negatives/distinct users in a batch"] <= b
    # drawn with replacement from the users with interactions: the expected number of distinct users
    users = int((train.user_degree() > 0).sum())
    assert records["negatives/distinct users in a batch"] == pytest.approx(users * (1 - (1 - 1 / users) ** b), rel=0.1)
    assert 0 < records["negatives/clash share"] < 0.2


def test_pinsage_item_slots_per_batch():
    pairs = len(prepare_item2item(gl.load("ml-100k"), seed=P["SEED"])["train_pairs"])
    sizes = [min(256, pairs - lo) for lo in range(0, pairs, 256)]          # train_pinsage's default batch of pairs
    records = execute(STEM)[1]
    slots = records["pinsage/slots per batch"]
    assert slots["shared"] == pytest.approx(np.mean([2 * b + 128 for b in sizes]))       # M shared per batch
    assert slots["per_pair"] == pytest.approx(np.mean([2 * b + 128 * b for b in sizes]))  # M per pair
    movies, computed = records["pinsage/movies per batch"], records["pinsage/computed per batch"]
    assert movies["shared"] < movies["per_pair"] <= 1682
    assert movies["shared"] <= computed["shared"] < computed["per_pair"]


def test_curriculum_schedule_and_its_negative_embeddings(records, split):
    train, _ = split
    b = TrainConfig().batch_size
    steps = math.ceil(len(train) / b)
    schedule = records["curriculum/schedule"]
    assert schedule == [min(FAST_HARD, n - 1) for n in range(1, FAST_EPOCHS + 1)]   # n - 1 hard at epoch n
    assert records["curriculum/negative embeddings by epoch"] == [
        steps * P["NUM_SHARED"] + steps * b * h for h in schedule]


def test_monte_carlo_walks_agree_with_exact_ppr_by_linear_algebra(records, split):
    train, _ = split
    users = torch.tensor(records["ppr/users"])
    alpha = 0.5
    r = np.zeros((train.num_users, train.num_items))
    r[train.user.numpy(), train.item.numpy()] = 1.0
    p_ui = r / r.sum(1, keepdims=True)
    p_iu = (r / np.maximum(r.sum(0, keepdims=True), 1)).T
    # pi = alpha e + (1 - alpha) pi P_UI P_IU  <=>  pi (I - (1 - alpha) P_UI P_IU) = alpha e
    system = np.eye(train.num_users) - (1 - alpha) * p_ui @ p_iu
    restart = np.zeros((len(users), train.num_users))
    restart[np.arange(len(users)), users.numpy()] = alpha
    exact = np.linalg.solve(system.T, restart.T).T @ p_ui        # expected visit share per item, (S, I)
    np.testing.assert_allclose(exact.sum(1), 1.0, atol=1e-9)
    rho, top = [], []
    for w in records["ppr/num walks"]:
        mc = visit_counts(train, users, num_walks=w, num_hops=20, restart_prob=alpha, seed=P["SEED"]).numpy()
        rho.append(np.mean([spearman(mc[i], exact[i]) for i in range(len(users))]))
        top.append(np.mean([len(set(np.argsort(-mc[i], kind="stable")[:100])
                                 & set(np.argsort(-exact[i], kind="stable")[:100])) / 100 for i in range(len(users))]))
    assert records["ppr/spearman by walks"] == pytest.approx(rho, abs=1e-4)
    assert records["ppr/top-100 overlap by walks"] == pytest.approx(top, abs=0.02)  # top-100 ties may split otherwise
    assert 0 < records["ppr/hard pool overlap"] <= 1


def test_where_held_out_items_fall_in_the_walk_ranking(records, split):
    train, test = split
    users = torch.unique(test.user)
    counts = visit_counts(train, users, seed=P["SEED"]).numpy().astype(float)
    row = {int(u): i for i, u in enumerate(users)}
    owned = np.zeros_like(counts, dtype=bool)
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        if u in row:
            owned[row[u], i] = True
    counts[owned] = -1.0
    cand = (~owned).sum(1)
    top = window = 0
    for u, i in zip(test.user.tolist(), test.item.tolist()):
        c = counts[row[u]]
        rank = int((c > c[i]).sum() + (c[:i] == c[i]).sum())     # more visits first, ties to the lower item id
        lo = math.floor(DEFAULT_HARD_WINDOW[0] * cand[row[u]])
        hi = max(math.ceil(DEFAULT_HARD_WINDOW[1] * cand[row[u]]), lo + 1)
        top += rank < lo
        window += lo <= rank < hi
    assert records["users/test positives in top 5%"] == pytest.approx(top / len(test), abs=1e-12)
    assert records["users/test positives in window"] == pytest.approx(window / len(test), abs=1e-12)
    assert records["users/false negative rate hard"] > 0 and records["users/false negative rate uniform"] > 0


def test_movie_rankings_shares(records):
    for key in ("movies/genre share top", "movies/genre share hard", "movies/genre share easy",
                "movies/related in top 5%"):
        assert 0 <= records[key] <= 1


def test_random_sphere_distances_follow_q_of_d(records):
    d = 64
    x = np.linspace(1e-6, 2 - 1e-6, 200_001)
    log_q = (d - 2) * np.log(x) + (d - 3) / 2 * np.log(1 - x ** 2 / 4)
    q = np.exp(log_q - log_q.max())
    q /= np.trapezoid(q, x)
    mean = np.trapezoid(x * q, x)
    std = math.sqrt(np.trapezoid((x - mean) ** 2 * q, x))
    assert records["distance/random mean"] == pytest.approx(mean, abs=0.003)
    assert records["distance/random std"] == pytest.approx(std, abs=0.003)
    band, low = records["distance/share in [0.5, 1.4)"], records["distance/share below 0.5"]
    assert set(band) == set(low) == {"uniform", "sphere", "empirical"}
    assert all(0 <= band[k] <= 1 and 0 <= low[k] <= 1 - band[k] + 1e-12 for k in band)


def test_trained_runs_are_sane(records, split):
    train, test = split
    users = torch.unique(test.user)
    random_recall = float((20 / (train.num_items - train.user_degree()[users].double())).mean())
    schemes = {"shared", "hard", "curriculum"}
    assert set(records["curriculum/recall@20"]) == set(records["curriculum/recall@20 by seed"]) == schemes
    assert all(len(v) == 1 for v in records["curriculum/recall@20 by seed"].values())   # one seed in FAST mode
    assert records["curriculum/seed noise"] == 0.0
    assert all(5 * random_recall < v <= 1 for v in records["curriculum/recall@20"].values())
    assert set(records["hardness/easy pair accuracy"]) == set(records["hardness/hard pair accuracy"]) == schemes
    assert all(0 < v < 1 for v in [*records["hardness/easy pair accuracy"].values(),
                                   *records["hardness/hard pair accuracy"].values()])
    assert 5 * random_recall < records["uniform/recall@20"] <= 1
    assert records["shared/recall@20"] == records["curriculum/recall@20"]["shared"]
