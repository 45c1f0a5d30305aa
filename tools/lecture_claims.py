"""What each lecture claims, checked on the records of its full-mode run by `make course`.

A claim is ``(sentence, check)`` where ``check(records) -> bool``. The sentence
is what the lecture says; if a check fails, `make course` prints the sentence
and fails, so a lecture never states something its own run contradicts.
Lectures 04-06 keep theirs in ``lecture_claims_4_6.py``.
"""

from __future__ import annotations


def _increasing(values) -> bool:
    return len(values) >= 2 and all(a < b for a, b in zip(values, values[1:]))


CLAIMS: dict[str, list] = {
    "01_recall_at_k": [
        ("ML-100K has 943 users, 1,682 items and 100,000 ratings",
         lambda r: (r["users"], r["items"], r["interactions"]) == (943, 1682, 100_000)),
        ("excluding training items raises the popularity baseline's Recall@20",
         lambda r: r["popular/recall@20"] > r["popular/recall@20 (no exclusion)"]),
        ("Recall@K grows with K", lambda r: r["popular/recall@10"] < r["popular/recall@20"] < r["popular/recall@50"]),
    ],
    "02_losses_bpr": [
        ("the counterexample has a perfect training Recall@1", lambda r: r["toy/recall@1"] == 1.0),
        ("the binary loss and its gradient are not zero there",
         lambda r: r["toy/binary loss"] > 0 and r["toy/binary grad norm"] > 0),
        ("shifting one user's scores changes the binary loss", lambda r: abs(r["shift/binary delta"]) > 1e-3),
        ("shifting one user's scores leaves BPR unchanged", lambda r: abs(r["shift/bpr delta"]) < 1e-9),
    ],
    "03_collaborative_filtering": [
        ("MF trained with BPR beats the popularity baseline on Recall@20",
         lambda r: r["mf/recall@20"] > r["popular/recall@20"]),
        ("MF beats the popularity baseline on NDCG@20", lambda r: r["mf/ndcg@20"] > r["popular/ndcg@20"]),
        ("in the full run, test Recall@20 peaks early and then drifts down (overfitting)",
         lambda r: r["mf/best epoch"] < r["mf/epochs"] and r["mf/best recall@20"] > r["mf/recall@20"]),
        ("trained item embeddings put same-genre movies together far more often than chance",
         lambda r: r["genre 5-nn agreement/trained"] > r["genre 5-nn agreement/chance"] + 0.1),
        ("random initial embeddings are near chance on genre agreement",
         lambda r: abs(r["genre 5-nn agreement/epoch 0"] - r["genre 5-nn agreement/chance"]) < 0.1),
        ("the training-set fit grows with the embedding size D",
         lambda r: _increasing([v for k, v in sorted(((int(k.split("d=")[1]), v) for k, v in r.items()
                                                     if k.startswith("sweep/train")))])),
    ],
}


try:  # lectures 04-06
    from lecture_claims_4_6 import CLAIMS as _LATER
except ImportError:  # not written yet
    _LATER = {}
CLAIMS.update(_LATER)


def check(stem: str, records: dict) -> list[tuple[str, bool, str]]:
    """``[(sentence, held, note)]`` for one lecture; a missing record counts as not held."""
    out = []
    for sentence, claim in CLAIMS.get(stem, []):
        try:
            out.append((sentence, bool(claim(records)), ""))
        except KeyError as err:
            out.append((sentence, False, f"missing record {err}"))
    return out
