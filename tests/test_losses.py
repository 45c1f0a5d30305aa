"""Tests of gnnrec_lite.losses: the binary loss and BPR, mini-batch and full forms.

References: values computed by hand with ``math.exp``/``math.log``, explicit
double loops written here, and torch.autograd on those loops.
"""

from __future__ import annotations

import math

import pytest
import torch

import gnnrec_lite as g
from gnnrec_lite import Interactions, binary_loss, binary_loss_full, bpr_loss, bpr_loss_full, recall_at_k, recommend


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def neg_log_sigmoid(x: float) -> float:
    """-log sigma(x) in float64, written so it stays finite for any x (reference for large scores)."""
    return max(-x, 0.0) + math.log1p(math.exp(-abs(x)))


# --------------------------------------------------------------------------- explicit references
def ref_binary_full(scores, mask):
    """Double loop over all (u, i): observed pairs positive, the rest negative. Works on tensors (autograd)."""
    pos_terms, neg_terms = [], []
    for u in range(scores.shape[0]):
        for i in range(scores.shape[1]):
            if mask[u][i]:
                pos_terms.append(-torch.log(torch.sigmoid(scores[u, i])))
            else:
                neg_terms.append(-torch.log(torch.sigmoid(-scores[u, i])))  # -log(1 - sigma(s)), float64-safe
    return sum(pos_terms) / len(pos_terms) + sum(neg_terms) / len(neg_terms)


def ref_bpr_full(scores, mask):
    """Per user, every positive against every negative; mean over pairs, then over users that have pairs."""
    per_user = []
    for u in range(scores.shape[0]):
        pos = [i for i in range(scores.shape[1]) if mask[u][i]]
        neg = [i for i in range(scores.shape[1]) if not mask[u][i]]
        if not pos or not neg:
            continue
        pairs = [-torch.log(torch.sigmoid(scores[u, p] - scores[u, n])) for p in pos for n in neg]
        per_user.append(sum(pairs) / len(pairs))
    return sum(per_user) / len(per_user)


@pytest.fixture
def random_case():
    """5 users x 7 items; user 3 has every item positive, user 4 none (both have no BPR pair)."""
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(5, 7, generator=gen, dtype=torch.float64) * 2
    mask = torch.rand(5, 7, generator=gen) < 0.4
    mask[0, :2] = torch.tensor([True, False])  # make sure users 0-2 have both kinds
    mask[1, :2] = torch.tensor([True, False])
    mask[2, :2] = torch.tensor([True, False])
    mask[3] = True
    mask[4] = False
    return scores, mask


# --------------------------------------------------------------------------- 1. hand-computed values
def test_binary_loss_by_hand():
    pos, neg = [1.0, -2.0], [0.5, 3.0, -1.0]
    expected = (sum(-math.log(sigmoid(x)) for x in pos) / 2
                + sum(-math.log(1 - sigmoid(x)) for x in neg) / 3)
    got = binary_loss(torch.tensor(pos, dtype=torch.float64), torch.tensor(neg, dtype=torch.float64))
    assert got.dim() == 0
    assert got.item() == pytest.approx(expected, rel=1e-12)
    # any shape is flattened
    got2 = binary_loss(torch.tensor([pos], dtype=torch.float64), torch.tensor(neg, dtype=torch.float64).view(3, 1))
    assert got2.item() == pytest.approx(expected, rel=1e-12)
    # float32 too
    assert binary_loss(torch.tensor(pos), torch.tensor(neg)).item() == pytest.approx(expected, rel=1e-6)


def test_binary_loss_means_positives_and_negatives_separately():
    """Each side is averaged on its own: repeating the negatives must not change the loss."""
    pos, neg = torch.tensor([0.3]), torch.tensor([-0.2, 1.5])
    assert binary_loss(pos, neg).item() == pytest.approx(binary_loss(pos, neg.repeat(5)).item(), rel=1e-6)
    expected = -math.log(sigmoid(0.3)) + (-math.log(1 - sigmoid(-0.2)) - math.log(1 - sigmoid(1.5))) / 2
    assert binary_loss(pos, neg).item() == pytest.approx(expected, rel=1e-6)


