"""Item-to-item pipeline: pairs, split, evaluation against pure Python, margin loss by hand, PinSAGE training
(shared, per-pair and hard negatives), cold start, CLI."""

from __future__ import annotations

import argparse
import itertools
import json
import math

import pytest
import torch

import gnnrec_lite as g
from gnnrec_lite.cli.pinsage import run_pinsage
from gnnrec_lite.item2item import (
    cointeraction_pairs,
    evaluate_item2item,
    evaluate_item_scores,
    item_feature_matrix,
    prepare_item2item,
    split_pairs,
)
from gnnrec_lite.train_item2item import build_encoder, margin_loss, train_pinsage


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The training loops are tiny: one thread avoids oversubscription on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


FAST = dict(embedding_dim=16, num_epochs=15, batch_size=64, lr=0.02, num_negatives=32, progress=False)


@pytest.fixture(scope="module")
def inter():
    base = g.synthetic(80, 40, 900, num_communities=4, affinity=0.9, seed=0)
    comm = torch.as_tensor(base.item_meta["community"])
    feats = torch.nn.functional.one_hot(comm, 4).float()  # genre-like indicators
    return g.Interactions(base.num_users, base.num_items, base.user, base.item, item_features=feats,
                          item_meta={"community": base.item_meta["community"]}, name="synthetic+features")


@pytest.fixture(scope="module")
def data(inter):
    return prepare_item2item(inter, num_partners=5, num_cold_items=3, num_neighbors=5, seed=0)


@pytest.fixture(scope="module")
def trained(inter, data):
    return train_pinsage(inter, data=data, seed=0, **FAST)


def _reference_rank_metrics(z, queries, targets, k, scores=None):
    hits, rr = [], []
    for q, t in zip(queries, targets):
        row = scores[q] if scores is not None else [sum(a * b for a, b in zip(z[q], z[j])) for j in range(len(z))]
        rank = 1 + sum(1 for j in range(len(row)) if j != q and row[j] > row[t])
        hits.append(rank <= k)
        rr.append(1.0 / rank)
    return sum(hits) / len(hits), sum(rr) / len(rr)


def test_evaluate_item2item_matches_pure_python():
    z = torch.randn(12, 3, generator=torch.Generator().manual_seed(3))
    z[5] = z[4]  # a tie
    queries, targets = [0, 1, 2, 3, 7, 4], [5, 4, 11, 0, 2, 5]
    got = evaluate_item2item(z, queries, targets, k=(3, 10))
    zl = z.tolist()
    for k in (3, 10):
        hit, mrr = _reference_rank_metrics(zl, queries, targets, k)
        assert got[f"hit@{k}"] == pytest.approx(hit)
        assert got["mrr"] == pytest.approx(mrr)


def _reference_random_ties(scores, queries, targets, k):
    """Average over every order of the target's tie group (itertools.permutations) of hit@k and 1/rank."""
    hits, rr = [], []
    for q, t in zip(queries, targets):
        others = [j for j in range(len(scores)) if j != q]
        higher = sum(1 for j in others if scores[q][j] > scores[q][t])
        group = [j for j in others if scores[q][j] == scores[q][t]]
        orders = list(itertools.permutations(group))
        ranks = [higher + 1 + order.index(t) for order in orders]
        hits.append(sum(r <= k for r in ranks) / len(ranks))
        rr.append(sum(1 / r for r in ranks) / len(ranks))
    return sum(hits) / len(hits), sum(rr) / len(rr)


def test_evaluate_item_scores_random_ties_match_every_order():
    gen = torch.Generator().manual_seed(5)
    scores = torch.randint(0, 3, (8, 8), generator=gen).double()  # many ties
    queries, targets = [0, 1, 2, 5, 7, 7], [3, 0, 6, 4, 1, 2]
    for k in (1, 3):
        got = evaluate_item_scores(scores, queries, targets, k=k, ties="random")
        hit, mrr = _reference_random_ties(scores.tolist(), queries, targets, k)
        assert got[f"hit@{k}"] == pytest.approx(hit) and got["mrr"] == pytest.approx(mrr)
        best = evaluate_item_scores(scores.to_sparse(), queries, targets, k=k)  # sparse: the same matrix
        hit, mrr = _reference_rank_metrics(None, queries, targets, k, scores=scores.tolist())
        assert best[f"hit@{k}"] == pytest.approx(hit) and best["mrr"] == pytest.approx(mrr)


