"""read_table and load_train_test: your own TSV/CSV interaction files."""

from __future__ import annotations

import pytest

from gnnrec_lite.datasets.files import FileFormatError, load_train_test, read_table


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def pairs(inter) -> list[tuple[str, str]]:
    """The (raw user, raw item) pairs of Interactions, in row order."""
    return [(str(inter.user_raw_ids[u]), str(inter.item_raw_ids[i]))
            for u, i in zip(inter.user.tolist(), inter.item.tolist())]


# ---------------------------------------------------------------- read_table
def test_tsv_without_header_with_timestamps(tmp_path):
    p = write(tmp_path / "a.tsv", "u1\tm9\t100\nu2\tm1\t200.5\n\nu1\tm1\t50\n")
    t = read_table(p)
    assert t.users == ["u1", "u2", "u1"]
    assert t.items == ["m9", "m1", "m1"]
    assert t.timestamps == [100.0, 200.5, 50.0]
    assert t.path == p


def test_csv_with_header_without_timestamps(tmp_path):
    p = write(tmp_path / "a.csv", "user,item\r\nalice,The Matrix\r\nbob, Heat \r\n")
    t = read_table(p)
    assert t.users == ["alice", "bob"]
    assert t.items == ["The Matrix", "Heat"]  # cells are stripped, inner spaces kept
    assert t.timestamps is None


@pytest.mark.parametrize("header, has_time", [
    ("user_id,item_id,timestamp", True), ("UserId,ItemId,ts", True), ("user,item,time,rating", True),
    ("user,item,rating", False), ("user,item", False),
])
def test_header_variants(tmp_path, header, has_time):
    p = write(tmp_path / "h.csv", f"{header}\n7,8,9,4\n1,2,3,5\n")
    t = read_table(p)
    assert t.users == ["7", "1"] and t.items == ["8", "2"]
    assert t.timestamps == ([9.0, 3.0] if has_time else None)


def test_extra_columns_are_ignored_and_ids_stay_strings(tmp_path):
    p = write(tmp_path / "x.tsv", "007\t01\t5\textra\n7\t1\t6\tmore\n")
    t = read_table(p)
    assert t.users == ["007", "7"] and t.items == ["01", "1"]  # "007" and "7" are different ids
    assert t.timestamps == [5.0, 6.0]


def test_csv_with_quoted_ids(tmp_path):
    p = write(tmp_path / "q.csv", 'user,item\n"smith, j","Heat, 1995"\n')
    t = read_table(p)
    assert t.users == ["smith, j"] and t.items == ["Heat, 1995"]


# -------------------------------------------------------------- read errors
def assert_names(exc_info, path, line=None):
    msg = str(exc_info.value)
    assert str(path) in msg, msg
    if line is not None:
        assert f"line {line}:" in msg, msg


def test_missing_item_column_names_file_and_line(tmp_path):
    p = write(tmp_path / "bad.tsv", "u1\tm1\nu2\tm2\nu3\n")
    with pytest.raises(FileFormatError) as exc:
        read_table(p)
    assert_names(exc, p, 3)
    assert "user and item" in str(exc.value)


def test_empty_item_cell_names_the_line(tmp_path):
    p = write(tmp_path / "bad.csv", "user,item\nu1,m1\nu2,\n")
    with pytest.raises(FileFormatError) as exc:
        read_table(p)
    assert_names(exc, p, 3)


def test_non_numeric_timestamp_names_file_and_line(tmp_path):
    p = write(tmp_path / "bad.tsv", "user\titem\ttimestamp\n\nu1\tm1\t10\nu2\tm2\tyesterday\n")
    with pytest.raises(FileFormatError) as exc:
        read_table(p)
    assert_names(exc, p, 4)  # the blank line 2 still counts
    assert "yesterday" in str(exc.value)


def test_missing_timestamp_names_the_line(tmp_path):
    p = write(tmp_path / "bad.tsv", "u1\tm1\t10\nu2\tm2\n")
    with pytest.raises(FileFormatError) as exc:
        read_table(p)
    assert_names(exc, p, 2)
    assert "timestamp" in str(exc.value)


@pytest.mark.parametrize("stamp", ["nan", "inf", "-inf"])
def test_non_finite_timestamp_names_file_and_line(tmp_path, stamp):
    """float() accepts "nan" and "inf"; they are no time either and must be reported where they are."""
    train = write(tmp_path / "train.tsv", f"u1\tm1\t10\nu2\tm2\t{stamp}\nu2\tm1\t30\n")
    test = write(tmp_path / "test.tsv", "u1\tm2\t40\n")
    with pytest.raises(FileFormatError) as exc:
        load_train_test(train, test)
    assert_names(exc, train, 2)


@pytest.mark.parametrize("text", ["", "\n\n", "   \n\t\n"])
def test_empty_file(tmp_path, text):
    p = write(tmp_path / "empty.tsv", text)
    with pytest.raises(FileFormatError, match="empty") as exc:
        read_table(p)
    assert_names(exc, p)


def test_header_only(tmp_path):
    p = write(tmp_path / "head.csv", "user,item,timestamp\n\n")
    with pytest.raises(FileFormatError, match="no interactions") as exc:
        read_table(p)
    assert_names(exc, p)


def test_bad_header_names_line_one(tmp_path):
    p = write(tmp_path / "head.csv", "user,movie\nu1,m1\n")
    with pytest.raises(FileFormatError, match="header") as exc:
        read_table(p)
    assert_names(exc, p, 1)


