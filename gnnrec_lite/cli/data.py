"""``gnnrec data fetch | info | path``: the dataset cache from the command line."""

from __future__ import annotations

import argparse
import json

from .. import datasets


def data_dir_option() -> argparse.ArgumentParser:
    """``--data-dir``, shared by every command that reads a dataset."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=None,
                        help=f"cache folder (default: ${datasets.cache.ENV_VAR} or ~/.cache/gnnrec)")
    return common


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def run_fetch(args) -> int:
    where = datasets.fetch(args.name, data_dir=args.data_dir, force=args.force, source=args.source)
    print(where if where is not None else f"{args.name} ships with the library; nothing to fetch")
    return 0


def run_info(args) -> int:
    stats = datasets.load(args.name, data_dir=args.data_dir).describe()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{args.name}: {datasets.DATASETS[args.name]}")
    width = max(map(len, stats))
    for key, value in stats.items():
        print(f"  {key:<{width}}  {_fmt(value)}")
    return 0


def run_path(args) -> int:
    print(datasets.data_home(args.data_dir))
    return 0


def add_data_parsers(sub) -> None:
    data = sub.add_parser("data", help="fetch and inspect datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    names = sorted(datasets.DATASETS)
    common = data_dir_option()

    fetch = data_sub.add_parser("fetch", parents=[common], help="download a dataset into the cache")
    fetch.add_argument("name", choices=names)
    fetch.add_argument("--force", action="store_true", help="fetch again even if a valid copy exists")
    fetch.add_argument("--source", default=None, help="read a local RecBole wheel or GroupLens zip instead")
    fetch.set_defaults(func=run_fetch)

    info = data_sub.add_parser("info", parents=[common], help="counts, density and degree statistics")
    info.add_argument("name", choices=names)
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=run_info)

    path = data_sub.add_parser("path", parents=[common], help="print the cache folder")
    path.set_defaults(func=run_path)
