"""MovieLens-100K: fetching from a RecBole wheel or a GroupLens zip, checksums, corruption, loading.

No test touches the network. Archives are rebuilt in ``tmp_path`` from the real cached copy
(tests marked ``data``), or the downloaders are replaced by fakes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gnnrec_lite.datasets import data_home
from gnnrec_lite.datasets import movielens as ml
from gnnrec_lite.datasets.movielens import DataError, fetch_ml100k, load_ml100k, read_archive, verify_ml100k

# The published checksum of GroupLens' ml-100k/u.data (written out here on purpose, not imported).
U_DATA_SHA256 = "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"
FIX = "gnnrec data fetch ml-100k --force"
REAL_CACHE = data_home() / "ml-100k"  # resolved at import, before any test changes the environment
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
RECBOLE = "recbole/dataset_example/ml-100k/ml-100k"


# --------------------------------------------------------------------------- guards and builders
@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to download fails the test loudly (RuntimeError is not caught by the fetch loop)."""

    def forbidden(*args, **kwargs):
        raise RuntimeError("a test tried to use the network")

    monkeypatch.setattr(ml, "_download_wheel", forbidden)
    monkeypatch.setattr(ml, "_download_grouplens", forbidden)
    monkeypatch.setattr(urllib.request, "urlopen", forbidden)


def _parse_items_tsv(data: bytes) -> list[tuple[str, str, str, list[str]]]:
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "item_id\ttitle\tyear\tgenres"
    out = []
    for line in lines[1:]:
        item_id, title, year, genres = line.split("\t")
        out.append((item_id, title, year, genres.split("|") if genres else []))
    return out


