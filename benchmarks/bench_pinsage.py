"""Item-to-item benchmark on ML-100K (lecture 06): what shared negatives save, and PinSAGE against its peers.

    python benchmarks/bench_pinsage.py [--epochs 20] [--repeats 3] [--seed 0] [--threads 1] [--section cost|quality]

Every run uses the same related pairs (co-interaction, top-10 per item), the
same training graph (2% of the items are "cold": all their edges removed),
``train_pinsage``'s recipe except the number of epochs, and the same rank
rule: all items but the query ranked, ties broken uniformly at random (in
expectation; ``evaluate_item_scores(..., ties="random")``).

Section ``cost``: PinSAGE with negatives shared by the batch (M = 128 and
512), shared plus hard ones, and drawn per pair (M = 128), each trained ``--repeats`` times with seeds
0, 1, ... taking turns (so load on the machine hits them alike). Seconds per
epoch (training steps only: sampling, computation graphs, forward,
backward), median over a run's epochs, then median, min and max over the
runs; Hit@10 and MRR over the runs; per batch, the item slots of the loss,
the distinct items embedded and the node representations computed.

Section ``quality``: warm (held-out pairs) and cold Hit@10 and MRR for the
PinSAGE encoders, the shallow and features-only encoders, LightGCN's item
embeddings (``train_bpr`` on the same training graph, its default recipe,
ranked by dot product) and item-kNN (``item_similarities`` on the training
graph, rows ranked by cosine; a cold item's row is empty). Cold genre share:
share of a cold item's 10 nearest items that share a genre with it.

Prints markdown tables and writes ``benchmarks/results/pinsage.json``; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import torch
from _results import Section, add_json_argument, save, spread

import gnnrec_lite as g
from gnnrec_lite.baselines import item_similarities
from gnnrec_lite.item2item import cold_start_metrics, evaluate_item2item, evaluate_item_scores, prepare_item2item
from gnnrec_lite.models import build_model
from gnnrec_lite.train import TrainConfig, train_bpr
from gnnrec_lite.train_item2item import train_pinsage

COST = {  # key in the JSON -> (label, train_pinsage options)
    "shared": ("shared, 128 per batch", dict(negatives="shared", num_negatives=128)),
    "shared-512": ("shared, 512 per batch", dict(negatives="shared", num_negatives=512)),
    "shared-hard": ("shared 128 + 2 hard per pair", dict(negatives="shared", num_negatives=128, num_hard=2)),
    "per-pair": ("per pair, 128 per pair", dict(negatives="per_pair", num_negatives=128)),
}
QUALITY = {  # key in the JSON -> (label, train_pinsage options); LightGCN and item-kNN rows are added
    "untrained": ("untrained PinSAGE-lite", dict(encoder="pinsage", num_epochs=0)),
    "pinsage": ("PinSAGE-lite (features + graph)", dict(encoder="pinsage")),
    "PinSAGE-lite+2-hard-negatives": ("PinSAGE-lite + 2 hard negatives per pair", dict(encoder="pinsage", num_hard=2)),
    "pinsage-dropout": ("PinSAGE-lite, neighbour dropout 0.3", dict(encoder="pinsage", neighbor_dropout=0.3)),
    "pinsage-embedding": ("PinSAGE-lite + per-item embedding", dict(encoder="pinsage", item_embedding=True)),
    "shallow": ("shallow encoder (embedding only)", dict(encoder="shallow")),
    "features": ("features only (no graph)", dict(encoder="features")),
}


def rank_metrics(score, data: dict, *, k: int = 10, matrix: bool = False) -> tuple[dict, dict]:
    """Warm and cold Hit@k and MRR with random tie-breaking; ``score``: item embeddings, or an (I, I) ``matrix``."""
    evaluate = evaluate_item_scores if matrix else evaluate_item2item
    test, cold = data["test_pairs"], data["cold_pairs"]
    warm = evaluate(score, test[:, 0], test[:, 1], k=k, ties="random")
    cold_m = evaluate(score, cold[:, 0], cold[:, 1], k=k, ties="random")
    return warm, {f"cold_hit@{k}": cold_m[f"hit@{k}"], "cold_mrr": cold_m["mrr"]}


def genre_share_of_scores(scores: torch.Tensor, data: dict, *, k: int = 10, seed: int = 0) -> float:
    """Share of each cold item's top-k (by a score matrix, ties in a random order) that share a genre with it."""
    cold, genres = data["cold_items"], data["genres"].double()
    rows = scores.index_select(0, cold).to_dense().double()  # (C, I)
    rows[torch.arange(cold.numel()), cold] = -torch.inf
    perm = torch.randperm(rows.shape[1], generator=torch.Generator().manual_seed(seed))
    order = torch.sort(rows[:, perm], dim=1, descending=True, stable=True).indices[:, :k]  # ties: random order
    near = perm[order]  # (C, k)
    return float(((genres[cold][:, None, :] * genres[near]).sum(-1) > 0).double().mean())


