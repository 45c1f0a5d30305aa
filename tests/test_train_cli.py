"""``gnnrec train`` in-process: the metrics table, the JSON report and the top-K file, checked from the raw files."""

from __future__ import annotations

import json
import math
import urllib.request
from collections import defaultdict

import pytest

import gnnrec_lite as g
from gnnrec_lite import cli

K = (5, 10)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def forbidden(*args, **kwargs):
        raise RuntimeError("a test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def raw_files(tmp_path_factory):
    """A train and a test TSV with raw string ids, plus a few rows the loader must drop or count."""
    folder = tmp_path_factory.mktemp("files")
    data = g.synthetic(60, 80, 600, seed=2)
    train, test = g.random_split(data, 0.8, seed=0)

    def rows(inter):
        return [(f"u{u}", f"m{i}", str(t)) for u, i, t in
                zip(inter.user.tolist(), inter.item.tolist(), inter.timestamp.tolist())]

    train_rows = rows(train)
    test_rows = rows(test)
    test_rows += [("u999", "m1", "1"),          # unseen user
                  ("u1", "m999", "2"),          # unseen item
                  test_rows[0],                 # a duplicate
                  train_rows[3][:2] + ("3",)]   # a pair already in train
    a, b = folder / "A.tsv", folder / "B.tsv"
    a.write_text("user\titem\ttimestamp\n" + "".join("\t".join(r) + "\n" for r in train_rows))
    b.write_text("user\titem\ttimestamp\n" + "".join("\t".join(r) + "\n" for r in test_rows))
    return a, b, train_rows, test_rows


def _expected_split(train_rows, test_rows):
    """Test positives per raw user and the loader's counters, worked out here from the raw rows."""
    train_pairs = {(u, i) for u, i, _ in train_rows}
    users, items = {u for u, _ in train_pairs}, {i for _, i in train_pairs}
    seen = [(u, i) for u, i, _ in test_rows if u in users and i in items]
    dropped = len(test_rows) - len(seen)
    duplicates = len(seen) - len(set(seen)) + len(train_rows) - len(train_pairs)
    overlap = len(set(seen) & train_pairs)
    positives = defaultdict(set)
    for u, i in set(seen) - train_pairs:
        positives[u].add(i)
    return train_pairs, positives, dropped, duplicates, overlap


def _read_topk(path):
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ["user", "rank", "item"]
    lists = defaultdict(list)
    for line in lines[1:]:
        user, rank, item = line.split("\t")
        lists[user].append((int(rank), item))
    return {u: [i for _, i in sorted(r)] for u, r in lists.items()}, lists


def _metrics_from_raw(top, positives, k):
    recall, precision, ndcg = [], [], []
    for user, pos in positives.items():
        hits = [item in pos for item in top[user][:k]]
        recall.append(sum(hits) / len(pos))
        precision.append(sum(hits) / k)
        dcg = sum(1 / math.log2(r + 2) for r, hit in enumerate(hits) if hit)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(len(pos), k)))
        ndcg.append(dcg / ideal)
    return {"recall": sum(recall) / len(recall), "precision": sum(precision) / len(precision),
            "ndcg": sum(ndcg) / len(ndcg)}


def _table(out: str) -> dict[int, list[float]]:
    rows = {}
    for line in out.splitlines():
        cells = line.split()
        if len(cells) == 5 and cells[0].isdigit():
            rows[int(cells[0])] = [float(c) for c in cells[1:]]
    return rows


def test_train_from_files_writes_consistent_outputs(tmp_path, capsys, raw_files):
    a, b, train_rows, test_rows = raw_files
    out_json, top_path = tmp_path / "out.json", tmp_path / "top.tsv"
    code, out, err = run(capsys, "train", "--model", "mf", "--train", a, "--test", b, "--epochs", 2, "--dim", 8,
                         "--k", *K, "--quiet", "--json", out_json, "--save-topk", top_path)
    assert code == 0, err
    train_pairs, positives, dropped, duplicates, overlap = _expected_split(train_rows, test_rows)

    report = json.loads(out_json.read_text())
    assert report["config"]["model"] == "mf" and report["config"]["dim"] == 8 and report["config"]["num_epochs"] == 2
    assert report["config"]["k"] == list(K)
    assert [r["epoch"] for r in report["history"]] == [1, 2]
    assert all(math.isfinite(r["loss"]) for r in report["history"])
    assert report["seconds_per_epoch"] >= 0 and report["train_seconds"] >= 0
    assert report["data"]["train"] == len(train_pairs)
    assert report["data"]["test"] == sum(map(len, positives.values()))
    assert report["data"]["dropped_test_rows"] == dropped >= 2
    assert report["data"]["duplicate_rows"] == duplicates == 1
    assert report["data"]["test_rows_already_in_train"] == overlap == 1
    final = report["final"]
    for k in K:
        for name in ("recall", "precision", "ndcg"):
            assert 0.0 <= final[f"{name}@{k}"] <= 1.0

    # the table on stdout: one row per k, the JSON's numbers to 4 decimals
    table = _table(out)
    assert sorted(table) == list(K)
    for k in K:
        recall, precision, ndcg, hit_rate = table[k]
        assert recall == pytest.approx(final[f"recall@{k}"], abs=5e-5)
        assert precision == pytest.approx(final[f"precision@{k}"], abs=5e-5)
        assert ndcg == pytest.approx(final[f"ndcg@{k}"], abs=5e-5)
        assert hit_rate == pytest.approx(final[f"hit_rate@{k}"], abs=5e-5)
    assert "2 epochs" in out
    assert "dropped test rows" in err

    # the top-K file, read back and scored here from the raw ids: same metrics as the JSON
    top, ranked = _read_topk(top_path)
    assert set(top) == set(positives)  # one list per test user
    for user, items in top.items():
        assert [r for r, _ in sorted(ranked[user])] == list(range(1, max(K) + 1))
        assert len(set(items)) == len(items) == max(K)
        assert not any((user, item) in train_pairs for item in items), user
    for k in K:
        mine = _metrics_from_raw(top, positives, k)
        for name, value in mine.items():
            assert final[f"{name}@{k}"] == pytest.approx(value, abs=1e-9), (name, k)