def _parse_users_tsv(data: bytes) -> list[list[str]]:
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "user_id\tage\tgender\toccupation\tzip_code"
    return [line.split("\t") for line in lines[1:]]


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def wheel_members(u_data: bytes, items, users) -> dict[str, bytes]:
    """The three RecBole 1.2.1 files, in RecBole's atomic-file format (tab-separated, typed headers)."""
    inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + u_data.decode("ascii")
    item_lines = ["movie_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    for item_id, title, year, genres in items:
        if title == "unknown":  # the wheel really spells it like this, title and year alike
            title = year = "unkonwn"
        item_lines.append(f"{item_id}\t{title}\t{year}\t{' '.join(genres)}")
    user_lines = ["user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token"]
    user_lines += ["\t".join(cols) for cols in users]
    return {
        "recbole/__init__.py": b"__version__ = '1.2.1'\n",
        "recbole-1.2.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: recbole\nVersion: 1.2.1\n",
        f"{RECBOLE}.inter": inter.encode("utf-8"),
        f"{RECBOLE}.item": ("\n".join(item_lines) + "\n").encode("utf-8"),
        f"{RECBOLE}.user": ("\n".join(user_lines) + "\n").encode("utf-8"),
    }


def grouplens_members(u_data: bytes, items, users) -> dict[str, bytes]:
    """GroupLens' layout: u.data as is, u.item and u.user pipe-separated in latin-1."""
    item_lines = []
    for item_id, title, year, genres in items:
        full_title = f"{title} ({year})" if year else title
        release = f"01-Jan-{year}" if year else ""
        url = "http://us.imdb.com/M/title-exact?" + urllib.parse.quote(full_title) if year else ""
        flags = ["1" if g in genres else "0" for g in GENRES]
        item_lines.append("|".join([item_id, full_title, release, "", url, *flags]))
    assert all(len(line.split("|")) == 24 for line in item_lines)
    user_lines = ["|".join(cols) for cols in users]
    return {
        "ml-100k/README": b"MovieLens data sets\n",
        "ml-100k/u.data": u_data,
        "ml-100k/u.item": ("\n".join(item_lines) + "\n").encode("latin-1"),
        "ml-100k/u.user": ("\n".join(user_lines) + "\n").encode("latin-1"),
    }


BUILDERS = {"wheel": wheel_members, "grouplens": grouplens_members}
ARCHIVE_NAMES = {"wheel": "recbole-1.2.1-py3-none-any.whl", "grouplens": "ml-100k.zip"}


@pytest.fixture(scope="module")
def real():
    """The real cached files, parsed into source-independent rows."""
    assert (REAL_CACHE / "u.data").is_file(), (
        f"MovieLens-100K is not in {REAL_CACHE}; run `gnnrec data fetch ml-100k` (tests marked data need it)"
    )
    u_data = (REAL_CACHE / "u.data").read_bytes()
    assert hashlib.sha256(u_data).hexdigest() == U_DATA_SHA256
    return {
        "u.data": u_data,
        "items": _parse_items_tsv((REAL_CACHE / "items.tsv").read_bytes()),
        "users": _parse_users_tsv((REAL_CACHE / "users.tsv").read_bytes()),
    }


@pytest.fixture(scope="module")
def archives(real, tmp_path_factory):
    folder = tmp_path_factory.mktemp("archives")
    return {
        kind: _write_zip(folder / ARCHIVE_NAMES[kind], build(real["u.data"], real["items"], real["users"]))
        for kind, build in BUILDERS.items()
    }


@pytest.fixture(scope="module")
def fetched(archives, tmp_path_factory):
    """A cache fetched from each kind of archive: {kind: cache folder (the parent of ml-100k)}."""
    out = {}
    for kind, archive in archives.items():
        home = tmp_path_factory.mktemp(f"cache-{kind}")
        fetch_ml100k(data_dir=home, source=archive, quiet=True)
        out[kind] = home
    return out


@pytest.fixture(scope="module")
def loaded(fetched):
    return {kind: load_ml100k(home) for kind, home in fetched.items()}


@pytest.fixture
def cache_copy(fetched, tmp_path):
    """A private copy of a fetched cache that a test may damage; returns (home, folder)."""
    home = tmp_path / "home"
    shutil.copytree(fetched["wheel"] / "ml-100k", home / "ml-100k")
    return home, home / "ml-100k"


def _grouplens_rows(archive: Path) -> list[tuple[int, int, int, int]]:
    """u.data parsed here, independently of the library."""
    with zipfile.ZipFile(archive) as zf:
        text = zf.read("ml-100k/u.data").decode("ascii")
    return sorted(tuple(int(v) for v in line.split("\t")) for line in text.splitlines())


def _rows_of(inter) -> list[tuple[int, int, int, int]]:
    users = inter.user_raw_ids[inter.user.numpy()].astype(np.int64)
    items = inter.item_raw_ids[inter.item.numpy()].astype(np.int64)
    ratings = inter.rating.numpy().astype(np.int64)
    times = inter.timestamp.numpy().astype(np.int64)
    return sorted(zip(users.tolist(), items.tolist(), ratings.tolist(), times.tolist()))


def _leftovers(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir()) if home.exists() else []


def _tampered_u_data(u_data: bytes, how: str) -> bytes:
    lines = u_data.decode("ascii").splitlines(keepends=True)
    if how == "change-rating":
        user, item, rating, ts = lines[500].rstrip("\n").split("\t")
        lines[500] = f"{user}\t{item}\t{1 if rating != '1' else 2}\t{ts}\n"
    elif how == "drop-row":
        del lines[500]
    else:
        raise AssertionError(how)
    return "".join(lines).encode("ascii")


# --------------------------------------------------------------------------- fetching from each source
@pytest.mark.data
@pytest.mark.parametrize("kind", ["wheel", "grouplens"])
def test_fetch_from_archive_builds_verified_cache(kind, archives, fetched, loaded):
    home = fetched[kind]
    folder = home / "ml-100k"
    assert _leftovers(home) == ["ml-100k"]  # no temporary folders left beside it
    assert sorted(p.name for p in folder.iterdir()) == ["items.tsv", "manifest.json", "u.data", "users.tsv"]
    assert hashlib.sha256((folder / "u.data").read_bytes()).hexdigest() == U_DATA_SHA256
    manifest = json.loads((folder / "manifest.json").read_text())
    for name in ("u.data", "items.tsv", "users.tsv"):
        assert manifest["sha256"][name] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    verify_ml100k(folder)

    inter = loaded[kind]
    assert (inter.num_users, inter.num_items, len(inter)) == (943, 1682, 100_000)
    assert inter.user_raw_ids.astype(np.int64).tolist() == list(range(1, 944))
    assert inter.item_raw_ids.astype(np.int64).tolist() == list(range(1, 1683))
    assert _rows_of(inter) == _grouplens_rows(archives["grouplens"])


@pytest.mark.data
def test_fetch_returns_the_cache_folder(archives, tmp_path):
    home = tmp_path / "new" / "home"  # parents do not exist yet
    assert fetch_ml100k(data_dir=home, source=archives["grouplens"], quiet=True) == home / "ml-100k"
    verify_ml100k(home / "ml-100k")


@pytest.mark.data
def test_both_sources_give_the_same_cache(fetched):
    for name in ("u.data", "items.tsv", "users.tsv"):
        wheel_bytes = (fetched["wheel"] / "ml-100k" / name).read_bytes()
        grouplens_bytes = (fetched["grouplens"] / "ml-100k" / name).read_bytes()
        assert wheel_bytes == grouplens_bytes, name


@pytest.mark.data
def test_titles_years_genres_agree_between_sources(loaded):
    wheel, grouplens = loaded["wheel"], loaded["grouplens"]
    assert wheel.item_meta["title"] == grouplens.item_meta["title"]
    assert wheel.item_meta["year"] == grouplens.item_meta["year"]
    assert wheel.item_meta["genres"] == grouplens.item_meta["genres"]
    assert wheel.item_names == grouplens.item_names
    assert wheel.item_feature_names == grouplens.item_feature_names == list(GENRES)
    assert bool((wheel.item_features == grouplens.item_features).all())

    for inter in (wheel, grouplens):
        def movie(raw_id, inter=inter):
            i = inter.item_index(raw_id)
            return (inter.item_meta["title"][i], inter.item_meta["year"][i], inter.item_meta["genres"][i],
                    inter.item_names[i])

        assert movie(1) == ("Toy Story", 1995, ["Animation", "Children's", "Comedy"], "Toy Story (1995)")
        assert movie(2) == ("GoldenEye", 1995, ["Action", "Adventure", "Thriller"], "GoldenEye (1995)")
        assert movie(50) == ("Star Wars", 1977, ["Action", "Adventure", "Romance", "Sci-Fi", "War"],
                             "Star Wars (1977)")
        # RecBole's "unkonwn" typo is repaired; the item has neither year nor a real genre
        assert movie(267) == ("unknown", None, ["unknown"], "unknown")
        # a non-ASCII title survives latin-1 (GroupLens) and UTF-8 (RecBole) alike
        assert movie(1633) == ("Á köldum klaka (Cold Fever)", 1994, ["Comedy", "Drama"],
                               "Á köldum klaka (Cold Fever) (1994)")
        # genre features are the indicator columns of item_meta["genres"]
        feats = inter.item_features
        for i, genres in enumerate(inter.item_meta["genres"]):
            assert [GENRES[j] for j in feats[i].nonzero().flatten().tolist()] == genres
        assert int(feats[:, GENRES.index("Drama")].sum()) == 725
        assert int(feats[:, GENRES.index("Comedy")].sum()) == 505


@pytest.mark.data
def test_users_survive_both_sources(fetched, real):
    for kind in ("wheel", "grouplens"):
        users = _parse_users_tsv((fetched[kind] / "ml-100k" / "users.tsv").read_bytes())
        assert len(users) == 943
        assert users[0] == ["1", "24", "M", "technician", "85711"]
        assert users[7] == ["8", "36", "M", "administrator", "05201"]  # leading zero of the zip code kept
        assert users == real["users"]


@pytest.mark.data
def test_read_archive_is_the_same_for_both_sources(archives):
    wheel, grouplens = read_archive(archives["wheel"]), read_archive(str(archives["grouplens"]))
    assert sorted(wheel) == sorted(grouplens) == ["items.tsv", "u.data", "users.tsv"]
    assert wheel == grouplens


@pytest.mark.data
def test_recbole_title_with_year_in_it(real, tmp_path):
    """A RecBole title written GroupLens-style, "Toy Story (1995)", with no release year: the year is taken from it."""
    items = [(i, f"{t} ({y})" if i == "1" else t, "" if i == "1" else y, g) for i, t, y, g in real["items"]]
    archive = _write_zip(tmp_path / "recbole.whl", wheel_members(real["u.data"], items, real["users"]))
    canonical = _parse_items_tsv(read_archive(archive)["items.tsv"])
    assert canonical[0] == ("1", "Toy Story", "1995", ["Animation", "Children's", "Comedy"])
    assert canonical == real["items"]


# --------------------------------------------------------------------------- tampered or broken archives
@pytest.mark.data
@pytest.mark.parametrize("how", ["change-rating", "drop-row"])
@pytest.mark.parametrize("kind", ["wheel", "grouplens"])
def test_tampered_ratings_are_refused_and_nothing_is_written(kind, how, real, tmp_path):
    u_data = _tampered_u_data(real["u.data"], how)
    assert u_data != real["u.data"]
    archive = _write_zip(tmp_path / ARCHIVE_NAMES[kind], BUILDERS[kind](u_data, real["items"], real["users"]))
    home = tmp_path / "home"
    home.mkdir()
    with pytest.raises(DataError) as info:
        fetch_ml100k(data_dir=home, source=archive, quiet=True)
    message = str(info.value)
    assert str(archive) in message
    assert U_DATA_SHA256 in message  # the expected checksum
    assert hashlib.sha256(u_data).hexdigest() in message  # and the one found
    assert _leftovers(home) == []


@pytest.mark.data
def test_tampered_archive_with_force_keeps_the_valid_cache(real, cache_copy, tmp_path):
    home, folder = cache_copy
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    u_data = _tampered_u_data(real["u.data"], "change-rating")
    archive = _write_zip(tmp_path / "bad.zip", grouplens_members(u_data, real["items"], real["users"]))
    with pytest.raises(DataError, match=U_DATA_SHA256):
        fetch_ml100k(data_dir=home, source=archive, force=True, quiet=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert _leftovers(home) == ["ml-100k"]


def test_not_a_zip_is_a_data_error_naming_the_file(tmp_path):
    archive = tmp_path / "fake.zip"
    archive.write_bytes(b"this is not a zip archive\n" * 10)
    home = tmp_path / "home"
    with pytest.raises(DataError) as info:
        fetch_ml100k(data_dir=home, source=archive, quiet=True)
    assert str(archive) in str(info.value)
    assert _leftovers(home) == []


def test_missing_archive_is_a_data_error_naming_the_file(tmp_path):
    archive = tmp_path / "nowhere.whl"
    with pytest.raises(DataError) as info:
        fetch_ml100k(data_dir=tmp_path / "home", source=archive, quiet=True)
    assert str(archive) in str(info.value)
    assert not (tmp_path / "home").exists()


def test_zip_with_the_wrong_members_is_a_data_error_naming_the_file(tmp_path):
    archive = _write_zip(tmp_path / "other.zip", {"ml-1m/ratings.dat": b"1::1193::5::978300760\n",
                                                  "README": b"not MovieLens-100K\n"})
    with pytest.raises(DataError) as info:
        read_archive(archive)
    assert str(archive) in str(info.value)
    home = tmp_path / "home"
    with pytest.raises(DataError, match="other.zip"):
        fetch_ml100k(data_dir=home, source=archive, quiet=True)
    assert _leftovers(home) == []


@pytest.mark.data
@pytest.mark.parametrize(("kind", "missing"), [
    ("wheel", f"{RECBOLE}.item"), ("wheel", f"{RECBOLE}.user"),
    ("grouplens", "ml-100k/u.item"), ("grouplens", "ml-100k/u.user"),
])
def test_archive_missing_a_member_is_a_data_error_naming_the_file(kind, missing, real, tmp_path):
    members = BUILDERS[kind](real["u.data"], real["items"], real["users"])
    del members[missing]
    archive = _write_zip(tmp_path / ARCHIVE_NAMES[kind], members)
    home = tmp_path / "home"
    with pytest.raises(DataError) as info:
        fetch_ml100k(data_dir=home, source=archive, quiet=True)
    assert str(archive) in str(info.value)
    assert _leftovers(home) == []


@pytest.mark.data
def test_bad_recbole_header_and_bad_item_row_are_reported_with_line_numbers(real, tmp_path):
    members = wheel_members(real["u.data"], real["items"], real["users"])
    bad_header = dict(members)
    bad_header[f"{RECBOLE}.inter"] = members[f"{RECBOLE}.inter"].replace(b"user_id:token", b"uid:token", 1)
    archive = _write_zip(tmp_path / "header.whl", bad_header)
    with pytest.raises(DataError, match=r"header\.whl.*ml-100k\.inter, line 1"):
        read_archive(archive)

    bad_item = dict(members)
    lines = members[f"{RECBOLE}.item"].decode("utf-8").split("\n")
    lines[3] = lines[3].replace("\t", " ", 1)  # file line 4 (item 3) loses a column
    bad_item[f"{RECBOLE}.item"] = "\n".join(lines).encode("utf-8")
    archive = _write_zip(tmp_path / "item.whl", bad_item)
    with pytest.raises(DataError, match=r"item\.whl.*ml-100k\.item, line 4"):
        read_archive(archive)


# --------------------------------------------------------------------------- corruption after fetching
def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.data
@pytest.mark.parametrize("name", ["u.data", "items.tsv", "users.tsv", "manifest.json"])
@pytest.mark.parametrize("damage", ["truncate", "flip-byte", "delete"])
def test_corrupted_cache_is_reported_with_the_fix(name, damage, cache_copy):
    home, folder = cache_copy
    target = folder / name
    if damage == "truncate":
        _truncate(target)
    elif damage == "delete":
        target.unlink()
    elif name == "manifest.json":
        # a byte of the recorded u.data checksum
        text = target.read_bytes()
        _flip(target, text.index(U_DATA_SHA256.encode()) + 10)
    else:
        _flip(target)
    with pytest.raises(DataError) as info:
        load_ml100k(home)
    message = str(info.value)
    assert str(target) in message
    assert FIX in message
    with pytest.raises(DataError, match="--force"):
        verify_ml100k(folder)


@pytest.mark.data
@pytest.mark.parametrize("name", ["items.tsv", "users.tsv"])
def test_flipped_byte_in_a_recorded_checksum_is_reported(name, cache_copy):
    home, folder = cache_copy
    manifest = folder / "manifest.json"
    digest = json.loads(manifest.read_text())["sha256"][name]
    _flip(manifest, manifest.read_bytes().index(digest.encode()) + 5)
    with pytest.raises(DataError) as info:
        load_ml100k(home)
    message = str(info.value)
    assert str(manifest) in message or str(folder / name) in message
    assert FIX in message


@pytest.mark.data
@pytest.mark.parametrize("content", ["[]", "null", "42", '{"sha256": []}', '{"sha256": null}'])
def test_manifest_that_is_not_an_object_is_a_data_error(content, cache_copy):
    home, folder = cache_copy
    (folder / "manifest.json").write_text(content)
    with pytest.raises(DataError) as info:
        load_ml100k(home)
    assert str(folder / "manifest.json") in str(info.value)
    assert FIX in str(info.value)


def test_empty_cache_says_how_to_fetch(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_ml100k(tmp_path)
    assert "gnnrec data fetch ml-100k" in str(info.value)
    assert str(tmp_path / "ml-100k") in str(info.value)
    assert _leftovers(tmp_path) == []  # loading never creates anything


def test_empty_cache_folder_is_a_data_error_with_the_fix(tmp_path):
    (tmp_path / "ml-100k").mkdir()
    with pytest.raises(DataError) as info:
        load_ml100k(tmp_path)
    assert str(tmp_path / "ml-100k" / "manifest.json") in str(info.value)
    assert FIX in str(info.value)


def test_load_uses_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("GNNREC_DATA_DIR", str(tmp_path / "env-home"))
    with pytest.raises(FileNotFoundError, match="env-home"):
        load_ml100k()


def _rewrite_items(folder: Path, lineno: int, new_line: str) -> Path:
    """Replace 1-based line ``lineno`` of items.tsv and record the new checksum, so that verify passes."""
    items = folder / "items.tsv"
    lines = items.read_text(encoding="utf-8").split("\n")
    lines[lineno - 1] = new_line
    items.write_text("\n".join(lines), encoding="utf-8")
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text())
    data["sha256"]["items.tsv"] = hashlib.sha256(items.read_bytes()).hexdigest()
    manifest.write_text(json.dumps(data))
    verify_ml100k(folder)  # the checksums agree: only the parser can notice
    return items


@pytest.mark.data
@pytest.mark.parametrize("bad_line", [
    "5\tCopycat\t1995",  # a column missing
    "5\tCopycat\t1995\tCrime|Drama\textra",  # a column too many
    "5\tCopycat\t19x5\tCrime|Drama|Thriller",  # a year that is no number
    "5\tCopycat\t1995\tCrime|Drama|Thriler",  # a genre that does not exist
    "five\tCopycat\t1995\tCrime|Drama|Thriller",  # an item id that is no number
], ids=["too-few-columns", "too-many-columns", "bad-year", "unknown-genre", "bad-item-id"])
def test_malformed_items_line_is_reported_with_file_and_line(bad_line, cache_copy):
    home, folder = cache_copy
    items = _rewrite_items(folder, 6, bad_line)  # line 6 holds item 5
    with pytest.raises(DataError) as info:
        load_ml100k(home)
    assert f"{items}, line 6" in str(info.value)


# --------------------------------------------------------------------------- repair, no re-fetch, fallback order
@pytest.mark.data
def test_fetch_repairs_a_corrupted_cache_from_a_source(archives, cache_copy):
    home, folder = cache_copy
    good = (folder / "items.tsv").read_bytes()
    _flip(folder / "items.tsv")
    with pytest.raises(DataError):
        verify_ml100k(folder)
    assert fetch_ml100k(data_dir=home, source=archives["grouplens"], quiet=True) == folder  # no force needed
    verify_ml100k(folder)
    assert (folder / "items.tsv").read_bytes() == good
    assert _leftovers(home) == ["ml-100k"]
    assert len(load_ml100k(home)) == 100_000


@pytest.mark.data
def test_fetch_repairs_a_corrupted_cache_by_downloading(archives, cache_copy, monkeypatch):
    home, folder = cache_copy
    _truncate(folder / "u.data")
    calls = []

    def fake_wheel(tmp):
        calls.append(tmp)
        return Path(shutil.copy(archives["wheel"], Path(tmp) / "recbole-1.2.1-py3-none-any.whl"))

    monkeypatch.setattr(ml, "_download_wheel", fake_wheel)
    assert fetch_ml100k(data_dir=home, quiet=True) == folder
    assert len(calls) == 1
    verify_ml100k(folder)
    assert hashlib.sha256((folder / "u.data").read_bytes()).hexdigest() == U_DATA_SHA256
    assert _leftovers(home) == ["ml-100k"]


@pytest.mark.data
def test_valid_cache_is_not_fetched_again(cache_copy, monkeypatch):
    home, folder = cache_copy
    calls = []

    def failing(tmp):
        calls.append(tmp)
        raise OSError("offline")

    monkeypatch.setattr(ml, "_download_wheel", failing)
    monkeypatch.setattr(ml, "_download_grouplens", failing)
    inodes = {p.name: p.stat().st_ino for p in folder.iterdir()}
    assert fetch_ml100k(data_dir=home, quiet=True) == folder
    assert calls == []
    assert {p.name: p.stat().st_ino for p in folder.iterdir()} == inodes  # nothing rewritten

    # with force it does try, fails, and leaves the valid copy in place
    with pytest.raises(DataError):
        fetch_ml100k(data_dir=home, force=True, quiet=True)
    assert len(calls) == 2
    verify_ml100k(folder)


@pytest.mark.data
@pytest.mark.parametrize("wheel_failure", ["data-error", "timeout", "not-a-zip", "tampered"])
def test_grouplens_is_tried_when_the_wheel_fails(wheel_failure, archives, real, tmp_path, monkeypatch):
    order = []

    def fake_wheel(tmp):
        order.append("wheel")
        if wheel_failure == "data-error":
            raise DataError("pip download failed (1): no matching distribution")
        if wheel_failure == "timeout":
            raise subprocess.TimeoutExpired(["pip", "download"], 600)
        out = Path(tmp) / "recbole-1.2.1-py3-none-any.whl"
        if wheel_failure == "not-a-zip":
            out.write_bytes(b"<html>proxy error</html>")
        else:
            u_data = _tampered_u_data(real["u.data"], "drop-row")
            _write_zip(out, wheel_members(u_data, real["items"], real["users"]))
        return out

    def fake_grouplens(tmp):
        order.append("grouplens")
        return Path(shutil.copy(archives["grouplens"], Path(tmp) / "ml-100k.zip"))

    monkeypatch.setattr(ml, "_download_wheel", fake_wheel)
    monkeypatch.setattr(ml, "_download_grouplens", fake_grouplens)
    home = tmp_path / "home"
    assert fetch_ml100k(data_dir=home, quiet=True) == home / "ml-100k"
    assert order == ["wheel", "grouplens"]
    verify_ml100k(home / "ml-100k")
    assert _leftovers(home) == ["ml-100k"]


@pytest.mark.data
def test_grouplens_is_not_tried_when_the_wheel_works(archives, tmp_path, monkeypatch):
    order = []

    def fake_wheel(tmp):
        order.append("wheel")
        return Path(shutil.copy(archives["wheel"], Path(tmp) / "recbole-1.2.1-py3-none-any.whl"))

    def fake_grouplens(tmp):
        order.append("grouplens")
        raise AssertionError("GroupLens must not be tried after the wheel worked")

    monkeypatch.setattr(ml, "_download_wheel", fake_wheel)
    monkeypatch.setattr(ml, "_download_grouplens", fake_grouplens)
    fetch_ml100k(data_dir=tmp_path, quiet=True)
    assert order == ["wheel"]
    verify_ml100k(tmp_path / "ml-100k")


def test_both_sources_failing_is_one_data_error_listing_both(tmp_path, monkeypatch, capsys):
    order = []

    def fake_wheel(tmp):
        order.append("wheel")
        raise subprocess.TimeoutExpired(["pip", "download", "recbole==1.2.1"], 600)

    def fake_grouplens(tmp):
        order.append("grouplens")
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(ml, "_download_wheel", fake_wheel)
    monkeypatch.setattr(ml, "_download_grouplens", fake_grouplens)
    home = tmp_path / "home"
    with pytest.raises(DataError) as info:
        fetch_ml100k(data_dir=home)
    message = str(info.value)
    assert order == ["wheel", "grouplens"]
    assert "RecBole" in message and "GroupLens" in message
    assert "timed out" in message  # the wheel's reason
    assert "Name or service not known" in message  # GroupLens' reason
    assert message.index("RecBole") < message.index("GroupLens")
    assert _leftovers(home) == []
    captured = capsys.readouterr()
    assert captured.out == ""  # progress goes to stderr only
    assert "failed" in captured.err


def test_quiet_fetch_prints_nothing(tmp_path, monkeypatch, capsys):
    def failing(tmp):
        raise OSError("offline")

    monkeypatch.setattr(ml, "_download_wheel", failing)
    monkeypatch.setattr(ml, "_download_grouplens", failing)
    with pytest.raises(DataError, match="offline"):
        fetch_ml100k(data_dir=tmp_path, quiet=True)
    assert capsys.readouterr() == ("", "")
    assert _leftovers(tmp_path) == []


def test_failed_fetch_keeps_an_unrelated_cache_folder_untouched(tmp_path, monkeypatch):
    (tmp_path / "other-dataset").mkdir()
    (tmp_path / "other-dataset" / "keep.txt").write_text("keep")

    def failing(tmp):
        raise OSError("offline")

    monkeypatch.setattr(ml, "_download_wheel", failing)
    monkeypatch.setattr(ml, "_download_grouplens", failing)
    with pytest.raises(DataError):
        fetch_ml100k(data_dir=tmp_path, quiet=True)
    assert _leftovers(tmp_path) == ["other-dataset"]
    assert (tmp_path / "other-dataset" / "keep.txt").read_text() == "keep"
    assert os.listdir(tmp_path / "other-dataset") == ["keep.txt"]