def embedding_row(z: torch.Tensor, data: dict, seconds: float, history: list | None = None) -> dict:
    warm, cold = rank_metrics(z, data)
    extra = cold_start_metrics(z, data["cold_pairs"], genres=data["genres"], k=10)
    cold |= {key: extra[key] for key in ("cold_genre_share@10", "genre_chance")}
    return {"metrics": warm, "cold": cold, "train_seconds": seconds, "epochs": len(history or []),
            "s_per_epoch": spread(r["seconds"] for r in history) if history else None}


def quality_section(inter, args) -> Section:
    with Section("item2item", num_epochs=args.epochs, seed=args.seed, ties="random",
                 lightgcn_epochs=args.lightgcn_epochs) as section:
        start = time.perf_counter()
        data = prepare_item2item(inter, seed=args.seed)
        prep = time.perf_counter() - start
        rows = {}
        for key, (_, kwargs) in QUALITY.items():
            kwargs = {"num_epochs": args.epochs} | kwargs
            res = train_pinsage(inter, data=data, seed=args.seed, progress=False, **kwargs)
            rows[key] = embedding_row(res.item_z, data, res.train_seconds, res.history)
        model = build_model("lightgcn", data["graph"], seed=args.seed)
        history = train_bpr(model, data["graph"], num_epochs=args.lightgcn_epochs, eval_every=0, seed=args.seed,
                            progress=False)
        with torch.no_grad():
            rows["LightGCN-item-embeddings"] = embedding_row(model()[1], data, history.train_seconds)
        start = time.perf_counter()
        sims = item_similarities(data["graph"])  # (I, I) sparse cosine, 100 kept per row
        warm, cold = rank_metrics(sims, data, matrix=True)
        chance = rows["pinsage"]["cold"]["genre_chance"]
        cold |= {"cold_genre_share@10": genre_share_of_scores(sims, data), "genre_chance": chance}
        rows["item-kNN-cosine"] = {"metrics": warm, "cold": cold, "train_seconds": time.perf_counter() - start,
                                   "epochs": 0, "s_per_epoch": None}
        cold_pairs = data["cold_pairs"]
        best = evaluate_item_scores(sims, cold_pairs[:, 0], cold_pairs[:, 1], k=10, ties="best")
        section.data |= {"rows": rows, "prepare_seconds": prep, "train_pairs": len(data["train_pairs"]),
                         "test_pairs": len(data["test_pairs"]), "cold_items": len(data["cold_items"]),
                         "cold_pairs": len(cold_pairs), "features": int(data["features"].shape[1]),
                         "itemknn_cold_ties_best": best,
                         "itemknn_cold_empty_rows": int((sims.index_select(0, data["cold_items"]).to_dense() != 0)
                                                        .any(1).logical_not().sum())}
    return section