def test_header_after_leading_blank_lines(tmp_path):
    p = write(tmp_path / "h.tsv", "\n\nuser\titem\nu1\tm1\n")
    assert read_table(p).users == ["u1"]
    bad = write(tmp_path / "bad.tsv", "\n\nuser\tthing\nu1\tm1\n")
    with pytest.raises(FileFormatError) as exc:
        read_table(bad)
    assert_names(exc, bad, 3)


def test_missing_file(tmp_path):
    p = tmp_path / "nowhere.tsv"
    with pytest.raises(FileFormatError, match="no such file") as exc:
        read_table(p)
    assert_names(exc, p)
    assert issubclass(FileFormatError, ValueError)


def test_header_with_byte_order_mark(tmp_path):
    """A CSV saved by Excel starts with a UTF-8 byte order mark; its header is still a header."""
    p = tmp_path / "excel.csv"
    p.write_bytes("user,item\nu1,m1\nu2,m2\n".encode("utf-8-sig"))
    t = read_table(p)
    assert t.users == ["u1", "u2"]
    assert t.items == ["m1", "m2"]


def test_line_numbers_count_file_lines_after_a_quoted_newline(tmp_path):
    p = write(tmp_path / "q.csv", 'user,item\n"u1\nsecond line",m1\nu2,m2\nu3\n')
    with pytest.raises(FileFormatError) as exc:
        read_table(p)
    msg = str(exc.value)
    if "'u3'" in msg:  # the short row is reported: it is on the fifth line of the file, not the fourth
        assert_names(exc, p, 5)
    else:  # or the multi-line cell itself is rejected, where it is
        assert "line 2:" in msg or "line 3:" in msg, msg


# ----------------------------------------------------------- load_train_test
def test_load_train_test_shares_id_space_and_counts(tmp_path):
    train = write(tmp_path / "train.tsv", "user\titem\ttimestamp\n"
                  "u2\tm3\t5\n"
                  "u1\tm1\t1\n"
                  "u1\tm2\t2\n"
                  "u2\tm1\t3\n"
                  "u1\tm1\t9\n"   # duplicate of line 3: the first one (time 1) is kept
                  "u10\tm2\t4\n")
    test = write(tmp_path / "test.csv", "user,item,timestamp\n"
                 "u1,m3,10\n"
                 "u9,m1,11\n"     # unseen user: dropped
                 "u2,m7,12\n"     # unseen item: dropped
                 "u2,m2,13\n"
                 "u2,m2,14\n"     # duplicate inside test
                 "u1,m2,15\n"     # already in train: overlap
                 "u10,m3,16\n")
    split = load_train_test(train, test)
    tr, te = split.train, split.test
    # ids come from the train file, sorted as strings
    assert list(tr.user_raw_ids) == ["u1", "u10", "u2"]
    assert list(tr.item_raw_ids) == ["m1", "m2", "m3"]
    assert list(te.user_raw_ids) == list(tr.user_raw_ids) and list(te.item_raw_ids) == list(tr.item_raw_ids)
    assert (tr.num_users, tr.num_items) == (te.num_users, te.num_items) == (3, 3)
    assert pairs(tr) == [("u2", "m3"), ("u1", "m1"), ("u1", "m2"), ("u2", "m1"), ("u10", "m2")]
    assert tr.timestamp.tolist() == [5.0, 1.0, 2.0, 3.0, 4.0]
    assert pairs(te) == [("u1", "m3"), ("u2", "m2"), ("u10", "m3")]
    assert te.timestamp.tolist() == [10.0, 13.0, 16.0]
    assert split.dropped_test_rows == 2
    assert split.duplicate_rows == 2  # one in train, one in test
    assert split.overlap_rows == 1
    assert tr.name == "train.tsv" and te.name == "test.csv"
    # train and test never share a pair
    assert not set(pairs(tr)) & set(pairs(te))


def test_load_train_test_without_timestamps(tmp_path):
    train = write(tmp_path / "train.csv", "a,x\nb,y\na,y\n")
    test = write(tmp_path / "test.csv", "b,x\n")
    split = load_train_test(train, test)
    assert split.train.timestamp is None and split.test.timestamp is None
    assert pairs(split.test) == [("b", "x")]
    assert (split.dropped_test_rows, split.duplicate_rows, split.overlap_rows) == (0, 0, 0)


def test_test_with_nothing_seen_in_train(tmp_path):
    train = write(tmp_path / "train.tsv", "u1\tm1\nu2\tm2\n")
    test = write(tmp_path / "test.tsv", "u3\tm1\nu1\tm3\n")
    with pytest.raises(FileFormatError, match="nothing to evaluate") as exc:
        load_train_test(train, test)
    assert_names(exc, test)
    assert str(train) in str(exc.value)


def test_test_entirely_in_train(tmp_path):
    train = write(tmp_path / "train.tsv", "u1\tm1\nu2\tm2\nu1\tm2\n")
    test = write(tmp_path / "test.tsv", "u1\tm1\nu2\tm2\n")
    with pytest.raises(FileFormatError, match="already in") as exc:
        load_train_test(train, test)
    assert_names(exc, test)


def test_errors_in_the_test_file_name_the_test_file(tmp_path):
    train = write(tmp_path / "train.tsv", "u1\tm1\nu2\tm2\n")
    test = write(tmp_path / "test.tsv", "u1\tm2\nu2\n")
    with pytest.raises(FileFormatError) as exc:
        load_train_test(train, test)
    assert_names(exc, test, 2)
    with pytest.raises(FileFormatError) as exc:
        load_train_test(tmp_path / "missing.tsv", train)
    assert_names(exc, tmp_path / "missing.tsv")
