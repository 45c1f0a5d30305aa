"""Lecture 07's exercises: BPR with shared negatives and its clash mask, a hard-negative window from walk
counts, the curriculum schedule, and distance-weighted sampling probabilities.

Each checker compares the learner's answer with the library on small cases
and on MovieLens-100K; where a known mistake gives a recognisable wrong
value, the message names it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...interactions import rows_mask
from ...negatives import CurriculumSchedule
from ...negatives.shared import shared_step_loss
from ...walks import visit_counts
from .base import Wrong, call, exercise, from_scratch, ml100k_split, written
from .base import quiet as _quiet


def _ml100k():
    return ml100k_split()  # (train, test)


def _owned(train) -> torch.Tensor:
    return rows_mask(*train.csr(), torch.arange(train.num_users), train.num_items)  # (U, I)


# ---------------------------------------------------------------- 07-1, shared-negative BPR
def _shared_bpr(user_z, item_z, users, pos, shared, owned) -> torch.Tensor:
    """The library's step loss (no L2 term) with the clash mask built from ``owned``."""
    return shared_step_loss(lambda: (user_z, item_z), users, pos, shared, 0.0, valid=~owned[users][:, shared])


@_quiet
def _shared_hint(user_z, item_z, users, pos, shared, owned, got) -> str:
    u = user_z[users]
    s_pos, s_neg = (u * item_z[pos]).sum(-1), u @ item_z[shared].T  # (B,), (B, M)
    terms = -F.logsigmoid(s_pos[:, None] - s_neg)  # (B, M)
    valid = ~owned[users][:, shared]
    per_row = (terms * valid).sum(1) / valid.sum(1).clamp(min=1)
    variants = {
        "no clash mask: a shared negative that is one of the user's own items must be left out": terms.mean(),
        "the masked terms are summed but divided by all B x M pairs; divide by the valid pairs only":
            (terms * valid).sum() / terms.numel(),
        "you averaged each user's row first; the loss is the mean over all valid (user, negative) pairs":
            per_row.mean(),
        "the mask is inverted: you kept only the clashes": (terms * ~valid).sum() / (~valid).sum().clamp(min=1),
        "the sign is reversed: BPR is -log sigmoid(s_pos - s_neg)":
            (-F.logsigmoid(s_neg - s_pos[:, None]) * valid).sum() / valid.sum(),
    }
    return next((f" ({name})" for name, v in variants.items() if abs(float(got) - float(v)) < 1e-6), "")


@exercise("07-1", "BPR with shared negatives and the clash mask")
def shared_bpr(answer) -> str:
    """``answer(user_z (U, D), item_z (I, D), users (B,), pos (B,), shared (M,), owned (U, I) bool) -> scalar``."""
    gen = torch.Generator().manual_seed(0)
    owned = torch.tensor([[1, 1, 0, 0, 0], [0, 1, 0, 1, 0], [0, 0, 0, 0, 1]], dtype=torch.bool)
    small = (torch.randn(3, 4, generator=gen), torch.randn(5, 4, generator=gen), torch.tensor([0, 1, 2, 0]),
             torch.tensor([0, 3, 4, 1]), torch.tensor([1, 2, 4]), owned)
    train, _ = _ml100k()
    big_owned = _owned(train)
    users = torch.randint(train.num_users, (256,), generator=gen)
    pos = torch.tensor([int(train.item[train.user == u][0]) for u in users.tolist()])
    popular = torch.argsort(train.item_degree(), descending=True)[:64]  # popular negatives clash often
    shared = torch.cat([popular, torch.randint(train.num_items, (192,), generator=gen)])
    big = (torch.randn(train.num_users, 16, generator=gen) * 0.3, torch.randn(train.num_items, 16, generator=gen) * 0.3,
           users, pos, shared, big_owned)
    for args, case in ((small, "3 users, 5 items, a batch of 4 with 3 shared negatives (user 0 owns item 1, "
                                "user 2 owns item 4)"),
                       (big, "ML-100K, 256 users, 256 shared negatives (64 of them popular), random 16-d vectors")):
        with from_scratch("your shared-negative BPR", "gnnrec_lite.negatives", "gnnrec_lite.losses"):
            got = call(answer, *(a.clone() for a in args), case=case)
        want = _shared_bpr(*args)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise Wrong(f"on {case} expected a scalar tensor, got {got!r}")
        if abs(float(got) - float(want)) > 1e-5:
            raise Wrong(f"on {case} expected {float(want):.6f}, got {float(got):.6f}{_shared_hint(*args, got)}")
    uniform = torch.randint(train.num_items, (256,), generator=gen)
    clash = float(big_owned[users][:, uniform].double().mean())
    return (f"with 256 uniform shared negatives, {clash:.1%} of ML-100K's (user, negative) pairs are the user's own "
            "movies; the mask leaves them out, where the loss would push them down for the users who chose them.")