def cost_section(inter, args) -> Section:
    with Section("negatives", num_epochs=args.epochs, repeats=args.repeats, seeds=list(range(args.repeats)),
                 num_negatives={k: v[1]["num_negatives"] for k, v in COST.items()}, batch_size=256,
                 num_hard=2) as section:
        data = prepare_item2item(inter, seed=args.seed)
        runs = {key: [] for key in COST}
        for rep in range(args.repeats):  # the modes take turns, so a busy spell hits all of them
            for key, (_, kwargs) in COST.items():
                res = train_pinsage(inter, data=data, num_epochs=args.epochs, seed=rep, progress=False, **kwargs)
                warm, _ = rank_metrics(res.item_z, data)
                runs[key].append({"s_per_epoch": res.seconds_per_epoch, "hit@10": warm["hit@10"], "mrr": warm["mrr"],
                                  **{f: sum(r[f] for r in res.history) / len(res.history)
                                     for f in ("slots", "seeds", "computed")}})
        rows = {key: {"s_per_epoch": spread(r["s_per_epoch"] for r in rs), "hit@10": spread(r["hit@10"] for r in rs),
                      "mrr": spread(r["mrr"] for r in rs), "runs": rs,
                      **{f: rs[0][f] for f in ("slots", "seeds", "computed")}} for key, rs in runs.items()}
        for key in COST:
            rows[key]["time_vs_shared"] = spread(a["s_per_epoch"] / b["s_per_epoch"]
                                                 for a, b in zip(runs[key], runs["shared"]))
        section.data |= {"rows": rows, "items": inter.num_items, "train_pairs": len(data["train_pairs"])}
    return section


def print_cost(section: Section) -> None:
    print("| negatives | s/epoch median (min-max) | time vs shared | Hit@10 median (min-max) | MRR | "
          "item slots / batch | distinct items / batch | nodes computed / batch |")
    print("|---|---|---|---|---|---|---|---|")
    for key, (label, _) in COST.items():
        r = section.data["rows"][key]
        t, h = r["s_per_epoch"], r["hit@10"]
        print(f"| {label} | {t['median']:.3f} ({t['min']:.3f}-{t['max']:.3f}) | {r['time_vs_shared']['median']:.2f}x "
              f"| {h['median']:.4f} ({h['min']:.4f}-{h['max']:.4f}) | {r['mrr']['median']:.4f} | {r['slots']:,.0f} "
              f"| {r['seeds']:,.0f} | {r['computed']:,.0f} |")


def print_quality(section: Section) -> None:
    rows = section.data["rows"]
    labels = {k: v[0] for k, v in QUALITY.items()} | {"LightGCN-item-embeddings": "LightGCN item embeddings",
                                                       "item-kNN-cosine": "item-kNN (cosine)"}
    print(f"\n| model | Hit@10 | MRR | cold Hit@10 | cold MRR | cold genre share@10 "
          f"(chance {rows['pinsage']['cold']['genre_chance']:.3f}) | train s |")
    print("|---|---|---|---|---|---|---|")
    for key, label in labels.items():
        m, c = rows[key]["metrics"], rows[key]["cold"]
        print(f"| {label} | {m['hit@10']:.4f} | {m['mrr']:.4f} | {c['cold_hit@10']:.4f} | {c['cold_mrr']:.4f} "
              f"| {c['cold_genre_share@10']:.3f} | {rows[key]['train_seconds']:.1f} |")
    print(f"item-kNN on cold items with ties in the target's favour: {section.data['itemknn_cold_ties_best']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="runs per negative mode in section cost")
    parser.add_argument("--lightgcn-epochs", type=int, default=TrainConfig().num_epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids oversubscription)")
    parser.add_argument("--section", action="append", choices=("cost", "quality"), default=None)
    add_json_argument(parser, __file__)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    inter = g.load("ml-100k")
    sections = []
    for name in args.section or ("cost", "quality"):
        section = cost_section(inter, args) if name == "cost" else quality_section(inter, args)
        (print_cost if name == "cost" else print_quality)(section)
        sections.append(section)
    save(args.json, "bench_pinsage.py", sections)


if __name__ == "__main__":
    main()
