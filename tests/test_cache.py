"""The data cache: where it is, atomic writes, checksums."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from gnnrec_lite.datasets import cache
from gnnrec_lite.datasets.cache import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    data_home,
    sha256_bytes,
    sha256_file,
)


# --------------------------------------------------------------------------- data_home
@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment: HOME in tmp_path, neither GNNREC_DATA_DIR nor XDG_CACHE_HOME set."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GNNREC_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return monkeypatch


def test_default_is_dot_cache_in_home(env, tmp_path):
    assert data_home() == tmp_path / "home" / ".cache" / "gnnrec"


def test_xdg_cache_home_beats_the_default(env, tmp_path):
    env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "gnnrec"


def test_environment_variable_beats_xdg(env, tmp_path):
    env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    env.setenv("GNNREC_DATA_DIR", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"  # used as is, no "gnnrec" appended


def test_argument_beats_everything(env, tmp_path):
    env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    env.setenv("GNNREC_DATA_DIR", str(tmp_path / "env"))
    assert data_home(tmp_path / "arg") == tmp_path / "arg"
    assert data_home(str(tmp_path / "arg")) == tmp_path / "arg"


def test_environment_variable_name():
    assert cache.ENV_VAR == "GNNREC_DATA_DIR"


@pytest.mark.parametrize("var", ["GNNREC_DATA_DIR", "XDG_CACHE_HOME"])
def test_empty_variables_count_as_unset(env, tmp_path, var):
    env.setenv(var, "")
    assert data_home() == tmp_path / "home" / ".cache" / "gnnrec"


def test_tilde_is_expanded(env, tmp_path):
    assert data_home("~/data") == tmp_path / "home" / "data"
    env.setenv("GNNREC_DATA_DIR", "~/from-env")
    assert data_home() == tmp_path / "home" / "from-env"


def test_data_home_creates_nothing(env, tmp_path):
    data_home()
    data_home(tmp_path / "arg")
    assert not (tmp_path / "home").exists()
    assert not (tmp_path / "arg").exists()


def test_data_home_returns_a_path(env, tmp_path):
    assert isinstance(data_home(), Path)
    assert isinstance(data_home(str(tmp_path)), Path)


# --------------------------------------------------------------------------- atomic writes
def test_atomic_write_creates_the_file_and_no_temp_file(tmp_path):
    target = tmp_path / "sub" / "dir" / "file.bin"  # parents are created
    atomic_write_bytes(target, b"\x00\x01hello")
    assert target.read_bytes() == b"\x00\x01hello"
    assert os.listdir(target.parent) == ["file.bin"]


def test_atomic_write_replaces_existing_content(tmp_path):
    target = tmp_path / "file.txt"
    target.write_bytes(b"old content that is longer than the new one")
    atomic_write_bytes(str(target), b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_atomic_write_of_empty_data(tmp_path):
    target = tmp_path / "empty"
    target.write_bytes(b"something")
    atomic_write_bytes(target, b"")
    assert target.read_bytes() == b""
    assert os.listdir(tmp_path) == ["empty"]


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()], ids=["OSError", "KeyboardInterrupt"])
def test_failed_replace_keeps_old_content_and_removes_temp_file(tmp_path, monkeypatch, exc):
    target = tmp_path / "file.txt"
    target.write_bytes(b"old")
    seen = []

    def failing_replace(src, dst):
        seen.append(Path(src))
        assert Path(src).read_bytes() == b"new"  # the data was written in full before the swap
        raise exc

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(type(exc)):
        atomic_write_bytes(target, b"new")
    assert len(seen) == 1
    assert seen[0].parent == tmp_path and seen[0] != target  # it wrote to a temporary file beside the target
    assert not seen[0].exists()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_failure_while_writing_keeps_old_content_and_removes_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "file.txt"
    target.write_bytes(b"old")

    def failing_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="I/O error"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "new.txt", b"data")
    assert os.listdir(tmp_path) == []


def test_atomic_write_text_and_json(tmp_path):
    atomic_write_text(tmp_path / "t.txt", "Misérables, Les\n")
    assert (tmp_path / "t.txt").read_bytes() == "Misérables, Les\n".encode()
    obj = {"dataset": "ml-100k", "sha256": {"u.data": "ab", "items.tsv": "cd"}}
    atomic_write_json(tmp_path / "m.json", obj)
    assert json.loads((tmp_path / "m.json").read_text()) == obj
    assert sorted(os.listdir(tmp_path)) == ["m.json", "t.txt"]


# --------------------------------------------------------------------------- checksums
@pytest.mark.parametrize("size", [0, 1, 1000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17])
def test_sha256_file_matches_hashlib(tmp_path, size):
    data = bytes((i * 7 + i // 251) % 256 for i in range(size)) if size < 5000 else os.urandom(size)
    target = tmp_path / "blob"
    target.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_file(target) == expected
    assert sha256_file(str(target)) == expected
    assert sha256_bytes(data) == expected


def test_sha256_of_known_values():
    # FIPS 180-2 test vectors
    assert sha256_bytes(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_bytes(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sha256_file_of_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "missing")
