"""Lecture 02 (binary loss vs BPR) in FAST mode: its records against the formulas evaluated by hand, and its claims."""

import math

import numpy as np
import pytest
import torch

import gnnrec_lite as gl
from lectures import assert_claims_hold, assert_exercises_not_attempted, execute

pytestmark = [pytest.mark.slow]
STEM = "02_losses_bpr"


def sp(x):  # softplus(x) = -log(sigmoid(-x))
    return math.log1p(math.exp(x))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


@pytest.fixture(scope="module")
def records():
    return execute(STEM)[1]


# The lecture's case: u0 likes v0, u1 likes v1; scores [[1, -1], [2, 3]].
POS = {(0, 0): 1.0, (1, 1): 3.0}
NEG = {(0, 1): -1.0, (1, 0): 2.0}


def binary_by_hand(pos, neg):
    return sum(sp(-s) for s in pos.values()) / len(pos) + sum(sp(s) for s in neg.values()) / len(neg)


def bpr_by_hand(pos, neg):
    return sum(sp(-(pos[(u, u)] - neg[(u, 1 - u)])) for u in (0, 1)) / 2   # one positive, one negative per user


def test_claims_checked_in_fast_mode_hold():
    assert_claims_hold(STEM)


def test_the_exercises_are_stubs_reported_not_attempted_and_the_notebook_runs_to_the_end():
    assert_exercises_not_attempted(STEM)


def test_counterexample_recall_and_losses(records):
    scores = {**POS, **NEG}
    top1 = {u: max((0, 1), key=lambda v: scores[(u, v)]) for u in (0, 1)}
    assert records["toy/recall@1"] == sum(top1[u] == u for u in (0, 1)) / 2
    assert records["toy/binary loss"] == pytest.approx(binary_by_hand(POS, NEG), rel=1e-6)
    assert records["toy/bpr loss"] == pytest.approx(bpr_by_hand(POS, NEG), rel=1e-6)


def test_binary_gradient_norm_by_hand(records):
    # d/ds softplus(-s) / |E| = -sigmoid(-s) / 2 for positives, d/ds softplus(s) / |E_neg| = sigmoid(s) / 2.
    grads = [-sigmoid(-s) / 2 for s in POS.values()] + [sigmoid(s) / 2 for s in NEG.values()]
    assert records["toy/binary grad norm"] == pytest.approx(math.sqrt(sum(g * g for g in grads)), rel=1e-5)


def test_shift_deltas(records):
    c = records["shift/c"]
    shifted_pos = {**POS, (0, 0): POS[(0, 0)] + c}      # u0's two scores move by c
    shifted_neg = {**NEG, (0, 1): NEG[(0, 1)] + c}
    assert records["shift/binary delta"] == pytest.approx(
        binary_by_hand(shifted_pos, shifted_neg) - binary_by_hand(POS, NEG), rel=1e-5)
    assert records["shift/bpr delta"] == pytest.approx(
        bpr_by_hand(shifted_pos, shifted_neg) - bpr_by_hand(POS, NEG), abs=1e-6)


def test_minibatch_full_bpr_by_explicit_loops(records):
    # Rebuild the lecture's synthetic data and random embeddings; full BPR by explicit loops over pairs.
    small = gl.synthetic(num_users=40, num_items=60, num_interactions=400, seed=0)
    gen = torch.Generator().manual_seed(0)
    u_emb = torch.randn(small.num_users, 8, generator=gen).double().numpy()
    i_emb = torch.randn(small.num_items, 8, generator=gen).double().numpy()
    scores = u_emb @ i_emb.T
    pos = {}
    for u, i in zip(small.user.tolist(), small.item.tolist()):
        pos.setdefault(u, set()).add(i)
    per_user = []
    for u, items in pos.items():
        negs = [j for j in range(small.num_items) if j not in items]
        per_user.append(np.mean([np.logaddexp(0, -(scores[u, p] - scores[u, n])) for p in items for n in negs]))
    assert records["minibatch/full bpr"] == pytest.approx(float(np.mean(per_user)), rel=1e-5)