def test_train_with_validation_split(tmp_path, capsys, raw_files):
    a, b, *_ = raw_files
    out_json = tmp_path / "val.json"
    code, out, err = run(capsys, "train", "--model", "lightgcn", "--layers", 1, "--train", a, "--test", b,
                         "--epochs", 2, "--eval-every", 1, "--dim", 8, "--val", 0.2, "--quiet", "--json", out_json)
    assert code == 0, err
    report = json.loads(out_json.read_text())
    assert report["data"]["val"] > 0
    assert report["best_epoch"] in (1, 2)
    assert sorted(_table(out)) == [10, 20]
    assert "best epoch" in out


def test_validation_with_custom_cutoffs(tmp_path, capsys, raw_files):
    """--val with --k 5 10: the CLI has no --monitor, so it must pick a cutoff it reports (not crash)."""
    a, b, *_ = raw_files
    out_json = tmp_path / "val.json"
    code, out, err = run(capsys, "train", "--model", "mf", "--train", a, "--test", b, "--epochs", 2,
                         "--eval-every", 1, "--dim", 8, "--val", 0.2, "--k", 5, 10, "--quiet", "--json", out_json)
    assert code == 0, err
    assert json.loads(out_json.read_text())["best_epoch"] in (1, 2)


def test_malformed_test_file_writes_nothing(tmp_path, capsys, raw_files):
    a, _, _, test_rows = raw_files
    bad = tmp_path / "bad.tsv"
    bad.write_text("user\titem\n" + f"{test_rows[0][0]}\t{test_rows[0][1]}\n" + "u3\n")
    out_json, top_path = tmp_path / "out.json", tmp_path / "top.tsv"
    code, out, err = run(capsys, "train", "--model", "mf", "--train", a, "--test", bad, "--epochs", 1,
                         "--quiet", "--json", out_json, "--save-topk", top_path)
    assert code != 0
    assert str(bad) in err and "line 3" in err
    assert not out_json.exists() and not top_path.exists()
    assert list(tmp_path.iterdir()) == [bad]  # no temporary files left behind either


