"""What lectures 04-06 claim, checked on the records of their full-mode runs by `make course`.

Same format as ``lecture_claims.py``, which imports ``CLAIMS`` from here: ``(sentence, check)`` with
``check(records) -> bool``. Each sentence is what the lecture's text says; where a result on ML-100K goes
against the paper (NGCF vs MF, the curriculum), the sentence is the lecture's honest reading of it, so a later
run that contradicts the text fails the build instead of leaving a false statement in the notebook.
"""

from __future__ import annotations

import math


def _ratio(r: dict, a: str, b: str) -> float:
    return r[a] / r[b]


def _spread(values) -> float:
    return max(values) - min(values)


CLAIMS: dict[str, list] = {
    "04_ngcf": [
        ("one BPR triple moves exactly three rows of MF's embedding table", lambda r: r["mf/gradient rows"] == 3),
        ("with K NGCF layers one triple's gradient reaches exactly the K-hop neighbourhood of its three nodes",
         lambda r: r["reach/gradient rows"] == r["reach/k-hop nodes"]),
        ("with three layers one step touches most of the graph",
         lambda r: r["reach/gradient rows"][3] > 0.9 * r["graph/nodes"]),
        ("three hops from a typical user cover almost the whole graph",
         lambda r: r["reach/median share within k hops"][2] > 0.9),
        ("the from-scratch NGCF layer equals the library's", lambda r: r["scratch/max abs diff"] < 1e-5),
        ("on ML-100K with this recipe NGCF ends below MF on Recall@20",
         lambda r: r["ngcf/recall@20"] < r["mf/recall@20"]),
        ("NGCF's best evaluation during training is also below MF's best",
         lambda r: r["ngcf/best recall@20 seen"] < r["mf/best recall@20 seen"]),
        ("an NGCF epoch costs about three times an MF epoch (between 2x and 4.5x)",
         lambda r: 2.0 < _ratio(r, "ngcf/seconds per epoch", "mf/seconds per epoch") < 4.5),
    ],
    "05_lightgcn": [
        ("most of NGCF's parameters are in the embedding table (about seven eighths on ML-100K)",
         lambda r: 0.8 < r["params/table share"] < 0.95),
        ("the scratch Â equals the library's", lambda r: r["adjacency/max abs diff"] < 1e-12),
        ("Â's eigenvalues lie in [-1, 1], with -1 and +1 both present (bipartite, connected)",
         lambda r: abs(r["adjacency/eigenvalue range"][0] + 1) < 1e-9
         and abs(r["adjacency/eigenvalue range"][1] - 1) < 1e-9),
        ("without the ReLU, K GCN layers collapse to Â^K E W", lambda r: r["sgc/linear collapse max abs diff"] < 1e-10),
        ("with the ReLU they do not", lambda r: r["sgc/relu max abs diff"] > 1e-2),
        ("the library's LightGCN propagation equals the dense formula sum_k alpha_k Â^k E",
         lambda r: r["lightgcn/propagation max abs diff"] < 1e-5),
        ("LightGCN with K = 0 is MF", lambda r: r["lightgcn/k=0 equals mf"] is True),
        ("Â is sparse but its third power fills most of what a bipartite graph allows (above 40% of N^2)",
         lambda r: r["a_hat^k/density"][0] < 0.05 and r["a_hat^k/density"][2] > 0.4),
        ("the dense Â^K takes more than ten times the memory of the sparse Â",
         lambda r: r["dense/megabytes"] > 10 * r["sparse/megabytes"]),
        ("the dense route is two or more orders of magnitude slower than K sparse products",
         lambda r: r["dense/seconds"] > 100 * r["sparse/seconds"]),
        ("both routes give the same embeddings", lambda r: r["dense vs sparse/max abs diff"] < 1e-5),
        ("after one or two diffusion steps similarity follows shared events, unlike random vectors",
         lambda r: max(r["diffusion/spearman by k"][1:3]) > r["diffusion/spearman by k"][0] + 0.3),
        ("diffusing on and on makes all women's embeddings nearly parallel (over-smoothing)",
         lambda r: r["diffusion/mean cosine by k"][-1] > 0.9),
        ("LightGCN's layer average collapses far more slowly",
         lambda r: r["diffusion/mean cosine by k (average)"][-1] < r["diffusion/mean cosine by k"][-1] - 0.2),
        ("LightGCN beats MF on Recall@20", lambda r: r["lightgcn/recall@20"] > r["mf/recall@20"]),
        ("LightGCN beats NGCF on Recall@20", lambda r: r["lightgcn/recall@20"] > r["ngcf/recall@20"]),
        ("LightGCN beats both on NDCG@20",
         lambda r: r["lightgcn/ndcg@20"] > max(r["mf/ndcg@20"], r["ngcf/ndcg@20"])),
        ("LightGCN's final Recall@20 is above the best MF and NGCF reached at any evaluation",
         lambda r: r["lightgcn/recall@20"] > max(r["mf/best recall@20 seen"], r["ngcf/best recall@20 seen"])),
        ("an epoch of LightGCN costs more than MF and less than NGCF",
         lambda r: r["mf/seconds per epoch"] < r["lightgcn/seconds per epoch"] < r["ngcf/seconds per epoch"]),
        ("random vectors show no relation between shared items and similarity",
         lambda r: abs(r["similarity/spearman random"]) < 0.05),
        ("diffusion alone, untrained, already ranks user pairs by shared items",
         lambda r: r["similarity/spearman diffusion e2"] > 0.5),
        ("LightGCN's untrained output shows little of it",
         lambda r: r["similarity/spearman untrained lightgcn"] < r["similarity/spearman diffusion e2"] / 2),
        ("the trained LightGCN follows shared items more closely than the trained MF",
         lambda r: r["similarity/spearman lightgcn"] > r["similarity/spearman mf"]),
    ],
    "06_pinsage": [
        ("every encoder that reads features places cold movies far above the genre chance level",
         lambda r: all(r[f"item2item/{e}/cold genre share@10"] > r["item2item/genre chance"] + 0.2
                       for e in ("features only", "pinsage", "pinsage + per-item vector"))),
        ("the shallow table places cold movies near chance",
         lambda r: r["item2item/shallow table/cold genre share@10"] < r["item2item/genre chance"] + 0.1),
        ("on warm pairs the shallow table beats PinSAGE-lite without per-item vectors",
         lambda r: r["item2item/shallow table/hit@10"] > r["item2item/pinsage/hit@10"]),
        ("PinSAGE-lite with per-item vectors has the best warm hit rate",
         lambda r: r["item2item/pinsage + per-item vector/hit@10"] == max(
             r[f"item2item/{e}/hit@10"] for e in ("features only", "shallow table", "pinsage",
                                                 "pinsage + per-item vector"))),
        ("shared negatives save exactly a factor |U_mini| (the batch size) of negative embeddings",
         lambda r: r["negatives/saving"] == r["negatives/batch size"]
         and r["negatives/per-user embeddings per epoch"] == r["negatives/batch size"]
         * r["negatives/shared embeddings per epoch"]),
        ("a 2-layer computation graph has at most 1 + 10 + 100 nodes",
         lambda r: r["negatives/nodes per computation graph"] <= 111),
        ("256 shared negatives compute 32 times fewer negative embeddings than 4 per user",
         lambda r: r["uniform/negative embeddings per epoch"] == 32 * r["shared/negative embeddings per epoch"]),
        ("and lose only a few percent of Recall@20 (less than 10%)",
         lambda r: 0.9 * r["uniform/recall@20"] < r["shared/recall@20"] < r["uniform/recall@20"]),
        ("hard negatives share a genre with the query more often than easy ones",
         lambda r: r["movies/genre share hard"] > r["movies/genre share easy"]),
        ("nearly all co-rated partners sit in the skipped top 5%", lambda r: r["movies/related in top 5%"] > 0.8),
        ("Monte-Carlo walks agree better with exact PPR the more walks there are",
         lambda r: all(a < b for a, b in zip(r["ppr/spearman by walks"], r["ppr/spearman by walks"][1:]))
         and all(a < b for a, b in zip(r["ppr/top-100 overlap by walks"], r["ppr/top-100 overlap by walks"][1:]))),
        ("about three quarters of the top 100 agree at 200 walks",
         lambda r: 0.65 < r["ppr/top-100 overlap by walks"][r["ppr/num walks"].index(200)] < 0.85),
        ("walk and exact-PPR hard pools share a bit more than half their items",
         lambda r: 0.5 < r["ppr/hard pool overlap"] < 0.75),
        ("held-out items crowd the top 5% of the walk ranking",
         lambda r: r["users/test positives in top 5%"] > 4 * 0.05),
        ("a hard-negative pool holds about twice the share of future items of a uniform draw",
         lambda r: 1.5 < _ratio(r, "users/false negative rate hard", "users/false negative rate uniform") < 3.0),
        ("the curriculum adds n - 1 hard negatives at epoch n, up to the cap",
         lambda r: r["curriculum/schedule"][:3] == [0, 1, 2]),
        ("the three schemes end within a few thousandths of each other on Recall@20",
         lambda r: _spread([r[f"curriculum/recall@20 {k}"] for k in ("shared", "hard", "curriculum")]) < 0.01),
        ("hard negatives end (slightly) above shared negatives alone",
         lambda r: min(r["curriculum/recall@20 hard"], r["curriculum/recall@20 curriculum"])
         > r["curriculum/recall@20 shared"]),
        ("the curriculum does not beat hard negatives from the first epoch",
         lambda r: r["curriculum/recall@20 curriculum"] <= r["curriculum/recall@20 hard"] + r["curriculum/seed noise"]),
        ("two seeds of one scheme differ by about as much as the schemes do",
         lambda r: _spread([r[f"curriculum/recall@20 {k}"] for k in ("shared", "hard", "curriculum")])
         < 3 * r["curriculum/seed noise"]),
        ("hard negatives are harder: every model orders positives above them less often than above easy ones",
         lambda r: all(r[f"hardness/{k}/hard pair accuracy"] < r[f"hardness/{k}/easy pair accuracy"]
                       for k in ("shared", "hard", "curriculum"))),
        ("training with hard negatives raises the hard-pair accuracy slightly",
         lambda r: min(r["hardness/hard/hard pair accuracy"], r["hardness/curriculum/hard pair accuracy"])
         > r["hardness/shared/hard pair accuracy"]),
        ("random 64-d points sit at distance about sqrt(2), spread about 0.09",
         lambda r: abs(r["distance/random mean"] - math.sqrt(2)) < 0.01 and 0.07 < r["distance/random std"] < 0.11),
        ("the paper's 1/q(d) weighting piles draws up below 0.5 on trained embeddings",
         lambda r: r["distance/sphere share in [0.5, 1.4)"] < r["distance/uniform share in [0.5, 1.4)"]),
        ("the empirical density keeps the draws in [0.5, 1.4)",
         lambda r: r["distance/empirical share in [0.5, 1.4)"] > 0.99),
        ("only sum tells GIN's three pairs apart",
         lambda r: r["aggregators/fails"] == {"a": ["mean", "max"], "b": ["max"], "c": ["mean", "max"]}),
        ("PinSAGE's importance pooling cannot tell {A, B} from {A, A, B, B}; sum pooling can",
         lambda r: r["aggregators/pinsage mean pooling difference"] < 1e-6
         and r["aggregators/pinsage sum pooling difference"] > 1e-4),
    ],
}