def test_bpr_loss_by_hand():
    pos = [2.0, 0.0]
    neg = [[1.0, 3.0], [-1.0, 0.5]]
    expected = sum(sum(-math.log(sigmoid(pos[b] - n)) for n in neg[b]) / 2 for b in range(2)) / 2
    got = bpr_loss(torch.tensor(pos, dtype=torch.float64), torch.tensor(neg, dtype=torch.float64))
    assert got.dim() == 0
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_bpr_loss_one_negative_per_user_as_a_vector():
    pos, neg = [0.7, -0.3, 1.2], [0.1, 0.4, 2.0]
    expected = sum(-math.log(sigmoid(p - n)) for p, n in zip(pos, neg)) / 3
    got = bpr_loss(torch.tensor(pos, dtype=torch.float64), torch.tensor(neg, dtype=torch.float64))
    assert got.item() == pytest.approx(expected, rel=1e-12)
    same = bpr_loss(torch.tensor(pos, dtype=torch.float64), torch.tensor(neg, dtype=torch.float64)[:, None])
    assert same.item() == pytest.approx(expected, rel=1e-12)


def test_bpr_loss_weights_users_equally_not_pairs():
    """Mean over negatives first, then over users: differs from a flat mean only if the rows differ."""
    pos = torch.tensor([0.0, 0.0], dtype=torch.float64)
    neg = torch.tensor([[0.0, 0.0], [5.0, -5.0]], dtype=torch.float64)
    row0 = math.log(2.0)
    row1 = (-math.log(sigmoid(-5.0)) - math.log(sigmoid(5.0))) / 2
    assert bpr_loss(pos, neg).item() == pytest.approx((row0 + row1) / 2, rel=1e-12)


def test_full_forms_match_the_double_loops(random_case):
    scores, mask = random_case
    inter = Interactions(5, 7, *mask.nonzero().T)
    for positives in (mask, inter):
        assert binary_loss_full(scores, positives).item() == pytest.approx(
            ref_binary_full(scores, mask.tolist()).item(), rel=1e-12)
        assert bpr_loss_full(scores, positives).item() == pytest.approx(
            ref_bpr_full(scores, mask.tolist()).item(), rel=1e-12)


def test_bpr_full_leaves_out_users_without_pairs(random_case):
    scores, mask = random_case
    with_all = bpr_loss_full(scores, mask)
    # users 3 (all positive) and 4 (no positive) contribute nothing: dropping them changes nothing
    assert bpr_loss_full(scores[:3], mask[:3]).item() == pytest.approx(with_all.item(), rel=1e-12)
    # but they do change the binary loss, which pools every pair
    assert binary_loss_full(scores[:3], mask[:3]).item() != pytest.approx(binary_loss_full(scores, mask).item())


def test_full_form_gradients_match_autograd_on_the_double_loops(random_case):
    scores, mask = random_case
    for loss_fn, ref_fn in ((binary_loss_full, ref_binary_full), (bpr_loss_full, ref_bpr_full)):
        s1 = scores.clone().requires_grad_(True)
        s2 = scores.clone().requires_grad_(True)
        loss_fn(s1, mask).backward()
        ref_fn(s2, mask.tolist()).backward()
        assert torch.allclose(s1.grad, s2.grad, rtol=1e-10, atol=1e-12), loss_fn.__name__
        assert s1.grad.abs().sum() > 0