# ---------------------------------------------------------------- 07-2, the hard-negative window
def _window(counts, owned, window, *, of_all_items: bool = False):
    scores = counts.double().masked_fill(owned, -1.0)
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    cand = torch.full((counts.shape[0],), counts.shape[1]) if of_all_items else (~owned).sum(1)
    pools = []
    for r in range(counts.shape[0]):
        lo = math.floor(window[0] * int(cand[r]))
        hi = max(math.ceil(window[1] * int(cand[r])), lo + 1)
        pools.append(order[r, lo:hi])
    return pools


@_quiet
def _window_hint(counts, owned, window, got) -> str:
    want = _window(counts, owned, window)
    if any(bool(owned[r, p].any()) for r, p in enumerate(got) if p.numel()):
        return " (the pool holds items the user already has: drop the user's own items before ranking)"
    over_all = _window(counts, owned, window, of_all_items=True)
    if all(torch.equal(a, b) for a, b in zip(got, over_all)):
        return (" (the window's fractions are of the user's candidates, the items not already theirs, not of "
                "every item)")
    if all(sorted(a.tolist()) == sorted(b.tolist()) for a, b in zip(got, want)):
        return " (right items, wrong order: most visited first, equal counts to the lower item id)"
    if all(abs(a.numel() - b.numel()) == 1 for a, b in zip(got, want) if a.numel() != b.numel()):
        return " (an off-by-one at an end of the window: lo = floor(f_lo C), hi = max(ceil(f_hi C), lo + 1))"
    return ""


