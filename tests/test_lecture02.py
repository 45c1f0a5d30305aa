"""Lecture 02 (binary loss vs BPR) in FAST mode: its records against the formulas evaluated by hand."""

import math

import numpy as np
import pytest
import torch

import gnnrec_lite as gl
from lectures import execute

pytestmark = [pytest.mark.slow]


def sp(x):  # softplus(x) = -log(sigmoid(-x))
    return math.log1p(math.exp(x))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


@pytest.fixture(scope="module")
def records():
    return execute("02_losses_bpr")[1]


# The lecture's case: u0 likes v0, u1 likes v1; scores [[1, -1], [2, 3]].
POS = {(0, 0): 1.0, (1, 1): 3.0}
NEG = {(0, 1): -1.0, (1, 0): 2.0}


def test_counterexample_recall_and_losses(records):
    binary = sum(sp(-s) for s in POS.values()) / 2 + sum(sp(s) for s in NEG.values()) / 2
    bpr = (sp(-(1.0 - -1.0)) + sp(-(3.0 - 2.0))) / 2
    assert records["toy/recall@1"] == 1.0
    assert records["toy/binary loss"] == pytest.approx(binary, rel=1e-6)
    assert records["toy/bpr loss"] == pytest.approx(bpr, rel=1e-6)


def test_binary_gradient_norm_by_hand(records):
    # d/ds softplus(-s) / |E| = -sigmoid(-s) / 2 for positives, d/ds softplus(s) / |E_neg| = sigmoid(s) / 2.
    grads = [-sigmoid(-s) / 2 for s in POS.values()] + [sigmoid(s) / 2 for s in NEG.values()]
    assert records["toy/binary grad norm"] == pytest.approx(math.sqrt(sum(g * g for g in grads)), rel=1e-5)


def test_shift_deltas(records):
    c = records["shift/c"]
    before = sum(sp(-s) for s in POS.values()) / 2 + sum(sp(s) for s in NEG.values()) / 2
    after = (sp(-(1.0 + c)) + sp(-3.0)) / 2 + (sp(-1.0 + c) + sp(2.0)) / 2  # u0's two scores move by c
    assert records["shift/binary delta"] == pytest.approx(after - before, rel=1e-5)
    assert abs(records["shift/bpr delta"]) < 1e-6
    assert abs(records["shift/binary delta"]) > 0.1


def test_minibatch_estimate_is_close_to_full_bpr(records):
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
    full = float(np.mean(per_user))
    assert records["minibatch/full bpr"] == pytest.approx(full, rel=1e-5)
    assert abs(records["minibatch/mean estimate"] - full) < 4 * records["minibatch/standard error"]
