"""The tables of docs/results.md: ``{{table NAME}}`` in the template -> ``TABLES[NAME](results)`` -> markdown.

Each renderer reads benchmarks/results/*.json through tools/results_data.py and formats; none measures anything.
"""

from __future__ import annotations

import re

from results_data import fmt, lecture_value, lookup, sci


def md(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def bold_max(cells: list[str]) -> list[str]:
    """Bold the largest of some formatted numbers (all of them when tied)."""
    best = max(float(c) for c in cells)
    return [f"**{c}**" if float(c) == best else c for c in cells]


def columns(rows: list[list[str]], *cols: int) -> list[list[str]]:
    """Bold the best cell of each column in ``cols``."""
    for col in cols:
        for row, cell in zip(rows, bold_max([row[col] for row in rows])):
            row[col] = cell
    return rows


def ordered(rows: dict, order) -> list:
    """``rows.items()`` in ``order`` (the JSON files sort their keys), then any others."""
    return [(k, rows[k]) for k in order if k in rows] + [(k, v) for k, v in rows.items() if k not in order]


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def med(spread: dict, spec: str = ".2f") -> str:
    return format(spread["median"], spec)


def t_train_default(r):
    flags, rows = lookup(r, "train:default/settings/runs"), lookup(r, "train:default/rows")
    return md(["flags", "Recall@20", "NDCG@20", "Recall@10", "NDCG@10", "training time", "s/epoch"], [
        [f"`{flags[k]}`" if flags[k] else "none (the defaults)",
         *(f"{x['final'][m]:.4f}" for m in ("recall@20", "ndcg@20", "recall@10", "ndcg@10")),
         f"{x['train_seconds']:.0f} s", med(x["s_per_epoch"])]
        for k, x in ordered(rows, ("seed-0", "seed-1", "seed-2", "draw-edges"))])


def t_train_tuning(r):
    configs, plateau = lookup(r, "train:tuning/settings/configs"), lookup(r, "train:tuning/settings/plateau")

    def label(c):
        neg = c["num_negatives"]
        return f"L2 {sci(c['reg'])}, {neg} negative{'s' * (neg > 1)}" + (f", lr {sci(c['lr'])}" if "lr" in c else "")
    rows = [[label(configs[k]), f"{x['best_recall@20']:.4f}", x["best_epoch"], x["plateau_epoch"],
             med(x["s_per_epoch"])] for k, x in lookup(r, "train:tuning/rows").items()]
    return md(["on the validation split", "best val Recall@20", "at epoch", f"within {plateau:.0%} of it from epoch",
               "s/epoch"], columns(rows, 1))


MODELS = ("mf", "ngcf", "lightgcn")


def t_train_same_budget(r):
    return md(["model", "Recall@20", "NDCG@20", "peak Recall@20 seen", "s/epoch"], [
        [m.upper() if m != "lightgcn" else "LightGCN", f"{x['recall@20']:.4f}", f"{x['ndcg@20']:.4f}",
         f"{x['best_recall@20']:.4f} (epoch {x['best_epoch']})", med(x["s_per_epoch"])]
        for m, x in ordered(lookup(r, "train:quality/same_budget"), MODELS)])


def t_train_early_stopping(r):
    return md(["model", "test Recall@20", "test NDCG@20", "best epoch (val)", "s/epoch", "train s"], [
        [m.upper() if m != "lightgcn" else "LightGCN", f"{x['recall@20']:.4f}", f"{x['ndcg@20']:.4f}",
         x["best_epoch"], med(x["s_per_epoch"]), f"{x['train_seconds']:.1f}"]
        for m, x in ordered(lookup(r, "train:quality/early_stopping"), MODELS)])


def t_train_msr(r):
    pub, ours = lookup(r, "train:msr/settings/published"), lookup(r, "train:msr/gnnrec_lite")
    keys = ("recall@10", "precision@10", "ndcg@10")
    rows = [[f"{pub['source']} (published)", *(f"{pub[k]:.4f}" for k in keys), "-"],
            [f"gnnrec_lite defaults, {ours['epochs']} epochs", *(f"{ours[k]:.4f}" for k in keys),
             f"{ours['train_seconds']:.0f} s"]]
    return md(["source", "Recall@10", "Precision@10", "NDCG@10", "training time"], columns(rows, 1, 2, 3))


SPEED_LABELS = {"gnnrec_lite": "gnnrec_lite (`torch.sparse` CSR, custom backward)",
                "gnnrec_lite-4neg": "gnnrec_lite, 4 negatives per positive (the default)",
                "pyg-csr": "PyG `LightGCN`, CSR adjacency (`to_torch_csr_tensor`)",
                "pyg-edge_index": "PyG `LightGCN`, `edge_index` (its default)"}


def t_train_speed(r):
    runs = lookup(r, "train:speed/runs")
    headers = [h for i in range(len(runs)) for h in (f"run {i + 1} s/epoch", "ratio")]
    return md(["implementation", *headers], [
        [SPEED_LABELS.get(name, name), *(c for run in runs for c in (
            med(run["s_per_epoch"][name], ".3f"),
            f"{run['ratio'][name]:.3f}" if name != "gnnrec_lite" else "1"))] for name in SPEED_LABELS])


def t_train_gowalla(r):
    x = lookup(r, "train:gowalla")
    return md(["train edges", "one epoch", "evaluate all users", "RSS after data", "peak RSS"], [
        [f"{x['train_edges']:,}", f"{x['epoch_s']:.1f} s", f"{x['eval_s']:.1f} s", f"{x['rss_data_mb']:,.0f} MB",
         f"{x['peak_rss_mb']:,.0f} MB"]])


def t_eval_ml100k(r):
    labels = {"random": "random embeddings, dim 64", "popular": "most popular"}
    rows = []
    for key, x in ordered(lookup(r, "eval:ml100k/rows"), labels):
        ours, peer = x["gnnrec"]["seconds"]["median"], x["peer"]["seconds"]["median"]
        rows.append([labels[key], f"{ours * 1e3:.0f} ms", f"{peer * 1e3:.0f} ms", f"{ours / peer:.1f}x",
                     f"{x['gnnrec']['recall@20']:.4f}", f"{x['gnnrec']['ndcg@20']:.4f}", sci(x["max_abs_diff"])])
    return md(["scorer", "gnnrec_lite", "peer (dense + `torch.topk` + PyG metrics)", "time vs peer", "Recall@20",
               "NDCG@20", "metrics agree to"], rows)


def t_eval_gowalla(r):
    labels = {"default": "`evaluate`, default batch", "batched": "naive batched peer (no checks, no tie rule)",
              "dense": "dense peer (the whole score matrix)"}
    return md(["method", "users per block", "median (min-max)", "time vs default", "RSS after data",
               "evaluation adds", "Recall@20", "agrees with default to"], [
        [labels.get(k, f"`evaluate`, batch_size={x['batch_size']}"), x["batch_size"] or "all",
         f"{x['seconds']['median']:.1f} s ({x['seconds']['min']:.1f}-{x['seconds']['max']:.1f})",
         f"{x['time_vs_default']:.2f}x", f"{x['baseline_mb']:,.0f} MB", f"+{x['increment_mb']:,.0f} MB",
         f"{x['recall@20']:.6f}", sci(x["max_abs_diff"]) if k != "default" else "-"]
        for k, x in ordered(lookup(r, "eval:gowalla/rows"), ("default", "batch-64", "batch-1024", "batched", "dense"))])


NEGATIVES = ("uniform", "shared-256", "shared-64", "shared-1024", "hard", "curriculum", "distance-sphere",
             "distance-empirical")


def t_negatives(r):
    s = lookup(r, "negatives:runs/settings")
    what = {"uniform": ("uniform", f"per user, M={s['num_negatives']}"),
            "hard": ("hard", f"shared M={s['num_shared']} + {s['num_hard']} hard per user"),
            "curriculum": ("curriculum", f"shared M={s['num_shared']} + min({s['num_hard']}, n-1) hard per user"),
            "distance-sphere": ("distance, paper's q(d)", f"per user, distance-weighted, M={s['num_negatives']}"),
            "distance-empirical": ("distance, empirical density (the trainer's)",
                                   f"per user, distance-weighted, M={s['num_negatives']}")}
    rows = [[*what.get(k, ("shared", f"one set per batch, M={x['num_shared']}")), med(x["s_per_epoch"], ".3f"),
             f"{x['negative_embeddings_per_epoch']:,.0f}", f"{x['recall@20']:.4f}", f"{x['recall@5']:.4f}",
             f"{x['ndcg@20']:.4f}"] for k, x in ordered(lookup(r, "negatives:runs/rows"), NEGATIVES)]
    return md(["sampler", "negatives", "s/epoch", "negative embeddings / epoch", "Recall@20", "Recall@5", "NDCG@20"],
              columns(rows, 4, 5, 6))


def t_histogram(r):
    edges = lookup(r, "negatives:histogram/settings/edges")
    epochs = lookup(r, "negatives:histogram/settings/num_epochs")
    cases = {"random": "random 64-d points", "lightgcn": f"LightGCN, {epochs} epochs"}
    names = {"uniform": "uniform", "sphere": "paper's q(d)", "empirical": "empirical density"}
    return md(["embeddings", "sampling", *(f"{a}-{b}" for a, b in zip(edges, edges[1:]))], [
        [cases[c], names[s], *(f"{x['share'][f'{a}-{b}']:.2f}" for a, b in zip(edges, edges[1:]))]
        for c, by in ordered(lookup(r, "negatives:histogram/rows"), cases) for s, x in ordered(by, names)])


def t_pinsage(r):
    labels = {"untrained": "untrained PinSAGE-lite", "pinsage": "PinSAGE-lite (features + graph)",
              "pinsage-dropout": "PinSAGE-lite, neighbour dropout 0.3",
              "pinsage-embedding": "PinSAGE-lite + per-item embedding", "shallow": "shallow encoder (embedding only)",
              "features": "features only (no graph)",
              "PinSAGE-lite+2-hard-negatives": "PinSAGE-lite + 2 hard negatives from walks",
              "LightGCN-item-embeddings": "LightGCN's item embeddings", "item-kNN-cosine": "item-kNN (cosine)"}
    rows = lookup(r, "pinsage:item2item/rows")
    chance = next(iter(rows.values()))["cold"]["genre_chance"]
    return md(["model", "Hit@10", "MRR", "cold Hit@10", "cold MRR", f"cold genre share@10 (chance {chance:.3f})",
               "train s"], [[labels.get(k, k), f"{x['metrics']['hit@10']:.4f}", f"{x['metrics']['mrr']:.4f}",
                             f"{x['cold']['cold_hit@10']:.4f}", f"{x['cold']['cold_mrr']:.4f}",
                             f"{x['cold']['cold_genre_share@10']:.3f}", f"{x['train_seconds']:.1f}"]
                            for k, x in ordered(rows, labels)])


def t_autograde(r):
    return md(["homework", "submissions", "graded", "minutes in all", "s / submission", "peak RSS, process tree",
               "peak RSS, one process", "scores seen"], [
        [hw, x["settings"]["submissions"], x["graded"], f"{x['seconds'] / 60:.1f}", f"{x['s_per_submission']:.1f}",
         f"{x['peak_tree_mb']:,.0f} MB", f"{x['peak_one_mb']:,.0f} MB", ", ".join(f"{v:g}" for v in x["scores"])]
        for hw, x in sorted(lookup(r, "autograde:").items())])


def t_autograde_jobs(r):
    """``make autograde JOBS=N``: the class graded N at a time (sections that measured several values of N)."""
    rows = []
    for hw, x in sorted(lookup(r, "autograde:").items()):
        for jobs, j in sorted(x.get("jobs", {}).items(), key=lambda kv: int(kv[0])):
            rows.append([hw, jobs, x["graded"], f"{j['seconds'] / 60:.2f}",
                         ", ".join(f"{s / 60:.2f}" for s in j["seconds_each"]),
                         f"{j['seconds'] / x['graded']:.1f}", f"{x['speedup'][jobs]:.2f}x",
                         f"{j['peak_job_mb']:,.0f} MB", f"{j['peak_tree_mb']:,.0f} MB"])
    return md(["homework", "JOBS", "graded", "minutes (median)", "each run", "s / submission", "speed-up",
               "peak RSS per job", "peak RSS, all"], rows)


LECTURE_ROWS = [  # lecture, what, result: formatted from the LECTURE_KEYS names
    ("01", "most popular, Recall@20 with / without excluding seen items",
     "{popular_recall20:.4f} / {popular_recall20_seen:.4f} ({popular_seen_slots:.1f} of 20 slots hold seen movies)"),
    ("02", "the 2x2 case: Recall@1, binary loss, BPR loss",
     "{toy_recall1:.1f}, {toy_binary_loss:.4f}, {toy_bpr_loss:.4f}"),
    ("02", "adding {shift_c:g} to u0's scores: change of binary loss / BPR",
     "{shift_binary_delta:+.4f} / {shift_bpr_delta:.1f}"),
    ("03", "MF, up to {mf_epochs} epochs, stopped on validation: test Recall@20 (best epoch); the loop written "
           "from scratch; item-kNN",
     "{mf_recall20:.4f} (epoch {mf_best_epoch}); {scratch_recall20:.4f}; {knn_recall20_03:.4f}"),
    ("03", "5-NN genre agreement of item embeddings: random start / trained / chance",
     "{genre_epoch0:.3f} / {genre_trained:.3f} / {genre_chance:.3f}"),
    ("05", "dense Â^3 against three sparse products: memory, time",
     "{dense_mb:.1f} MB, {dense_s:.2f} s against {sparse_mb:.1f} MB, {sparse_s:.4f} s"),
    ("05", "library propagation against the dense formula", "max abs diff {propagation_diff:.1e}"),
    ("07", "shared-negative saving in embeddings per epoch", "{neg_saving:.0f}x (the batch size, {neg_batch_size})"),
]


def t_lectures(r):
    names = set(re.findall(r"\{(\w+)", "".join(w + c for _, w, c in LECTURE_ROWS)))
    values = {name: lecture_value(r, name) for name in names}
    return md(["lecture", "what", "result"], [[n, w.format(**values), c.format(**values)] for n, w, c in LECTURE_ROWS])


def t_lecture_models(r):
    steps = lecture_value(r, "step_seconds")
    return md(["model", "test Recall@20", "test NDCG@20", "best epoch (validation)", "ms per training step"], [
        [label, *(fmt(lecture_value(r, f"{m}_{f}"), spec) for f, spec in (
            ("recall20", ".4f"), ("ndcg20", ".4f"), ("best_epoch", "d"))), f"{1000 * steps[m]:.1f}"]
        for m, label in (("mf", "MF"), ("ngcf", "NGCF"), ("lightgcn", "LightGCN"))])


def t_lecture_sources(r):
    return md(["lecture", "records from"], sorted(lookup(r, "lectures:copied").items()))


def t_lecture_times(r):
    times = lookup(r, "lectures:run_seconds")
    lectures = sorted({n for t in times.values() for n in t})
    halves = [lectures[:3], lectures[3:]]
    return md(["lecture", *lectures, *(f"{h[0]}-{h[-1]}" for h in halves)], [
        [mode if mode != "fast" else "FAST", *(t.get(n, "-") for n in lectures),
         *(sum(t.get(n, 0) for n in h) for h in halves)] for mode, t in sorted(times.items(), reverse=True)])


def t_machines(r):
    rows = []
    for data in r.values():
        for name, s in data.get("sections", {}).items():
            run = s["run"]
            rows.append([f"`{data['script']}`", name, run["date"], run["cpu_count"], f"{run['memory_gb']:.0f} GiB",
                         run["torch"], run["threads"], f"{run['load_average_at_start']:.1f}",
                         duration(run["seconds"]), f"`{run['command']}`"])
    return md(["script", "section", "run (UTC)", "CPUs", "memory", "torch", "threads", "load at start", "took",
               "command"], rows)


TABLES = {
    "autograde.jobs": t_autograde_jobs,
    "train.default": t_train_default, "train.tuning": t_train_tuning, "train.same_budget": t_train_same_budget,
    "train.early_stopping": t_train_early_stopping, "train.msr": t_train_msr, "train.speed": t_train_speed,
    "train.gowalla": t_train_gowalla, "eval.ml100k": t_eval_ml100k, "eval.gowalla": t_eval_gowalla,
    "negatives.runs": t_negatives, "negatives.histogram": t_histogram, "pinsage": t_pinsage, "autograde": t_autograde,
    "lectures": t_lectures, "lectures.models": t_lecture_models, "lectures.times": t_lecture_times,
    "lectures.sources": t_lecture_sources, "machines": t_machines,
}
