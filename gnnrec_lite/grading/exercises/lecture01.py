"""Lecture 01's exercises: Recall@K by hand, top-K without seen items, the metric over users, a recency baseline.

Each checker compares the learner's answer with the library on small cases
(where a known mistake gives a recognisable wrong value, the message names
it) and then on MovieLens-100K, and says what the result means.
"""

from __future__ import annotations

import torch

from ... import datasets, metrics, splits
from ...interactions import Interactions
from .base import Wrong, call, close, exercise, from_scratch, written


def _close(got, want, what: str) -> None:
    close(got, want, what, tol=1e-6)


@exercise("01-1", "Recall@K for one user")
def recall_for_user(answer) -> str:
    """``answer(top_k, positives) -> float``: |P ∩ R| / |P| for one user's list and held-out set."""
    cases = [([2, 5, 9], {2, 4}, 0.5), ([1, 2, 3], {7}, 0.0), ([4, 0, -1], {0, 4, 8, 9}, 0.5),
             ([3, 1], {1, 3}, 1.0)]
    for top, pos, want in cases:
        got = call(answer, list(top), set(pos), case=f"top_k={top}, positives={sorted(pos)}")
        if not abs(float(got) - want) <= 1e-12:  # NaN is never close
            found = len(set(top) & pos)
            hint = (" (you divided by K, the list length: that is Precision@K; Recall divides by |P_u|)"
                    if abs(float(got) - found / len(top)) < 1e-12 else "")
            raise Wrong(f"on top_k={top}, positives={sorted(pos)} expected {want}, got {got}{hint}")
    return "Recall@K counts the held-out items found, over how many there were: 1.0 means none was missed."


@exercise("01-2", "top K unseen items for one user")
def top_k_unseen(answer) -> str:
    """``answer(scores (I,), seen, k) -> list``: the ``k`` best unseen items, best first, ties to the lower id."""
    scores = torch.tensor([0.3, 0.9, 0.9, 0.1, 0.7, 0.9])
    for seen, k in (({1}, 3), (set(), 2), ({2, 5}, 4)):
        want = [i for i in sorted(range(6), key=lambda i: (-float(scores[i]), i)) if i not in seen][:k]
        got = call(answer, scores.clone(), set(seen), k, case=f"scores={scores.tolist()}, seen={sorted(seen)}, k={k}")
        got = [int(i) for i in (got.tolist() if isinstance(got, torch.Tensor) else got)]
        if got != want:
            hint = ""
            if len(got) != k:
                hint = f" (the list has {len(got)} items: check the length you cut, K = {k})"
            elif set(got) & seen:
                hint = " (it recommends items seen in training: leave them out before taking the top K)"
            elif sorted(got) == sorted(want):
                hint = " (right items, wrong order: best first, and equal scores go to the lower item id)"
            raise Wrong(f"on scores={[round(float(s), 2) for s in scores]}, seen={sorted(seen)}, k={k} "
                        f"expected {want}, got {got}{hint}")
    return "the list holds only items the user has not seen, best first: what a deployed recommender shows."


@exercise("01-3", "Recall@K over all users")
def recall_at_k(answer) -> str:
    """``answer(scores (U, I), train, test, k) -> float``, from scratch, matching ``gl.evaluate``."""
    for seed, k in ((0, 3), (1, 5)):
        data = datasets.synthetic(12, 15, 60, seed=seed)
        train, test = splits.random_split(data, 0.7, seed=seed)
        scores = torch.rand(data.num_users, data.num_items, generator=torch.Generator().manual_seed(seed))
        want = metrics.evaluate(scores, train, test, k=k)[f"recall@{k}"]
        case = f"a random 12-user, 15-item graph (datasets.synthetic(12, 15, 60, seed={seed}), k={k})"
        with from_scratch("recall_at_k", "gnnrec_lite.metrics", "gnnrec_lite.ranking"):
            got = call(answer, scores.clone(), train, test, k, case=case)
        if not abs(float(got) - want) <= 1e-6:  # float32 arithmetic is fine
            hint = _recall_hint(got, scores, train, test, k)
            raise Wrong(f"on {case} expected {want:.6f}, got {float(got):.6f}{hint}")
    train, test = splits.random_split(datasets.load("ml-100k"), 0.8, seed=0)
    jitter = torch.rand(train.num_items, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1e-3
    popular = (train.item_degree() + jitter).expand(train.num_users, -1).contiguous()  # (U, I), no ties
    got = float(call(answer, popular.clone(), train, test, 20, case="ML-100K, popularity scores, k=20"))
    _close(got, metrics.evaluate(popular, train, test, k=20)["recall@20"], "Recall@20 of popularity on ML-100K")
    return f"on ML-100K the most-popular list finds {got:.1%} of each user's held-out movies in its top 20."


def _recall_hint(got, scores, train, test, k) -> str:
    """Name the mistake when ``got`` equals what a known wrong variant gives."""
    no_exclusion = metrics.evaluate(scores, Interactions(train.num_users, train.num_items, [], []), test, k=k)
    if abs(float(got) - no_exclusion[f"recall@{k}"]) < 1e-6:
        return " (that is the value with training items left in the list: exclude each user's training items)"
    per_user = metrics.evaluate(scores, train, test, k=k, reduction="none")[f"recall@{k}"]
    if abs(float(got) - float(torch.nan_to_num(per_user).sum() / test.num_users)) < 1e-6:
        return " (you averaged over every user; users without held-out items must be left out of the mean)"
    for kk in (k - 1, k + 1):
        if 1 <= kk <= scores.shape[1] and abs(float(got) - metrics.evaluate(scores, train, test, k=kk)[
                f"recall@{kk}"]) < 1e-6:
            return f" (that is Recall@{kk}: an off-by-one in K)"
    return ""


@exercise("01-4", "a popular-lately baseline")
def popular_lately(answer) -> str:
    """``answer(train, days) -> Tensor (I,)``: interactions per item with a time stamp after ``latest - days``."""
    toy = Interactions(2, 3, [0, 0, 1, 1], [0, 1, 1, 2], timestamp=[0, 86_400 * 9, 86_400 * 10, 86_400 * 3])
    for days, want in ((2, [0, 2, 0]), (8, [0, 2, 1]), (30, [1, 2, 1])):
        got = call(answer, toy, days, case=f"a 2-user toy with time stamps at days 0, 9, 10, 3 and days={days}")
        got = [float(x) for x in torch.as_tensor(got).flatten()]
        if got != [float(w) for w in want]:
            raise Wrong(f"on a 2-user toy (time stamps at days 0, 9, 10 and 3; the latest is day 10) with "
                        f"days={days} expected counts {want}, got {got}")
    train, test = splits.random_split(datasets.load("ml-100k"), 0.8, seed=0)
    scores = torch.as_tensor(call(answer, train, 60, case="ML-100K, days=60"), dtype=torch.float64)
    lately = metrics.evaluate(scores, train, test, k=20)["recall@20"]
    always = metrics.evaluate(train.item_degree().double(), train, test, k=20)["recall@20"]
    return (f"on ML-100K (random split) the last 60 days give Recall@20 {lately:.4f} against all-time "
            f"popularity's {always:.4f}: held-out ratings come from every period, so recent counts are mostly "
            "fewer counts (exercise 01-6 tries a temporal split).")


written("01-5", "what NDCG adds to Recall@K")
written("01-6", "the popularity baseline under a temporal split")

__all__ = ["popular_lately", "recall_at_k", "recall_for_user", "top_k_unseen"]