def test_an_empty_row_ties_everything():
    """An item-kNN cold item: every candidate scores 0. Ties in the target's favour say rank 1; random, chance."""
    scores = torch.zeros(11, 11)
    assert evaluate_item_scores(scores, [0], [4], k=5) == {"hit@5": 1.0, "mrr": 1.0}
    rand = evaluate_item_scores(scores, [0], [4], k=5, ties="random")
    assert rand["hit@5"] == pytest.approx(0.5) and rand["mrr"] == pytest.approx(sum(1 / r for r in range(1, 11)) / 10)
    z = torch.randn(11, 4)
    assert evaluate_item2item(z, [0, 1], [4, 5], ties="random") == evaluate_item2item(z, [0, 1], [4, 5])


def test_margin_loss_by_hand():
    z_q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_p = torch.tensor([[0.6, 0.8], [0.0, 1.0]])  # positive scores 0.6 and 1.0
    shared = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [0.8, 0.6]])  # scores q0: 0, -1, 0.8; q1: 1, 0, 0.6
    # terms max(0, neg - pos + 0.2): q0: 0, 0, 0.4; q1: 0.2, 0, 0 -> mean 0.6 / 6
    assert float(margin_loss(z_q, z_p, shared, 0.2)) == pytest.approx(0.1)
    per_pair = torch.tensor([[[0.0, 1.0], [0.8, 0.6]], [[1.0, 0.0], [0.28, 0.96]]])  # q0: 0, 0.8; q1: 0, 0.96
    assert float(margin_loss(z_q, z_p, per_pair, 0.2)) == pytest.approx((0.4 + 0.16) / 4)
    hard = torch.tensor([[[0.8, 0.6]], [[0.0, 1.0]]])  # q0: 0.8 -> 0.4; q1: 1.0 -> 0.2
    assert float(margin_loss(z_q, z_p, shared, 0.2, z_hard=hard)) == pytest.approx((0.6 + 0.6) / 8)
    assert float(margin_loss(z_q, z_p, shared, 0.0)) == pytest.approx(0.2 / 6)


def test_cointeraction_pairs_match_sets(inter):
    pairs = cointeraction_pairs(inter, num_partners=3, min_common=2)
    users = [set(inter.user[inter.item == i].tolist()) for i in range(inter.num_items)]
    for q in range(inter.num_items):
        scores = [(len(users[q] & users[j]) / max(1, len(users[q]) * len(users[j])) ** 0.5, -j)
                  for j in range(inter.num_items) if j != q and len(users[q] & users[j]) >= 2]
        expected = [-negj for _, negj in sorted(scores, reverse=True)[:3]]
        assert pairs[pairs[:, 0] == q, 1].tolist() == expected


def test_split_pairs_keeps_both_directions_together():
    pairs = torch.tensor([[0, 1], [1, 0], [0, 2], [2, 3], [3, 2], [1, 3], [4, 0], [0, 4]])
    train, test = split_pairs(pairs, 0.4, seed=1)
    assert len(train) + len(test) == len(pairs) and len(test) > 0
    keys = lambda p: {tuple(sorted(r)) for r in p.tolist()}  # noqa: E731
    assert not keys(train) & keys(test)
    again = split_pairs(pairs, 0.4, seed=1)
    assert torch.equal(again[0], train) and torch.equal(again[1], test)
    with pytest.raises(ValueError, match="test_fraction"):
        split_pairs(pairs, 1.5)
    with pytest.raises(ValueError, match="pairs"):
        split_pairs(torch.zeros(3, 3, dtype=torch.int64))


def test_item_feature_matrix_genres_year_and_title_words():
    inter = g.Interactions(2, 3, [0, 1], [0, 2], item_features=torch.eye(3)[:, :2], item_feature_names=["a", "b"],
                           item_meta={"title": ["The Star Wars", "Star Trek", "Wars of the Stars"],
                                      "year": [1977, None, 1980]})
    x, names = item_feature_matrix(inter, num_title_words=2)
    assert names == ["a", "b", "year", "title:star", "title:wars"]
    assert x.shape == (3, 5)
    assert x[1, 2] == 0.0 and x[0, 2] < 0 < x[2, 2]
    assert x[:, 3].tolist() == [1.0, 1.0, 0.0] and x[:, 4].tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="no item_features"):
        item_feature_matrix(g.Interactions(2, 2, [0, 1], [0, 1]))


