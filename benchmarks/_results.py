"""What every benchmark writes besides its markdown tables: measurements as JSON, for ``tools/make_results.py``.

One file per script, ``benchmarks/results/<script name without bench_>.json``::

    {"script": "bench_negatives.py",
     "sections": {"runs": {"run": {machine facts, date, command, seconds},
                           "settings": {...}, ...raw measurements...}}}

A run that covers some sections only (``--section``, ``--only``, ``--quick``)
replaces those sections and keeps the others. Times are stored raw (median,
min, max, n of the repeats), never as formatted strings, so the generator can
take any ratio. The file is written to a temporary name, then renamed.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import gnnrec_lite
from gnnrec_lite.datasets.cache import atomic_write_json

RESULTS = Path(__file__).resolve().parent / "results"


def default_path(script: str) -> Path:
    """``benchmarks/results/eval.json`` for ``bench_eval.py``."""
    return RESULTS / f"{Path(script).stem.removeprefix('bench_')}.json"


def add_json_argument(parser, script: str) -> None:
    parser.add_argument("--json", default=str(default_path(script)),
                        help="merge this run's sections into this JSON file (default: %(default)s)")


def spread(values) -> dict:
    """``{"median", "min", "max", "n"}`` of some repeated measurement."""
    values = [float(v) for v in values]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            return int(f.readline().split()[1]) / 2**20  # MemTotal, KiB
    except (OSError, ValueError, IndexError):
        return None


class Section:
    """Times one section and records the machine it ran on: ``with Section("speed") as s: s.data[...] = ...``."""

    def __init__(self, name: str, **settings) -> None:
        self.name, self.data = name, {"settings": settings}

    def __enter__(self) -> Section:
        self.start = time.perf_counter()
        self.run = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                    "cpu_count": os.cpu_count(), "memory_gb": memory_gb(), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "python": platform.python_version(),
                    "machine": platform.machine(), "gnnrec_lite": gnnrec_lite.__version__,
                    "load_average_at_start": os.getloadavg()[0],
                    "command": " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])}
        return self

    def __exit__(self, *exc) -> None:
        self.run["seconds"] = time.perf_counter() - self.start
        self.data["run"] = self.run


def save(path: str | os.PathLike, script: str, sections: list[Section]) -> None:
    """Merge ``sections`` into the JSON at ``path`` (other sections kept) and write it atomically."""
    path = Path(path)
    old = json.loads(path.read_text()) if path.is_file() else {}
    merged = old.get("sections", {}) if old.get("script") == script else {}
    merged.update({s.name: s.data for s in sections})
    atomic_write_json(path, {"script": script, "sections": merged})
    print(f"\nwrote {', '.join(s.name for s in sections)} to {path}", file=sys.stderr)
