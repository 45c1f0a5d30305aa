"""The numbers behind docs/results.md: benchmarks/results/*.json and the lecture records, read by name.

Used by tools/make_results.py (the template) and tools/results_tables.py (the tables); nothing here measures
anything.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"

# The lecture records the results use: name in the template -> (lecture number, record key in its records.json).
LECTURE_KEYS = {
    "popular_recall20": ("01", "popular/recall@20"),
    "popular_recall20_seen": ("01", "popular/recall@20 (no exclusion)"),
    "popular_seen_slots": ("01", "popular/seen slots in top-20 (no exclusion)"),
    "toy_recall1": ("02", "toy/recall@1"),
    "toy_binary_loss": ("02", "toy/binary loss"),
    "toy_bpr_loss": ("02", "toy/bpr loss"),
    "shift_c": ("02", "shift/c"),
    "shift_binary_delta": ("02", "shift/binary delta"),
    "shift_bpr_delta": ("02", "shift/bpr delta"),
    "mf_epochs": ("03", "mf/epochs"),
    "mf_recall20": ("03", "mf/recall@20"),
    "mf_best_epoch": ("03", "mf/best epoch"),
    "knn_recall20_03": ("03", "itemknn/recall@20"),
    "scratch_recall20": ("03", "scratch/test recall@20"),
    "genre_epoch0": ("03", "genre 5-nn agreement/epoch 0"),
    "genre_trained": ("03", "genre 5-nn agreement/trained"),
    "genre_chance": ("03", "genre 5-nn agreement/chance"),
    "reach_shares": ("04", "reach/median share within k hops"),
    "dense_mb": ("05", "dense/megabytes"),
    "dense_s": ("05", "dense/seconds"),
    "sparse_mb": ("05", "sparse/megabytes"),
    "sparse_s": ("05", "sparse/seconds"),
    "propagation_diff": ("05", "lightgcn/propagation max abs diff"),
    **{f"{m}_{field}": ("05", f"{m}/{key}") for m in ("mf", "ngcf", "lightgcn") for field, key in (
        ("recall20", "recall@20"), ("ndcg20", "ndcg@20"), ("best_epoch", "best epoch"))},
    "step_seconds": ("05", "step seconds"),  # {"mf", "ngcf", "lightgcn"}: one training step, measured in turns
    "knn_recall20": ("05", "itemknn/recall@20"),
    "popular_recall20_05": ("05", "popular/recall@20"),
    "neg_saving": ("07", "negatives/saving"),
    "neg_batch_size": ("07", "negatives/batch size"),
    "uniform_recall20": ("07", "uniform/recall@20"),
    "shared_recall20": ("07", "shared/recall@20"),
    "scheme_recall20": ("07", "curriculum/recall@20"),  # {"shared", "hard", "curriculum"}
    "seed_noise": ("07", "curriculum/seed noise"),
}

class ResultsError(ValueError):
    """A placeholder that cannot be filled: unknown file, key, verb or table; the message says which."""


def load_results(folder: Path = RESULTS) -> dict:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def lecture_value(results: dict, name: str):
    """A lecture record by its name in ``LECTURE_KEYS``; a missing one is an error naming the key."""
    if name not in LECTURE_KEYS:
        raise ResultsError(f"unknown lecture value {name!r}; add it to LECTURE_KEYS in tools/results_data.py")
    lecture, key = LECTURE_KEYS[name]
    records = results.get("lectures", {}).get("records", {})
    stem = next((s for s in records if s.split("_")[0] == lecture), None)
    if stem is None or key not in records[stem]:
        raise ResultsError(f"lecture {lecture} has no record {key!r} (LECTURE_KEYS[{name!r}]) in "
                           "benchmarks/results/lectures.json; rerun `make course` and "
                           "`python tools/make_results.py --from-course build`, or fix LECTURE_KEYS")
    return records[stem][key]


def lookup(results: dict, ref: str, default_file: str | None = None):
    """``FILE:a/b/c`` -> the value; ``a/b/c`` alone reads the file of the previous reference."""
    file, _, path = ref.rpartition(":") if ":" in ref else (default_file, ":", ref)
    if not file:
        raise ResultsError(f"reference {ref!r} names no file (write FILE:path)")
    if file not in results:
        raise ResultsError(f"no benchmarks/results/{file}.json (reference {ref!r})")
    parts = path.split("/") if path else []
    if file == "lectures" and parts and parts[0] not in results[file]:  # a LECTURE_KEYS name
        value, parts = lecture_value(results, parts[0]), parts[1:]
    else:
        value = results[file].get("sections", results[file])
    for i, part in enumerate(parts):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ResultsError(f"{file}.json has no {'/'.join(parts[:i + 1])!r} (reference {ref!r})") from None
    return value


def fmt(value, spec: str = "") -> str:
    """Format a number: ``spec`` is a Python format spec or ``sci`` (``5e-3``), optionally after the word ``abs``."""
    if isinstance(value, tuple):
        return "-".join(fmt(v, spec) for v in value)
    if isinstance(value, str):
        return value
    if spec.startswith("abs"):
        value, spec = abs(value), spec[3:].strip()
    if spec == "sci":
        return sci(value)
    if not spec:
        spec = "," if isinstance(value, int) else ".4g"
    return format(value, spec)



def sci(x: float) -> str:
    """``5e-3`` rather than Python's ``5e-03``; ``0`` for zero."""
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e") if x else "0"
