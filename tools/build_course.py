"""`make course`: build and check the whole course on the data that ships with the setup.

Each stage prints what it did and how long it took; the end is one summary
table, also written to ``build/course-summary.json``. Later stages (lectures,
homework release, autograding) are added here as the course grows.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gnnrec_lite as gl  # noqa: E402
from gnnrec_lite.datasets import cache  # noqa: E402


def stage_data(summary: dict) -> None:
    """Load every dataset offline and print its shape."""
    for name in ("ml-100k", "southern-women", "lecture-toy"):
        stats = gl.load(name).describe()
        summary[f"data/{name}"] = (f"{stats['users']:,} users, {stats['items']:,} items, "
                                   f"{stats['interactions']:,} interactions, density {stats['density']:.4f}")
    ml = gl.load("ml-100k").describe()
    summary["data/ml-100k degrees"] = (f"user median {ml['user_degree_median']:.0f} (min {ml['user_degree_min']}), "
                                       f"item median {ml['item_degree_median']:.0f} (max {ml['item_degree_max']}); "
                                       f"top 20% of items hold {ml['share_of_top_20pct_items']:.0%} of ratings")


def stage_baseline(summary: dict) -> None:
    """Most-popular on ML-100K, per-user random 80/20 split, seed 0, train items excluded."""
    train, test = gl.random_split(gl.load("ml-100k"), 0.8, seed=0)
    result = gl.evaluate(gl.most_popular(train), train, test, k=(10, 20))
    summary["most-popular Recall@20"] = f"{result['recall@20']:.4f}"
    summary["most-popular NDCG@20"] = f"{result['ndcg@20']:.4f}"
    summary["most-popular Precision@20"] = f"{result['precision@20']:.4f}"


def stage_models(summary: dict) -> None:
    """MF and LightGCN with the course's default recipe (`gnnrec train` defaults), same split."""
    from gnnrec_lite.models import build_model
    from gnnrec_lite.train import train_bpr

    train, test = gl.random_split(gl.load("ml-100k"), 0.8, seed=0)
    for name in ("mf", "lightgcn"):
        model = build_model(name, train, seed=0)
        history = train_bpr(model, train, test=test, progress=False)
        final = history.final("test")
        summary[f"{name} Recall@20 / NDCG@20"] = (f"{final['recall@20']:.4f} / {final['ndcg@20']:.4f} "
                                                 f"({len(history.rows)} epochs, {history.seconds_per_epoch:.2f} "
                                                 f"s/epoch, {history.train_seconds:.0f} s)")


STAGES = [("data", stage_data), ("baseline", stage_baseline), ("models", stage_models)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "build"), help="where the summary goes")
    args = parser.parse_args(argv)
    summary: dict[str, str] = {}
    timings: dict[str, float] = {}
    print(f"gnnrec course build (data cache: {cache.data_home()})")
    for name, stage in STAGES:
        start = time.perf_counter()
        stage(summary)
        timings[name] = time.perf_counter() - start
        print(f"  [{name}] done in {timings[name]:.1f} s")
    width = max(map(len, summary))
    print("\nSummary")
    for key, value in summary.items():
        print(f"  {key:<{width}}  {value}")
    print(f"  {'total time':<{width}}  {sum(timings.values()):.1f} s")
    cache.atomic_write_json(Path(args.out) / "course-summary.json",
                            {"summary": summary, "seconds": {k: round(v, 3) for k, v in timings.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
