"""Training benchmarks: speed against PyG, quality of MF / NGCF / LightGCN, and a Gowalla-size run.

    python benchmarks/bench_train.py --section speed     # s/epoch vs torch_geometric LightGCN
    python benchmarks/bench_train.py --section quality   # MF vs NGCF vs LightGCN, same budget
    python benchmarks/bench_train.py --section default   # `gnnrec train` defaults on ML-100K
    python benchmarks/bench_train.py --section msr       # the Microsoft Recommenders protocol
    python benchmarks/bench_train.py --section gowalla   # 29,858 x 40,981, 810k edges: time and peak RSS
    python benchmarks/bench_train.py                     # all of them

Prints markdown tables; asserts nothing. Times are medians over epochs, and
every comparison is made within one run, on the same data and hyperparameters,
because shared machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gnnrec_lite as gl  # noqa: E402
from gnnrec_lite.models import build_model  # noqa: E402
from gnnrec_lite.sampling import BPRSampler  # noqa: E402
from gnnrec_lite.train import train_bpr  # noqa: E402

warnings.filterwarnings("ignore", message=r".*[Ss]parse CSR tensor support is in beta.*")


def table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------- speed
def _pyg_epoch_times(train, epochs, use_csr, batch_size=2048, dim=64, layers=3, lr=5e-3, reg=1e-4):
    from torch_geometric.nn.models import LightGCN as PygLightGCN
    from torch_geometric.utils import to_torch_csr_tensor

    n = train.num_users + train.num_items
    edge_index = gl.to_homogeneous_edge_index(train)
    graph = to_torch_csr_tensor(edge_index, size=(n, n)) if use_csr else edge_index
    torch.manual_seed(0)
    model = PygLightGCN(n, dim, layers)
    torch.nn.init.normal_(model.embedding.weight, std=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sampler = BPRSampler(train, seed=0)
    steps = math.ceil(len(train) / batch_size)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(steps):
            users, pos, neg = sampler.sample(batch_size)
            z = model.get_embedding(graph)
            u, p, q = z[users], z[train.num_users + pos], z[train.num_users + neg[:, 0]]
            loss = gl.bpr_loss((u * p).sum(-1), (u * q).sum(-1))
            e = model.embedding.weight
            e_u, e_p, e_n = e[users], e[train.num_users + pos], e[train.num_users + neg[:, 0]]
            l2 = e_u.pow(2).sum() + e_p.pow(2).sum() + e_n.pow(2).sum()
            loss = loss + reg * l2 / (2 * batch_size)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def section_speed(args) -> None:
    train, _ = gl.random_split(gl.load("ml-100k"), 0.8, seed=0)
    epochs = args.epochs_speed
    ours = build_model("lightgcn", train, seed=0)
    hist = train_bpr(ours, train, num_epochs=epochs, eval_every=0, progress=False, num_negatives=1, reg=1e-4)
    ours_t = [r["seconds"] for r in hist.rows]
    csr_t = _pyg_epoch_times(train, epochs, use_csr=True)
    ei_t = _pyg_epoch_times(train, max(2, epochs // 3), use_csr=False)
    med = {name: statistics.median(t) for name, t in
           (("gnnrec_lite", ours_t), ("pyg-csr", csr_t), ("pyg-edge_index", ei_t))}
    rows = [(name, f"{m:.3f}", f"{med['gnnrec_lite'] / m:.3f}") for name, m in med.items()]
    print("\n### LightGCN seconds per training epoch (ML-100K 80/20, 64 dims, 3 layers, batch 2048, 1 negative)\n")
    print(table(["implementation", "median s/epoch", "gnnrec_lite / this"], rows))


# ----------------------------------------------------------------- quality
def _fit(name, train, test, epochs, k=(10, 20), **kw):
    extra = {key: kw.pop(key) for key in ("embedding_dim", "num_layers") if key in kw}
    model = build_model(name, train, seed=0, **extra)
    hist = train_bpr(model, train, test=test, num_epochs=epochs, progress=False, k=k, **kw)
    return hist


def section_quality(args) -> None:
    train, test = gl.random_split(gl.load("ml-100k"), 0.8, seed=0)
    rows = []
    for name in ("mf", "ngcf", "lightgcn"):
        hist = _fit(name, train, test, args.epochs_quality)
        best = max(hist.evaluations(), key=lambda r: r["test/recall@20"])
        last = hist.final("test")
        rows.append((name, f"{last['recall@20']:.4f}", f"{last['ndcg@20']:.4f}",
                     f"{best['test/recall@20']:.4f} (epoch {best['epoch']})", f"{hist.seconds_per_epoch:.3f}"))
    print(f"\n### Same budget: {args.epochs_quality} epochs of the course defaults (64 dims, 3 layers, lr 5e-3, "
          "L2 1e-3, 4 negatives, batch 2048), ML-100K 80/20 seed 0\n")
    print(table(["model", "Recall@20", "NDCG@20", "peak Recall@20 seen", "s/epoch"], rows))

    # the fair protocol: each model stops on its own validation split (10% of train), never on test
    fit, val = gl.random_split(train, 0.9, seed=1)
    rows = []
    for name in ("mf", "ngcf", "lightgcn"):
        model = build_model(name, fit, seed=0)
        hist = train_bpr(model, fit, val=val, test=test, num_epochs=args.epochs_quality, eval_every=5,
                         patience=4, progress=False)
        f = {k[len("best/test/"):]: v for k, v in hist.rows[-1].items() if k.startswith("best/test/")}
        f = f or hist.final("test")
        rows.append((name, f"{f['recall@20']:.4f}", f"{f['ndcg@20']:.4f}", hist.best_epoch,
                     f"{hist.seconds_per_epoch:.3f}", f"{hist.train_seconds:.1f}"))
    print("\n### Early stopping on a validation split (10% of train, patience 4 evaluations, every 5 epochs)\n")
    print(table(["model", "test Recall@20", "test NDCG@20", "best epoch (val)", "s/epoch", "train s"], rows))


def section_default(args) -> None:
    out = Path(args.tmp) / "default.json"
    cmd = [sys.executable, "-m", "gnnrec_lite.cli", "train", "--dataset", "ml-100k", "--quiet", "--json", str(out)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    res = json.loads(out.read_text())
    f = res["final"]
    print("\n### `gnnrec train --model lightgcn --dataset ml-100k` with the default flags\n")
    print(table(["Recall@20", "NDCG@20", "Recall@10", "train s", "s/epoch", "epochs", "best epoch"],
                [(f"{f['recall@20']:.4f}", f"{f['ndcg@20']:.4f}", f"{f['recall@10']:.4f}",
                  f"{res['train_seconds']:.1f}", f"{res['seconds_per_epoch']:.3f}", len(res["history"]),
                  res["best_epoch"])]))


def section_msr(args) -> None:
    train, test = gl.random_split(gl.load("ml-100k"), 0.75, seed=0)
    hist = _fit("lightgcn", train, test, args.epochs_msr, k=(10,), monitor="recall@10", eval_every=0,
                max_seconds=120)
    f = hist.final("test")
    print("\n### Microsoft Recommenders protocol (75/25, seen items removed), LightGCN\n")
    print(table(["source", "Recall@10", "Precision@10", "NDCG@10", "train s"], [
        ("published, 50 epochs", "0.2132", "0.3993", "0.4530", "-"),
        (f"gnnrec_lite, {len(hist.rows)} epochs", f"{f['recall@10']:.4f}", f"{f['precision@10']:.4f}",
         f"{f['ndcg@10']:.4f}", f"{hist.train_seconds:.1f}")]))


def _gowalla_child() -> None:
    data = gl.synthetic(29858, 40981, 1_012_500, seed=0)  # 80% of it: ~810k training edges, as in Gowalla
    train, test = gl.random_split(data, 0.8, seed=0)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = build_model("lightgcn", train, seed=0)
    hist = train_bpr(model, train, num_epochs=1, eval_every=0, progress=False)
    t = time.perf_counter()
    result = gl.evaluate(model(), train, test, k=20)
    eval_s = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"train_edges": len(train), "epoch_s": hist.train_seconds, "eval_s": eval_s,
                      "recall@20": result["recall@20"], "rss_data_mb": base / 1024, "peak_rss_mb": peak / 1024}))


def section_gowalla(args) -> None:
    proc = subprocess.run([sys.executable, __file__, "--gowalla-child"], capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print("\n### Gowalla size (synthetic): 29,858 users x 40,981 items, LightGCN 64 dims, 3 layers\n")
    print(table(["train edges", "one epoch s", "evaluate all users s", "RSS after data MB", "peak RSS MB"],
                [(f"{r['train_edges']:,}", f"{r['epoch_s']:.1f}", f"{r['eval_s']:.1f}",
                  f"{r['rss_data_mb']:.0f}", f"{r['peak_rss_mb']:.0f}")]))


SECTIONS = {"speed": section_speed, "quality": section_quality, "default": section_default,
            "msr": section_msr, "gowalla": section_gowalla}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--section", choices=sorted(SECTIONS), action="append")
    p.add_argument("--epochs-speed", type=int, default=6)
    p.add_argument("--epochs-quality", type=int, default=100)
    p.add_argument("--epochs-msr", type=int, default=100)
    p.add_argument("--tmp", default="/tmp")
    p.add_argument("--gowalla-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.gowalla_child:
        _gowalla_child()
        return
    for name in args.section or list(SECTIONS):
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