def test_training_lowers_loss_and_beats_untrained(inter, data, trained):
    losses = [r["loss"] for r in trained.history]
    assert losses[-1] < 0.6 * losses[0]
    untrained = train_pinsage(inter, data=data, seed=0, **(FAST | {"num_epochs": 0}))
    # the planted communities make the untrained encoder already rank same-community items high (its input is
    # the community: 30 of the 32 test pairs); training must keep that (to within one pair) and pull cold
    # items' neighbours into their community
    assert len(data["test_pairs"]) == 32
    assert trained.metrics["hit@10"] >= untrained.metrics["hit@10"] - 1 / 32
    assert trained.cold["cold_genre_share@10"] >= max(untrained.cold["cold_genre_share@10"],
                                                      trained.cold["genre_chance"] + 0.5)
    assert trained.cold["cold_mrr"] > untrained.cold["cold_mrr"] + 0.1
    assert set(trained.metrics) == {"hit@10", "mrr"} and torch.isfinite(trained.item_z).all()


def test_deterministic_per_seed(inter, data, trained):
    again = train_pinsage(inter, data=data, seed=0, **FAST)
    assert torch.equal(again.item_z, trained.item_z) and again.metrics == trained.metrics
    other = train_pinsage(inter, data=data, seed=1, **FAST)
    assert not torch.equal(other.item_z, trained.item_z)
    assert not torch.are_deterministic_algorithms_enabled()  # restored


def test_neighbor_dropout_trains_deterministically(inter, data):
    a = train_pinsage(inter, data=data, seed=0, neighbor_dropout=0.5, **FAST)
    b = train_pinsage(inter, data=data, seed=0, neighbor_dropout=0.5, **FAST)
    assert torch.equal(a.item_z, b.item_z) and a.history[-1]["loss"] < a.history[0]["loss"]


def test_per_pair_and_hard_negatives_count_their_slots(inter, data):
    """Item slots per batch: 2B + M shared, B (2 + M) per pair, 2B + M + B h with h hard ones per pair."""
    few = FAST | {"num_epochs": 2}
    n, m = len(data["train_pairs"]), FAST["num_negatives"]
    steps = math.ceil(n / FAST["batch_size"])
    shared = train_pinsage(inter, data=data, seed=0, **few)
    per_pair = train_pinsage(inter, data=data, seed=0, negatives="per_pair", **few)
    hard = train_pinsage(inter, data=data, seed=0, num_hard=3, **few)
    assert shared.history[0]["slots"] == pytest.approx((2 * n + steps * m) / steps)
    assert per_pair.history[0]["slots"] == pytest.approx(n * (2 + m) / steps)
    assert hard.history[0]["slots"] == pytest.approx((2 * n + steps * m + 3 * n) / steps)
    for res in (shared, per_pair, hard):
        row = res.history[-1]
        assert row["seeds"] <= min(row["slots"], inter.num_items) and row["computed"] >= row["seeds"]
        assert row["loss"] < res.history[0]["loss"] and torch.isfinite(res.item_z).all()
    assert per_pair.history[0]["seeds"] > shared.history[0]["seeds"]
    again = train_pinsage(inter, data=data, seed=0, num_hard=3, **few)
    assert torch.equal(again.item_z, hard.item_z)


def test_cold_items_have_no_edges_and_no_training_pairs(data):
    cold = data["cold_items"]
    assert cold.numel() == 3 and (data["graph"].item_degree()[cold] == 0).all()
    assert (data["neighbors"][cold] == -1).all() and not torch.isin(data["neighbors"], cold).any()
    assert not torch.isin(data["train_pairs"], cold).any() and not torch.isin(data["negatives"], cold).any()
    assert torch.isin(data["cold_pairs"][:, 0], cold).all()


def test_cold_item_embedding_uses_features(inter, data, trained):
    cold = data["cold_items"]
    model, x = trained.model, data["features"].clone()
    z = model.inference(x, data["neighbors"], data["weights"])
    assert torch.isfinite(z[cold]).all()
    x[cold[0], :4] = torch.roll(x[cold[0], :4], 1)  # another community
    z2 = model.inference(x, data["neighbors"], data["weights"])
    assert not torch.allclose(z2[cold[0]], z[cold[0]], atol=1e-4)
    assert set(trained.cold) == {"cold_hit@10", "cold_mrr", "cold_genre_share@10", "genre_chance"}
    assert trained.cold["cold_genre_share@10"] > trained.cold["genre_chance"]


