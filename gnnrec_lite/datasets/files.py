"""Reading your own interactions: a train file and a test file, TSV or CSV.

Each file has a user column, an item column and optionally a timestamp
column, in that order, with or without a header line naming them (``user``,
``item``, ``timestamp``; any further columns are ignored). Raw ids may be any
strings. Errors name the file and the line.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..interactions import Interactions


class FileFormatError(ValueError):
    """A malformed interactions file; the message names the file and line."""


@dataclass
class RawTable:
    users: list
    items: list
    timestamps: list | None
    path: Path


def read_table(path) -> RawTable:
    """Rows of ``path`` as raw strings (timestamps as floats), validated line by line."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate the byte order mark spreadsheets write
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: cannot read it ({exc})") from None
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise FileFormatError(f"{path}: the file is empty")
    delimiter = "\t" if "\t" in first else ","
    users, items, stamps = [], [], []
    has_time = None
    first_row = _first_nonblank(lines)
    reader = csv.reader(lines, delimiter=delimiter)
    next_line = 1
    for row in reader:
        lineno, next_line = next_line, reader.line_num + 1  # a quoted cell may span lines
        if not row or not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row]
        if lineno == first_row and cells[0].lower() in ("user", "user_id", "userid"):
            if len(cells) < 2 or cells[1].lower() not in ("item", "item_id", "itemid"):
                raise FileFormatError(f"{path}, line {lineno}: header must start with user, item; got {cells[:3]}")
            has_time = len(cells) >= 3 and cells[2].lower() in ("timestamp", "time", "ts")
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise FileFormatError(f"{path}, line {lineno}: expected user and item columns, got {row!r}")
        if has_time is None:
            has_time = len(cells) >= 3
        users.append(cells[0])
        items.append(cells[1])
        if has_time:
            if len(cells) < 3:
                raise FileFormatError(f"{path}, line {lineno}: missing the timestamp column")
            try:
                stamp = float(cells[2])
            except ValueError:
                stamp = math.nan
            if not math.isfinite(stamp):
                raise FileFormatError(f"{path}, line {lineno}: timestamp {cells[2]!r} is not a finite number")
            stamps.append(stamp)
    if not users:
        raise FileFormatError(f"{path}: no interactions (only a header?)")
    return RawTable(users, items, stamps if has_time else None, path)


def _first_nonblank(lines) -> int:
    return next(i for i, ln in enumerate(lines, start=1) if ln.strip())


@dataclass
class FileSplit:
    train: Interactions
    test: Interactions
    dropped_test_rows: int       # test rows whose user or item never occurs in train
    duplicate_rows: int          # repeated (user, item) pairs removed from either file
    overlap_rows: int            # test pairs already in train (they could never be recommended)


def load_train_test(train_path, test_path) -> FileSplit:
    """Read a train and a test file into Interactions sharing one id space.

    Ids are assigned from the train file (sorted raw ids). Test rows with a
    user or item never seen in train are dropped and counted, as are repeated
    pairs and test pairs already in train; a test file left empty by that is
    an error.
    """
    tr, te = read_table(train_path), read_table(test_path)
    user_ids, user = np.unique(np.array(tr.users), return_inverse=True)
    item_ids, item = np.unique(np.array(tr.items), return_inverse=True)
    u_map = {u: i for i, u in enumerate(user_ids.tolist())}
    i_map = {v: i for i, v in enumerate(item_ids.tolist())}
    keep = [k for k, (u, v) in enumerate(zip(te.users, te.items)) if u in u_map and v in i_map]
    dropped = len(te.users) - len(keep)
    if not keep:
        raise FileFormatError(f"{te.path}: none of its {len(te.users)} rows has a user and item seen in "
                              f"{tr.path}; nothing to evaluate")
    test_user = np.array([u_map[te.users[k]] for k in keep], dtype=np.int64)
    test_item = np.array([i_map[te.items[k]] for k in keep], dtype=np.int64)
    test_time = None if te.timestamps is None else np.array([te.timestamps[k] for k in keep])
    train_time = None if tr.timestamps is None else np.array(tr.timestamps)
    common = dict(user_raw_ids=user_ids, item_raw_ids=item_ids)
    tr_idx, dup_tr = _first_of_each_pair(user.astype(np.int64), item.astype(np.int64), len(item_ids))
    te_idx, dup_te = _first_of_each_pair(test_user, test_item, len(item_ids))
    in_train = np.isin(test_user[te_idx] * len(item_ids) + test_item[te_idx],
                       user[tr_idx].astype(np.int64) * len(item_ids) + item[tr_idx])
    overlap = int(in_train.sum())
    te_idx = te_idx[~in_train]
    if te_idx.size == 0:
        raise FileFormatError(f"{te.path}: every test pair is already in {tr.path}; nothing to evaluate")
    train = Interactions(len(user_ids), len(item_ids), user[tr_idx], item[tr_idx],
                         timestamp=None if train_time is None else train_time[tr_idx],
                         name=tr.path.name, **common)
    test = Interactions(len(user_ids), len(item_ids), test_user[te_idx], test_item[te_idx],
                        timestamp=None if test_time is None else test_time[te_idx],
                        name=te.path.name, **common)
    return FileSplit(train, test, dropped, dup_tr + dup_te, overlap)


def _first_of_each_pair(user: np.ndarray, item: np.ndarray, num_items: int) -> tuple[np.ndarray, int]:
    _, first = np.unique(user * num_items + item, return_index=True)
    first = np.sort(first)
    return first, len(user) - len(first)
