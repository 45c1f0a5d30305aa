"""MovieLens-100K: fetched once into the cache, then loaded offline.

Introduced in lecture 01. 943 users rated 1682 movies, 100,000 ratings
(Harper and Konstan, "The MovieLens Datasets", ACM TiiS 2015). Every rating
counts as one interaction.

Sources, tried in order by :func:`fetch_ml100k`:

1. the RecBole 1.2.1 wheel from the package registry (``pip download
   --no-deps``), which ships ``recbole/dataset_example/ml-100k/``. The wheel is
   only opened as a zip archive; recbole is never installed or imported.
2. GroupLens' ``ml-100k.zip``.

Either way the rating rows are rebuilt in the layout of GroupLens' ``u.data``
and must match its SHA-256 byte for byte, or nothing is written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..interactions import Interactions
from .cache import atomic_write_bytes, atomic_write_json, data_home, sha256_bytes, sha256_file
from .ml100k_archive import GENRES, U_DATA_SHA256, DataError, read_archive

NAME = "ml-100k"
NUM_USERS, NUM_ITEMS, NUM_RATINGS = 943, 1682, 100_000
RECBOLE_REQUIREMENT = "recbole==1.2.1"
GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
FETCH_COMMAND = "gnnrec data fetch ml-100k"
FILES = ("u.data", "items.tsv", "users.tsv")

# ----------------------------------------------------------------- fetching
def fetch_ml100k(data_dir=None, *, force: bool = False, source=None, quiet: bool = False) -> Path:
    """Put MovieLens-100K into the cache and return its folder.

    Does nothing when a verified copy is already there (unless ``force``).

    Args:
        data_dir: cache folder (see :func:`gnnrec_lite.datasets.data_home`).
        force (bool): fetch again even if a valid copy exists.
        source: a local RecBole wheel or GroupLens zip to read instead of
            downloading; the same checks apply.
        quiet (bool): print nothing.
    """
    target = data_home(data_dir) / NAME
    if not force and target.exists():
        try:
            verify_ml100k(target)
            return target
        except DataError:
            pass  # broken copy: fetch again and replace it
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    if source is not None:
        files = read_archive(source)
    else:
        files, errors = None, []
        for label, get in (("the RecBole 1.2.1 wheel", _download_wheel), ("GroupLens", _download_grouplens)):
            try:
                say(f"fetching {NAME} from {label} ...")
                with tempfile.TemporaryDirectory() as tmp:
                    files = read_archive(get(Path(tmp)))
                break
            except (OSError, DataError, subprocess.SubprocessError, zipfile.BadZipFile) as exc:
                errors.append(f"{label}: {exc}")
                say(f"  failed: {exc}")
        if files is None:
            raise DataError(f"could not fetch {NAME}:\n  " + "\n  ".join(errors))
    _install(files, target)
    say(f"{NAME} verified and stored in {target}")
    return target


def _download_wheel(tmp: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(tmp), RECBOLE_REQUIREMENT]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(tmp.glob("recbole-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise DataError(f"pip download failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    return wheels[0]


def _download_grouplens(tmp: Path) -> Path:
    out = tmp / "ml-100k.zip"
    with urllib.request.urlopen(GROUPLENS_URL, timeout=60) as resp:
        out.write_bytes(resp.read())
    return out


def _install(files: dict[str, bytes], target: Path) -> None:
    """Write into a temporary folder beside ``target``, verify, then swap it in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{NAME}.", dir=target.parent))
    try:
        for name in FILES:
            atomic_write_bytes(tmp / name, files[name])
        atomic_write_json(tmp / "manifest.json", {
            "dataset": NAME,
            "sha256": {name: sha256_bytes(files[name]) for name in FILES},
        })
        verify_ml100k(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{NAME}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ loading
def verify_ml100k(folder: Path) -> None:
    """Raise :class:`DataError` unless every cached file matches its checksum."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise DataError(f"{manifest_path} is missing; run `{FETCH_COMMAND} --force`")
    try:
        expected = json.loads(manifest_path.read_text())["sha256"]
        if not isinstance(expected, dict):
            raise ValueError("'sha256' is not a mapping")
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{manifest_path} is unreadable ({exc!r}); run `{FETCH_COMMAND} --force`") from None
    if expected.get("u.data") != U_DATA_SHA256:
        raise DataError(f"{manifest_path} records a wrong u.data checksum; run `{FETCH_COMMAND} --force`")
    for name in FILES:
        file = folder / name
        if not file.is_file():
            raise DataError(f"{file} is missing; run `{FETCH_COMMAND} --force`")
        digest = sha256_file(file)
        if digest != expected.get(name):
            raise DataError(
                f"{file} is corrupt or truncated (sha256 {digest}, expected {expected.get(name)}); "
                f"run `{FETCH_COMMAND} --force`"
            )


def load_ml100k(data_dir=None) -> Interactions:
    """Load MovieLens-100K from the cache; never touches the network.

    Returns an :class:`Interactions` with 943 users, 1682 items and 100,000
    interactions, ratings and timestamps, item names ("Toy Story (1995)"),
    19 genre indicator columns as ``item_features`` and ``item_meta`` with
    ``title``, ``year`` (int or None) and ``genres``.
    """
    folder = data_home(data_dir) / NAME
    if not folder.exists():
        raise FileNotFoundError(
            f"MovieLens-100K is not in the cache ({folder}). Run `{FETCH_COMMAND}` "
            f"(or `make setup`) once while online; after that it loads offline."
        )
    verify_ml100k(folder)
    ratings = _parse_table(folder / "u.data", ncols=4, header=False)
    cols = np.array(ratings, dtype=np.int64)  # (E, 4): user, item, rating, timestamp
    items = _parse_table(folder / "items.tsv", ncols=4, header=True)
    for lineno, (item_id, _, year, genre) in enumerate(items, start=2):
        bad = ("item id", item_id) if not item_id.isdigit() else ("year", year) if year and not year.isdigit() \
            else next((("genre", g) for g in genre.split("|") if genre and g not in GENRES), None)
        if bad:
            raise DataError(f"{folder / 'items.tsv'}, line {lineno}: bad {bad[0]} {bad[1]!r}")
    item_ids = np.array([int(r[0]) for r in items])
    order = np.argsort(item_ids)
    items = [items[i] for i in order]
    titles = [r[1] for r in items]
    years = [int(r[2]) if r[2] else None for r in items]
    genres = [r[3].split("|") if r[3] else [] for r in items]
    features = torch.zeros(len(items), len(GENRES))
    for row, gs in enumerate(genres):
        for g in gs:
            features[row, GENRES.index(g)] = 1.0
    inter = Interactions.from_raw(
        cols[:, 0], cols[:, 1], rating=cols[:, 2], timestamp=cols[:, 3],
        item_names=[f"{t} ({y})" if y else t for t, y in zip(titles, years, strict=False)],
        item_features=features, item_feature_names=list(GENRES),
        item_meta={"title": titles, "year": years, "genres": genres}, name=NAME,
    )
    if (inter.num_users, inter.num_items, len(inter)) != (NUM_USERS, NUM_ITEMS, NUM_RATINGS):
        raise DataError(f"{folder}: unexpected counts {inter}")
    if not np.array_equal(inter.item_raw_ids, item_ids[order]):
        raise DataError(f"{folder / 'items.tsv'}: item ids do not match the rated items")
    return inter


def _parse_table(file: Path, *, ncols: int, header: bool) -> list[list[str]]:
    rows = []
    with open(file, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if header and lineno == 1:
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != ncols:
                raise DataError(f"{file}, line {lineno}: expected {ncols} tab-separated columns, got {len(cols)}")
            rows.append(cols)
    return rows


__all__ = ["fetch_ml100k", "load_ml100k", "verify_ml100k", "read_archive", "DataError",
           "U_DATA_SHA256", "GENRES", "FETCH_COMMAND"]