def test_shallow_encoder_leaves_cold_items_untrained(inter, data):
    shallow = train_pinsage(inter, data=data, encoder="shallow", seed=0, **FAST)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        init = build_encoder("shallow", inter.num_items, 0, embedding_dim=16)
    cold = data["cold_items"]
    assert torch.equal(shallow.model.item_emb.weight[cold], init.item_emb.weight[cold])
    warm = data["train_pairs"][0, 0]
    assert not torch.equal(shallow.model.item_emb.weight[warm], init.item_emb.weight[warm])


@pytest.mark.parametrize("kwargs, name", [({"num_epochs": -1}, "num_epochs"), ({"lr": 0}, "lr"),
                                          ({"encoder": "gat"}, "encoder"), ({"margin": -1.0}, "margin"),
                                          ({"k": 0}, "k"), ({"neighbor_dropout": 1.0}, "neighbor_dropout"),
                                          ({"negatives": "uniform"}, "negatives"), ({"num_hard": -1}, "num_hard")])
def test_train_pinsage_bad_arguments(inter, data, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        train_pinsage(inter, data=data, progress=False, **kwargs)


def test_evaluate_item2item_bad_arguments():
    z = torch.randn(15, 2)
    with pytest.raises(ValueError, match="targets"):
        evaluate_item2item(z, [0, 1], [0, 2])
    with pytest.raises(ValueError, match="queries"):
        evaluate_item2item(z, [0, 20], [1, 2])
    with pytest.raises(ValueError, match="item_z"):
        evaluate_item2item(z[:, 0], [0], [1])


def _args(tmp_path, **over):
    base = dict(dataset=None, data_dir=None, dim=16, layers=1, num_epochs=1, batch_size=512, lr=0.01, seed=0, k=[10, 5],
                json=str(tmp_path / "out.json"), quiet=True, negatives=None, num_negatives=None, num_shared=None,
                num_hard=None, device=None)
    return argparse.Namespace(**(base | over))


@pytest.mark.parametrize("flags, expected", [
    ([], {"negatives": None, "num_hard": None}),  # train_pinsage's defaults: shared, no hard ones
    (["--negatives", "uniform", "--neg", "4"], {"negatives": "per_pair", "num_negatives": 4}),
    (["--negatives", "hard", "--num-shared", "8", "--num-hard", "1"],
     {"negatives": "shared", "num_negatives": 8, "num_hard": 1}),
])
def test_gnnrec_train_pinsage_on_a_small_dataset(tmp_path, capsys, flags, expected):
    from gnnrec_lite.cli import main

    out = tmp_path / "run.json"
    code = main(["train", "--model", "pinsage", "--dataset", "southern-women", "--epochs", "2", "--dim", "8",
                 "--k", "5", "--quiet", "--json", str(out), *flags])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["config"]["model"] == "pinsage" and len(report["history"]) == 2
    assert {key: report["config"][key] for key in expected} == expected
    assert 0.0 <= report["metrics"]["hit@5"] <= 1.0 and report["data"]["cold_items"] == 1
    assert f"{report['metrics']['hit@5']:.4f}" in capsys.readouterr().out
    row = report["history"][-1]
    assert {"loss", "seconds", "seeds", "slots", "computed"} <= set(row)


def test_cli_refuses_negatives_pinsage_does_not_have(tmp_path):
    with pytest.raises(ValueError, match="curriculum"):
        run_pinsage(_args(tmp_path, negatives="curriculum"))


@pytest.mark.data
def test_cli_on_ml100k(tmp_path, capsys):
    assert run_pinsage(_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "cold_hit@10" in out and "s training" in out
    report = json.loads((tmp_path / "out.json").read_text())
    assert {"hit@5", "hit@10", "mrr"} <= set(report["metrics"]) and report["data"]["cold_items"] > 0
    with pytest.raises(ValueError, match="embedding_dim"):
        run_pinsage(_args(tmp_path, dim=0, json=str(tmp_path / "bad.json")))
    assert not (tmp_path / "bad.json").exists()