@exercise("07-2", "a hard-negative window from walk counts")
def hard_window(answer) -> str:
    """``answer(counts (S, I), owned (S, I) bool, window (f_lo, f_hi)) -> list of S pools``, most visited first."""
    counts = torch.tensor([[9.0, 7, 7, 5, 3, 3, 1, 0, 0, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
    owned = torch.zeros(2, 10, dtype=torch.bool)
    owned[0, [0, 3]] = True
    owned[1, 9] = True
    cases = [(counts, owned, (0.1, 0.5), "two users, 10 items (user 0 owns items 0 and 3, user 1 owns item 9)"),
             (counts, owned, (0.0, 0.2), "the same two users"),
             (counts, owned, (0.3, 0.35), "the same two users")]
    train, test = _ml100k()
    users = torch.arange(0, train.num_users, 19)  # 50 users
    ml_counts = visit_counts(train, users, seed=0)  # the walks hard_negative_pool runs (200 walks, 20 hops)
    cases.append((ml_counts, _owned(train)[users], (0.05, 0.25), "ML-100K walk counts of 50 users"))
    for c, o, window, case in cases:
        with from_scratch("your hard-negative window", "gnnrec_lite.negatives", "gnnrec_lite.walks"):
            got = call(answer, c.clone(), o.clone(), window, case=f"{case}, window={window}")
        try:
            got = [torch.as_tensor(p).long().flatten() for p in got]
        except (TypeError, ValueError):
            raise Wrong(f"on {case} expected a list of item-id tensors, got {type(got).__name__}") from None
        want = _window(c, o, window)
        if len(got) != len(want) or not all(torch.equal(a, b) for a, b in zip(got, want)):
            row = next((r for r, (a, b) in enumerate(zip(got, want)) if not torch.equal(a, b)), len(got))
            shown = (lambda p: p.tolist()) if c.shape[1] <= 10 else (lambda p: f"{p.numel()} items")
            raise Wrong(f"on {case}, window={window} expected pool {row} to be "
                        f"{shown(want[row]) if row < len(want) else 'absent'}, got "
                        f"{shown(got[row]) if row < len(got) else 'nothing'}{_window_hint(c, o, window, got)}")
    held = [set(test.item[test.user == u].tolist()) for u in users.tolist()]
    share = sum(len(h & set(p.tolist())) for h, p in zip(held, want)) / sum(p.numel() for p in want)
    return (f"your pools equal hard_negative_pool's on ML-100K: about {sum(p.numel() for p in want) // len(want)} "
            f"movies per user, {share:.1%} of them the user's held-out movies (false negatives).")


# ---------------------------------------------------------------- 07-3, the curriculum
@exercise("07-3", "the curriculum schedule")
def curriculum(answer) -> str:
    """``answer(epoch, max_hard, step) -> int``: hard negatives per user at ``epoch`` (from 1)."""
    for max_hard, step, epochs in ((3, 1, 7), (19, 1, 20), (10, 2, 8), (0, 1, 3), (5, 3, 4)):
        schedule = CurriculumSchedule(max_hard, step)
        want = [schedule(n) for n in range(1, epochs + 1)]
        case = f"max_hard={max_hard}, step={step}, epochs 1..{epochs}"
        with from_scratch("your curriculum schedule", "gnnrec_lite.negatives"):
            got = [call(answer, n, max_hard, step, case=case) for n in range(1, epochs + 1)]
        if [int(g) for g in got] != want:
            hint = ""
            if [int(g) for g in got] == [min(max_hard, step * n) for n in range(1, epochs + 1)]:
                hint = " (epoch 1 has no hard negatives: the count is step x (n - 1))"
            elif [int(g) for g in got] == [step * (n - 1) for n in range(1, epochs + 1)]:
                hint = " (the count never passes the cap max_hard)"
            elif [int(g) for g in got] == [min(max_hard, n - 1) for n in range(1, epochs + 1)]:
                hint = " (step hard negatives are added per epoch, not one)"
            raise Wrong(f"on {case} expected {want}, got {[int(g) for g in got]}{hint}")
    full = sum(CurriculumSchedule(19, 1)(n) for n in range(1, 21))
    return (f"with 20 epochs and a cap of 19 the curriculum adds one hard negative per epoch to the very end: it "
            f"uses {full} hard negatives per user-slot over the run, half of the {19 * 20} of 19 from the start.")


# ---------------------------------------------------------------- 07-4, distance-weighted sampling
def _distance_probs(d, dim, cutoff, high, *, inverse=True, clip=True, zero=True):
    dc = d.clamp(min=cutoff) if clip else d.clamp(min=1e-6)
    log_q = (dim - 2) * dc.log() + (dim - 3) / 2 * (1 - dc ** 2 / 4).clamp(min=1e-300).log()
    log_w = -log_q if inverse else log_q
    if zero:
        log_w = log_w.masked_fill(d >= high, -math.inf)
    return torch.softmax(log_w, dim=1)


@exercise("07-4", "distance-weighted sampling probabilities")
def distance_weights(answer) -> str:
    """``answer(d (B, N), dim, cutoff, nonzero_loss_cutoff) -> (B, N)`` probabilities ∝ 1/q(max(d, cutoff))."""
    gen = torch.Generator().manual_seed(0)
    hand = torch.tensor([[0.3, 0.8, 1.2, 1.5], [0.5, 1.0, 1.39, 1.41]], dtype=torch.float64)
    a = F.normalize(torch.randn(32, 16, generator=gen, dtype=torch.float64), dim=1)
    b = F.normalize(torch.randn(400, 16, generator=gen, dtype=torch.float64), dim=1)
    cloud = (2 - 2 * a @ b.T).clamp(min=0).sqrt()
    cases = [(hand, 8, 0.5, 1.4, "two anchors, four candidates each, D = 8"),
             (hand, 64, 0.5, 1.4, "the same distances, D = 64"),
             (cloud, 16, 0.5, 1.4, "32 anchors and 400 candidates on the 16-d unit sphere")]
    for d, dim, cutoff, high, case in cases:
        with from_scratch("your distance weights", "gnnrec_lite.negatives"):
            got = call(answer, d.clone(), dim, cutoff, high, case=case)
        want = _distance_probs(d, dim, cutoff, high)
        got = torch.as_tensor(got, dtype=torch.float64)
        if got.shape != want.shape or not torch.allclose(got, want, atol=1e-6, rtol=1e-4):
            variants = {"you weighted by q(d); the weight is its inverse, 1/q(d)": dict(inverse=False),
                        "distances below the cutoff must be clipped to it before weighting": dict(clip=False),
                        "candidates at nonzero_loss_cutoff or farther must get probability 0": dict(zero=False)}
            hint = next((f" ({n})" for n, kw in variants.items() if got.shape == want.shape and torch.allclose(
                got, _distance_probs(d, dim, cutoff, high, **kw), atol=1e-6, rtol=1e-4)), "")
            if not hint and got.shape == want.shape and torch.allclose(got / got.sum(1, keepdim=True), want,
                                                                       atol=1e-6, rtol=1e-4):
                hint = " (each row must sum to one: divide by the row's total)"
            shown = f"{[round(v, 4) for v in want[0].tolist()]}" if d.shape[1] <= 4 else "a different row 0"
            raise Wrong(f"on {case} expected row 0 to be {shown}, got "
                        f"{[round(v, 4) for v in got[0, :4].tolist()]}{'...' if d.shape[1] > 4 else ''}{hint}")
    uniform_mean, uniform_spread = float(cloud.mean()), float(cloud.std())
    weighted_mean = float((want * cloud).sum(1).mean())
    spread = float(((want * (cloud - weighted_mean) ** 2).sum(1).mean()).sqrt())
    return (f"on the 16-d sphere uniform draws sit at distance {uniform_mean:.2f} (spread {uniform_spread:.2f}); "
            f"with your weights the expected draw is at {weighted_mean:.2f} (spread {spread:.2f}): closer, and "
            "spread over the range where the loss still has something to say.")


written("07-5", "reading the curriculum result")

__all__ = ["curriculum", "distance_weights", "hard_window", "shared_bpr"]