def test_unknown_model_is_an_argparse_error(tmp_path, capsys, raw_files):
    a, b, *_ = raw_files
    out_json, top_path = tmp_path / "out.json", tmp_path / "top.tsv"
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--model", "gcn", "--train", str(a), "--test", str(b), "--json", str(out_json),
                  "--save-topk", str(top_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "gcn" in err and "lightgcn" in err
    assert not out_json.exists() and not top_path.exists()


@pytest.mark.parametrize("extra, message", [
    (["--train", "{a}"], "--test"),
    (["--test", "{b}"], "--train"),
    (["--dataset", "southern-women", "--train", "{a}", "--test", "{b}"], "--dataset"),
])
def test_inconsistent_data_arguments(tmp_path, capsys, raw_files, extra, message):
    a, b, *_ = raw_files
    out_json = tmp_path / "out.json"
    argv = ["train", "--epochs", "1", "--quiet", "--json", str(out_json)]
    argv += [x.format(a=a, b=b) for x in extra]
    code, out, err = run(capsys, *argv)
    assert code != 0
    assert message in err
    assert not out_json.exists()


def test_missing_train_file(tmp_path, capsys, raw_files):
    _, b, *_ = raw_files
    missing = tmp_path / "nope.tsv"
    code, _, err = run(capsys, "train", "--train", missing, "--test", b, "--epochs", 1, "--quiet")
    assert code != 0 and str(missing) in err


@pytest.mark.data
@pytest.mark.slow  # one epoch of 40 steps; each step's negative rejection (torch.isin) costs ~0.5 s on a CPU
def test_train_on_ml100k_temporal_split(tmp_path, capsys):
    out_json = tmp_path / "ml.json"
    code, out, err = run(capsys, "train", "--dataset", "ml-100k", "--split", "temporal:0.8", "--epochs", 1,
                         "--dim", 8, "--model", "mf", "--quiet", "--json", out_json)
    assert code == 0, err
    report = json.loads(out_json.read_text())
    assert report["data"]["source"] == "ml-100k" and report["data"]["split"] == "temporal:0.8"
    assert report["data"]["train"] + report["data"]["test"] == 100_000
    # per-user 80/20, rounded: about a fifth of the ratings are tested
    assert 0.15 < report["data"]["test"] / 100_000 < 0.25
    assert sorted(_table(out)) == [10, 20]
    assert 0.0 <= report["final"]["recall@20"] <= 1.0
    assert "943 users, 1682 items" in err


@pytest.mark.data
def test_pinsage_is_dispatched_from_gnnrec_train(tmp_path, capsys):
    out = tmp_path / "pinsage.json"
    code, stdout, err = run(capsys, "train", "--model", "pinsage", "--epochs", "1", "--dim", "8", "--k", "10",
                            "--quiet", "--json", out)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert 0.0 <= report["metrics"]["hit@10"] <= 1.0
    assert f"{report['metrics']['hit@10']:.4f}" in stdout


@pytest.mark.parametrize("negatives", ["shared", "curriculum"])
def test_negatives_flag_reaches_the_trainer(tmp_path, capsys, raw_files, negatives):
    a, b, _, _ = raw_files
    out = tmp_path / "run.json"
    code, _, err = run(capsys, "train", "--model", "mf", "--train", a, "--test", b, "--epochs", "2", "--dim", "8",
                       "--negatives", negatives, "--num-shared", "16", "--quiet", "--json", out)
    assert code == 0, err
    rows = json.loads(out.read_text())["history"]
    # shared negatives: 16 item embeddings per batch instead of batch_size x M
    steps = math.ceil(len(a.read_text().splitlines()[1:]) / 2048)
    assert rows[0]["negative_embeddings"] == 16 * steps
    if negatives == "curriculum":
        assert rows[1]["negative_embeddings"] > rows[0]["negative_embeddings"]  # epoch 2 adds hard negatives


def test_every_training_default_comes_from_train_config(capsys):
    """`gnnrec train` passes on only the options given; the rest are TrainConfig's, and --help shows them."""
    from dataclasses import fields

    from gnnrec_lite.cli.train import TRAINING, training_config
    from gnnrec_lite.train import TrainConfig

    parser = cli.build_parser()
    assert training_config(parser.parse_args(["train"])) == TrainConfig()
    changed = training_config(parser.parse_args(["train", "--epochs", "7", "--draw", "edges", "--quiet"]))
    assert changed == TrainConfig(num_epochs=7, draw="edges", progress=False)
    assert {name for name, _, _ in TRAINING.values()} <= {f.name for f in fields(TrainConfig)}
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, (name, _, _) in TRAINING.items():
        assert f"(default: {getattr(TrainConfig(), name)})" in text, flag


@pytest.mark.parametrize("model", ["popular", "itemknn"])
def test_baselines_from_the_command_line_match_the_library(tmp_path, capsys, model):
    """`--model popular|itemknn`: no training; the table, the JSON and the top-K file agree with evaluate()."""
    from gnnrec_lite.baselines import item_knn, most_popular

    out_json, top_path = tmp_path / "out.json", tmp_path / "top.tsv"
    code, out, err = run(capsys, "train", "--model", model, "--dataset", "synthetic", "--neighbors", 10,
                         "--k", 5, 10, "--json", out_json, "--save-topk", top_path, "--quiet")
    assert code == 0, err
    assert "no training (a baseline)" in out
    train, test = g.random_split(g.synthetic(), 0.8, seed=0)
    scorer = most_popular(train) if model == "popular" else item_knn(train, num_neighbors=10)
    want = g.evaluate(scorer, train, test, k=(5, 10, 20))
    report = json.loads(out_json.read_text())
    assert report["history"] == [] and report["best_epoch"] is None
    for key in ("recall@5", "ndcg@10", "precision@10"):
        assert report["final"][key] == pytest.approx(want[key], abs=1e-12), key
    assert _table(out)[10][0] == pytest.approx(want["recall@10"], abs=1e-4)
    lines = top_path.read_text().splitlines()
    top = g.recommend(scorer, 10, exclude=train, users=test.user.unique())
    assert lines[0] == "user\trank\titem" and len(lines) - 1 == int((top >= 0).sum())
    first_user = int(test.user.unique()[0])
    assert [ln.split("\t")[2] for ln in lines[1:11]] == [str(train.item_raw_ids[i]) for i in top[0].tolist()]
    assert lines[1].split("\t")[0] == str(train.user_raw_ids[first_user])