def test_mini_batch_gradients_pass_gradcheck():
    gen = torch.Generator().manual_seed(1)
    pos = torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)
    neg = torch.randn(4, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(bpr_loss, (pos, neg))
    assert torch.autograd.gradcheck(binary_loss, (pos, neg))


# --------------------------------------------------------------------------- 2. the lecture toy
def softplus(x: float) -> float:
    return math.log(1.0 + math.exp(x))


def test_lecture_toy_recall_at_1_is_perfect():
    toy = g.lecture_toy()
    rec = recommend(toy.scores, 1)
    assert rec.tolist() == [[0], [1]]
    assert recall_at_k(rec, toy.train, 1) == 1.0


def test_lecture_toy_binary_loss_is_positive_with_a_non_zero_gradient():
    toy = g.lecture_toy()
    scores = toy.scores.clone().double().requires_grad_(True)
    loss = binary_loss_full(scores, toy.train)
    # positives (u0,v0)=1, (u1,v1)=3; negatives (u0,v1)=-1, (u1,v0)=2
    expected = (softplus(-1.0) + softplus(-3.0)) / 2 + (softplus(-1.0) + softplus(2.0)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert loss.item() > 0
    loss.backward()
    assert torch.isfinite(scores.grad).all()
    assert (scores.grad != 0).all()
    # d/ds of softplus(-s)/2 is -(1 - sigma(s))/2 for positives; of softplus(s)/2 is sigma(s)/2 for negatives
    expected_grad = [[-(1 - sigmoid(1.0)) / 2, sigmoid(-1.0) / 2],
                     [sigmoid(2.0) / 2, -(1 - sigmoid(3.0)) / 2]]
    assert torch.allclose(scores.grad, torch.tensor(expected_grad, dtype=torch.float64), rtol=1e-12)


def test_lecture_toy_bpr_differs_from_binary():
    toy = g.lecture_toy()
    bpr = bpr_loss_full(toy.scores, toy.train).item()
    assert bpr == pytest.approx((softplus(-1.0 - 1.0) + softplus(2.0 - 3.0)) / 2, rel=1e-6)
    assert bpr != pytest.approx(binary_loss_full(toy.scores, toy.train).item(), rel=1e-3)


@pytest.mark.parametrize("user, c", [(0, 5.0), (1, -3.0), (1, 100.0)])
def test_shifting_one_users_scores_changes_binary_but_not_bpr(user, c):
    toy = g.lecture_toy()
    shifted = toy.scores.clone()
    shifted[user] += c
    # the ranking, hence Recall@K, is unchanged by the shift ...
    assert torch.equal(recommend(shifted, 2), recommend(toy.scores, 2))
    # ... and so is BPR, which compares items only within a user; the binary loss is not
    assert bpr_loss_full(shifted, toy.train).item() == pytest.approx(bpr_loss_full(toy.scores, toy.train).item(),
                                                                       abs=1e-6)
    assert abs(binary_loss_full(shifted, toy.train).item() - binary_loss_full(toy.scores, toy.train).item()) > 1e-3


def test_shift_invariance_of_bpr_on_random_scores(random_case):
    scores, mask = random_case
    shifted = scores + torch.tensor([3.0, -7.0, 0.5, 11.0, -2.0], dtype=torch.float64)[:, None]
    assert bpr_loss_full(shifted, mask).item() == pytest.approx(bpr_loss_full(scores, mask).item(), abs=1e-6)
    assert abs(binary_loss_full(shifted, mask).item() - binary_loss_full(scores, mask).item()) > 1e-3


def test_lecture_toy_mini_batch_forms_equal_full_forms():
    toy = g.lecture_toy()
    s, train = toy.scores, toy.train
    mask = torch.zeros(2, 2, dtype=torch.bool)
    mask[train.user, train.item] = True
    assert binary_loss(s[mask], s[~mask]).item() == pytest.approx(binary_loss_full(s, train).item(), rel=1e-6)
    # one positive and one negative per user: the batch is user u with its positive and its negative
    pos = s[train.user, train.item]  # (2,)
    neg = s[torch.tensor([0, 1]), torch.tensor([1, 0])]  # each user's other item
    assert bpr_loss(pos, neg).item() == pytest.approx(bpr_loss_full(s, train).item(), rel=1e-6)
    assert bpr_loss(pos, neg[:, None]).item() == pytest.approx(bpr_loss_full(s, train).item(), rel=1e-6)


def test_bpr_mini_batch_covering_every_pair_equals_the_full_form():
    """Every user has P=2 positives and N=3 negatives; one batch row per (user, positive) with all N negatives."""
    gen = torch.Generator().manual_seed(3)
    num_users, num_items = 4, 5
    scores = torch.randn(num_users, num_items, dtype=torch.float64, generator=gen)
    mask = torch.zeros(num_users, num_items, dtype=torch.bool)
    for u in range(num_users):
        mask[u, torch.randperm(num_items, generator=gen)[:2]] = True
    pos_rows, neg_rows = [], []
    for u in range(num_users):
        negatives = scores[u][~mask[u]]
        for p in scores[u][mask[u]]:
            pos_rows.append(p)
            neg_rows.append(negatives)
    batch = bpr_loss(torch.stack(pos_rows), torch.stack(neg_rows))
    assert batch.item() == pytest.approx(bpr_loss_full(scores, mask).item(), rel=1e-12)
    assert binary_loss(scores[mask], scores[~mask]).item() == pytest.approx(
        binary_loss_full(scores, mask).item(), rel=1e-12)


# --------------------------------------------------------------------------- 3. numerical stability
BIG = 1e4


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_binary_loss_is_finite_for_huge_scores(dtype):
    pos_vals, neg_vals = [BIG, -BIG, 3.0], [BIG, -BIG]
    pos = torch.tensor(pos_vals, dtype=dtype, requires_grad=True)
    neg = torch.tensor(neg_vals, dtype=dtype, requires_grad=True)
    assert torch.isinf(-torch.log(torch.sigmoid(pos.detach()))).any()  # the naive formula would overflow here
    loss = binary_loss(pos, neg)
    expected = (sum(neg_log_sigmoid(x) for x in pos_vals) / 3
                + sum(neg_log_sigmoid(-x) for x in neg_vals) / 2)  # -log(1 - sigma(x)) = -log sigma(-x)
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(pos.grad).all() and torch.isfinite(neg.grad).all()
    assert pos.grad[1].item() == pytest.approx(-1 / 3, rel=1e-6)  # the saturated wrong positive still pulls
    assert neg.grad[0].item() == pytest.approx(1 / 2, rel=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bpr_loss_is_finite_for_huge_scores(dtype):
    pos = torch.tensor([BIG, -BIG], dtype=dtype, requires_grad=True)
    neg = torch.tensor([[-BIG, BIG], [BIG, 0.0]], dtype=dtype, requires_grad=True)
    loss = bpr_loss(pos, neg)
    expected = ((neg_log_sigmoid(2 * BIG) + neg_log_sigmoid(0.0)) / 2
                + (neg_log_sigmoid(-2 * BIG) + neg_log_sigmoid(-BIG)) / 2) / 2
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(pos.grad).all() and torch.isfinite(neg.grad).all()
    assert pos.grad[1].item() == pytest.approx(-0.5, rel=1e-6)


def test_full_forms_are_finite_for_huge_scores():
    scores = torch.tensor([[BIG, -BIG, 0.0], [-BIG, BIG, 2.0]], requires_grad=True)
    mask = torch.tensor([[False, True, False], [True, False, True]])
    for fn in (binary_loss_full, bpr_loss_full):
        loss = fn(scores, mask)
        assert torch.isfinite(loss)
        (grad,) = torch.autograd.grad(loss, scores)
        assert torch.isfinite(grad).all()
        assert grad.abs().sum() > 0
    ref_bin = ((neg_log_sigmoid(-BIG) + neg_log_sigmoid(-BIG) + neg_log_sigmoid(2.0)) / 3
               + (neg_log_sigmoid(-BIG) + neg_log_sigmoid(0.0) + neg_log_sigmoid(-BIG)) / 3)
    assert binary_loss_full(scores, mask).item() == pytest.approx(ref_bin, rel=1e-6)
    ref_bpr = ((neg_log_sigmoid(-2 * BIG) + neg_log_sigmoid(-BIG)) / 2
               + (neg_log_sigmoid(-BIG - BIG) + neg_log_sigmoid(2.0 - BIG)) / 2) / 2
    assert bpr_loss_full(scores, mask).item() == pytest.approx(ref_bpr, rel=1e-6)


def test_float32_agrees_with_float64_on_large_random_scores():
    gen = torch.Generator().manual_seed(4)
    s64 = torch.randn(6, 9, dtype=torch.float64, generator=gen) * 60
    mask = torch.rand(6, 9, generator=gen) < 0.4
    mask[:, 0], mask[:, 1] = True, False
    s32 = s64.float()
    for fn, ref in ((binary_loss_full, ref_binary_full), (bpr_loss_full, ref_bpr_full)):
        assert fn(s32, mask).item() == pytest.approx(ref(s32.double(), mask.tolist()).item(), rel=1e-5)
    assert bpr_loss(s32[:, 0], s32[:, 1:]).item() == pytest.approx(
        bpr_loss(s32[:, 0].double(), s32[:, 1:].double()).item(), rel=1e-5)


# --------------------------------------------------------------------------- 4. bad input
@pytest.mark.parametrize("bad, word", [(math.nan, "NaN"), (math.inf, "infinite"), (-math.inf, "infinite")])
def test_non_finite_scores_are_rejected(bad, word):
    good = torch.tensor([0.5, -0.5, 1.0])
    broken = good.clone()
    broken[1] = bad
    with pytest.raises(ValueError, match=rf"^pos_scores contains {word}"):
        binary_loss(broken, good)
    with pytest.raises(ValueError, match=rf"^neg_scores contains {word}"):
        binary_loss(good, broken)
    with pytest.raises(ValueError, match=rf"^pos_scores contains {word}"):
        bpr_loss(broken, good)
    with pytest.raises(ValueError, match=rf"^neg_scores contains {word}"):
        bpr_loss(good, broken[:, None])
    scores = torch.zeros(2, 3)
    scores[0, 1] = bad
    mask = torch.tensor([[True, False, False], [False, True, False]])
    with pytest.raises(ValueError, match=rf"^scores contains {word}"):
        binary_loss_full(scores, mask)
    with pytest.raises(ValueError, match=rf"^scores contains {word}"):
        bpr_loss_full(scores, mask)


@pytest.mark.parametrize("neg_shape", [(4, 2), (2, 2), (4,), (3, 0), (3, 2, 1)])
def test_bpr_neg_scores_of_the_wrong_shape(neg_shape):
    with pytest.raises(ValueError, match=r"^neg_scores must have shape \(B=3, M>=1\)"):
        bpr_loss(torch.zeros(3), torch.zeros(neg_shape))


def test_bpr_pos_scores_must_be_1d():
    with pytest.raises(ValueError, match=r"^pos_scores must be 1-D"):
        bpr_loss(torch.zeros(3, 1), torch.zeros(3, 2))


def test_empty_tensors():
    with pytest.raises(ValueError, match=r"^pos_scores is empty"):
        binary_loss(torch.zeros(0), torch.zeros(3))
    with pytest.raises(ValueError, match=r"^neg_scores is empty"):
        binary_loss(torch.zeros(3), torch.zeros(0, 2))
    with pytest.raises(ValueError, match=r"^pos_scores is empty"):
        bpr_loss(torch.zeros(0), torch.zeros(0, 2))
    with pytest.raises(ValueError, match=r"^pos_scores is empty"):
        bpr_loss(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match=r"^positives must leave at least one positive and one negative"):
        binary_loss_full(torch.zeros(0, 3), torch.zeros(0, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"positive"):
        bpr_loss_full(torch.zeros(0, 3), torch.zeros(0, 3, dtype=torch.bool))


def test_all_positive_or_all_negative_masks():
    scores = torch.zeros(2, 3)
    for mask in (torch.ones(2, 3, dtype=torch.bool), torch.zeros(2, 3, dtype=torch.bool)):
        with pytest.raises(ValueError, match=r"^positives must leave at least one positive and one negative"):
            binary_loss_full(scores, mask)
        with pytest.raises(ValueError, match=r"^positives leave no user with both a positive and a negative"):
            bpr_loss_full(scores, mask)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_non_float_scores_are_rejected(dtype):
    ints = torch.ones(3, dtype=dtype)
    good = torch.ones(3)
    with pytest.raises(TypeError, match=r"^pos_scores must be a floating-point tensor"):
        binary_loss(ints, good)
    with pytest.raises(TypeError, match=r"^neg_scores must be a floating-point tensor"):
        binary_loss(good, ints)
    with pytest.raises(TypeError, match=r"^pos_scores must be a floating-point tensor"):
        bpr_loss(ints, good)
    with pytest.raises(TypeError, match=r"^neg_scores must be a floating-point tensor"):
        bpr_loss(good, ints)
    mask = torch.tensor([[True, False], [False, True]])
    with pytest.raises(TypeError, match=r"^scores must be a floating-point tensor"):
        binary_loss_full(torch.ones(2, 2, dtype=dtype), mask)
    with pytest.raises(TypeError, match=r"^scores must be a floating-point tensor"):
        bpr_loss_full(torch.ones(2, 2, dtype=dtype), mask)


def test_non_tensor_scores_are_rejected():
    with pytest.raises(TypeError, match=r"^pos_scores must be a torch.Tensor, got list"):
        binary_loss([1.0, 2.0], torch.ones(2))
    with pytest.raises(TypeError, match=r"^neg_scores must be a torch.Tensor"):
        bpr_loss(torch.ones(2), [[1.0], [2.0]])


def test_full_forms_need_2d_scores():
    with pytest.raises(ValueError, match=r"^scores must be 2-D"):
        binary_loss_full(torch.zeros(4), torch.tensor([True, False, True, False]))
    with pytest.raises(ValueError, match=r"^scores must be 2-D"):
        bpr_loss_full(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.bool))


@pytest.mark.parametrize("fn", [binary_loss_full, bpr_loss_full])
def test_positives_of_the_wrong_shape_or_kind(fn):
    scores = torch.zeros(2, 3)
    with pytest.raises(TypeError, match=r"^positives must be Interactions or a bool tensor of shape \(2, 3\)"):
        fn(scores, torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match=r"^positives must be Interactions or a bool tensor"):
        fn(scores, torch.zeros(3, 2, dtype=torch.bool))
    with pytest.raises(TypeError, match=r"^positives must be Interactions or a bool tensor"):
        fn(scores, torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))  # a float mask is not accepted
    with pytest.raises(TypeError, match=r"^positives must be Interactions or a bool tensor"):
        fn(scores, [[True, False, False], [False, True, False]])
    with pytest.raises(ValueError, match=r"^positives is 2 x 4, scores is \(2, 3\)"):
        fn(scores, Interactions(2, 4, [0, 1], [0, 3]))
    with pytest.raises(ValueError, match=r"^positives is 3 x 3, scores is \(2, 3\)"):
        fn(scores, Interactions(3, 3, [0, 2], [0, 1]))
