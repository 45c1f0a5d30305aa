"""Reading MovieLens-100K out of a source archive: the RecBole 1.2.1 wheel or GroupLens' ``ml-100k.zip``.

Introduced in lecture 01 (see :mod:`~gnnrec_lite.datasets.movielens` for the
sources). Either archive is turned into the same canonical files:
``u.data`` exactly as GroupLens publishes it (checked by SHA-256) and two
tab-separated tables, ``items.tsv`` and ``users.tsv``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .cache import sha256_bytes

U_DATA_SHA256 = "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"
RECBOLE_PREFIX = "recbole/dataset_example/ml-100k/ml-100k"
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
_YEAR_IN_TITLE = re.compile(r"^(.*\S)\s+\((\d{4})\)\s*$")


class DataError(ValueError):
    """A data file is missing, malformed or fails its checksum."""


def read_archive(archive) -> dict[str, bytes]:
    """The canonical ``{u.data, items.tsv, users.tsv}`` bytes an archive yields (a wheel or a GroupLens zip)."""
    return _read_archive(Path(archive))


def _read_archive(archive: Path) -> dict[str, bytes]:
    """Canonical ``{u.data, items.tsv, users.tsv}`` bytes from a wheel or a GroupLens zip."""
    if not archive.is_file():
        raise DataError(f"{archive}: no such file")
    try:
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            if f"{RECBOLE_PREFIX}.inter" in names:
                return _from_recbole(zf, archive)
            if "ml-100k/u.data" in names:
                return _from_grouplens(zf, archive)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{archive}: not a zip archive ({exc})") from None
    except KeyError as exc:  # zipfile names the missing member
        raise DataError(f"{archive}: incomplete archive ({exc.args[0]})") from None
    raise DataError(f"{archive}: holds neither {RECBOLE_PREFIX}.inter nor ml-100k/u.data")


def _from_recbole(zf: zipfile.ZipFile, archive: Path) -> dict[str, bytes]:
    member = f"{RECBOLE_PREFIX}.inter"
    lines = zf.read(member).decode("utf-8").splitlines()
    if not lines or not lines[0].startswith("user_id:token\titem_id:token\trating"):
        raise DataError(f"{archive}!{member}, line 1: unexpected header {lines[:1]!r}")
    u_data = "".join(line + "\n" for line in lines[1:] if line).encode("ascii")
    _check_u_data(u_data, f"{archive}!{member}")
    items = []
    member = f"{RECBOLE_PREFIX}.item"
    for lineno, line in enumerate(zf.read(member).decode("utf-8").splitlines()[1:], start=2):
        cols = line.split("\t")
        if len(cols) != 4:
            raise DataError(f"{archive}!{member}, line {lineno}: expected 4 columns, got {len(cols)}")
        item_id, title, year, genres = cols
        title = "unknown" if title == "unkonwn" else title  # a typo in the wheel
        items.append((item_id, title, year, genres.split()))
    users = _rows(zf.read(f"{RECBOLE_PREFIX}.user").decode("utf-8").splitlines()[1:], "\t", 5,
                  f"{archive}!{RECBOLE_PREFIX}.user", first_line=2)
    return _canonical(u_data, items, users)


def _from_grouplens(zf: zipfile.ZipFile, archive: Path) -> dict[str, bytes]:
    u_data = zf.read("ml-100k/u.data")
    _check_u_data(u_data, f"{archive}!ml-100k/u.data")
    items = []
    for cols in _rows(zf.read("ml-100k/u.item").decode("latin-1").splitlines(), "|", 24,
                      f"{archive}!ml-100k/u.item"):
        flags = cols[5:]
        release = cols[2]
        year = release[-4:] if re.fullmatch(r"\d{2}-\w{3}-\d{4}", release) else ""
        items.append((cols[0], cols[1], year, [g for g, f in zip(GENRES, flags, strict=False) if f == "1"]))
    users = _rows(zf.read("ml-100k/u.user").decode("latin-1").splitlines(), "|", 5,
                  f"{archive}!ml-100k/u.user")
    return _canonical(u_data, items, users)


def _rows(lines, sep, ncols, where, first_line=1):
    out = []
    for lineno, line in enumerate(lines, start=first_line):
        if not line:
            continue
        cols = line.split(sep)
        if len(cols) != ncols:
            raise DataError(f"{where}, line {lineno}: expected {ncols} columns, got {len(cols)}")
        out.append(cols)
    return out


def _check_u_data(u_data: bytes, where: str) -> None:
    digest = sha256_bytes(u_data)
    if digest != U_DATA_SHA256:
        raise DataError(
            f"{where}: the rating rows do not reproduce MovieLens-100K u.data "
            f"(sha256 {digest}, expected {U_DATA_SHA256}); refusing to use them"
        )


def _canonical(u_data: bytes, items, users) -> dict[str, bytes]:
    """Our cache layout: u.data as published, plus tab-separated item and user tables."""
    lines = ["item_id\ttitle\tyear\tgenres"]
    for item_id, title, year, genres in items:
        match = _YEAR_IN_TITLE.match(title)
        if match:  # GroupLens writes "Toy Story (1995)"; RecBole has one such title too
            title, title_year = match.groups()
            year = year if re.fullmatch(r"\d{4}", year) else title_year
        year = year if re.fullmatch(r"\d{4}", year) else ""
        unknown = [g for g in genres if g not in GENRES]
        if unknown:
            raise DataError(f"item {item_id}: unknown genres {unknown}")
        lines.append(f"{item_id}\t{title}\t{year}\t{'|'.join(genres)}")
    items_tsv = ("\n".join(lines) + "\n").encode("utf-8")
    users_tsv = ("user_id\tage\tgender\toccupation\tzip_code\n"
                 + "".join("\t".join(cols) + "\n" for cols in users)).encode("utf-8")
    return {"u.data": u_data, "items.tsv": items_tsv, "users.tsv": users_tsv}
