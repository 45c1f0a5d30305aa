"""Lecture 06 negatives: shared, hard (random walks), curriculum, distance-weighted; in the trainer and the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gnnrec_lite as g
from gnnrec_lite import cli
from gnnrec_lite.models import build_model
from gnnrec_lite.negatives import (
    CurriculumSchedule,
    SharedNegatives,
    distance_weighted_negatives,
    hard_negative_pool,
)
from gnnrec_lite.train import TrainConfig, train_bpr
from gnnrec_lite.walks import personalized_pagerank

QUIET = dict(progress=False)


@pytest.fixture(scope="module")
def split():
    return g.random_split(g.synthetic(60, 80, 600, seed=0), 0.8, seed=0)


def positives(inter):
    return set(zip(inter.user.tolist(), inter.item.tolist()))


# ------------------------------------------------------------------ shared
def test_shared_sampler_returns_one_set_per_batch(split):
    train, _ = split
    sampler = SharedNegatives(train, num_shared=7, seed=0)
    users, pos, neg = sampler.sample(32)
    assert users.shape == (32,) and pos.shape == (32,) and neg.shape == (7,)
    assert (pos >= 0).all() and (neg < train.num_items).all()
    clash = sampler.clashes(users, neg)  # (B, M)
    expected = torch.tensor([[(u, v) in positives(train) for v in neg.tolist()] for u in users.tolist()])
    assert torch.equal(clash, expected)


def test_shared_negatives_cut_embeddings_by_exactly_the_batch_size(split):
    train, _ = split
    counts = {}
    for mode in ("uniform", "shared"):
        model = build_model("lightgcn", train, seed=0, embedding_dim=8, num_layers=1)
        h = train_bpr(model, train, num_epochs=2, batch_size=16, num_negatives=3, num_shared=3, negatives=mode,
                      **QUIET)
        counts[mode] = [r["negative_embeddings"] for r in h.rows]
    steps = math.ceil(len(train) / 16)
    assert counts["uniform"] == [steps * 16 * 3] * 2
    assert counts["shared"] == [steps * 3] * 2


# ------------------------------------------------------------------ hard
def reference_pool(train, user, lo, hi):
    """Items ranked by exact PPR (ties to the lower id), the user's items dropped, ranks [lo, hi)."""
    ppr = personalized_pagerank(train, [user], restart_prob=0.5)[0].numpy()
    own = {v for u, v in positives(train) if u == user}
    ranked = [v for v in np.lexsort((np.arange(len(ppr)), -ppr)).tolist() if v not in own]
    return ranked[lo:min(hi, len(ranked))]


def test_hard_pool_matches_an_independent_ranking(split):
    train, _ = split
    users = [0, 5, 17]
    pool = hard_negative_pool(train, users, window=(3, 12), method="ppr")
    for u in users:
        assert pool.pool(u).tolist() == reference_pool(train, u, 3, 12)
    frac = hard_negative_pool(train, users, window=(0.1, 0.3), method="ppr")
    for u in users:
        cand = train.num_items - int((train.user == u).sum())
        lo, hi = math.floor(0.1 * cand), math.ceil(0.3 * cand)
        assert frac.pool(u).tolist() == reference_pool(train, u, lo, hi)


def test_hard_pool_never_holds_positives_and_walks_are_seeded(split):
    train, _ = split
    users = torch.nonzero(train.user_degree() > 0).flatten()
    pool = hard_negative_pool(train, users, num_walks=20, num_hops=5, seed=3)
    again = hard_negative_pool(train, users, num_walks=20, num_hops=5, seed=3)
    assert torch.equal(pool.items, again.items) and torch.equal(pool.indptr, again.indptr)
    pos = positives(train)
    assert (pool.sizes() >= 1).all()
    assert not any((u, v) in pos for u in users.tolist() for v in pool.pool(u).tolist())
    drawn = pool.sample(users, 5, generator=torch.Generator().manual_seed(0))  # (S, 5)
    assert drawn.shape == (users.numel(), 5)
    assert all(v in set(pool.pool(u).tolist()) for u, row in zip(users.tolist(), drawn.tolist()) for v in row)


def test_hard_pool_window_clipping_and_errors(split):
    train, _ = split
    cand = train.num_items - int((train.user == 0).sum())
    clipped = hard_negative_pool(train, [0], window=(cand - 2, 10**6), method="ppr")
    assert clipped.pool(0).numel() == 2  # hi is clipped to the candidates
    with pytest.raises(ValueError, match="window"):
        hard_negative_pool(train, [0], window=(cand, cand + 5))  # starts past the candidates
    for bad in [(5, 5), (0.3, 0.1), (0.0, 1.5), (-1, 3), (1, 2.0), 7]:
        with pytest.raises(ValueError, match="window"):
            hard_negative_pool(train, [0], window=bad)
    for kwargs, name in [(dict(restart_prob=0.0), "restart_prob"), (dict(restart_prob=1.5), "restart_prob"),
                         (dict(num_walks=0), "num_walks"), (dict(method="bfs"), "method")]:
        with pytest.raises(ValueError, match=name):
            hard_negative_pool(train, [0], **kwargs)


def test_hard_pool_edge_users():
    # user 1 has no edge, user 2 has every item
    inter = g.Interactions(3, 3, torch.tensor([0, 2, 2, 2]), torch.tensor([0, 0, 1, 2]))
    with pytest.raises(ValueError, match="user 1"):
        hard_negative_pool(inter, [1])
    with pytest.raises(ValueError, match="user 2 has every item"):
        hard_negative_pool(inter, [0, 2])
    pool = hard_negative_pool(inter, [0], window=(0.0, 0.01))  # a fraction never leaves a pool empty
    assert pool.pool(0).numel() == 1 and pool.pool(0).item() in (1, 2)
    with pytest.raises(ValueError, match="no hard-negative pool"):
        pool.pool(2)


# ------------------------------------------------------------------ curriculum
def test_curriculum_adds_one_per_epoch_up_to_the_cap():
    schedule = CurriculumSchedule(max_hard=3)
    assert [schedule(n) for n in range(1, 8)] == [0, 1, 2, 3, 3, 3, 3]
    assert [CurriculumSchedule(max_hard=10, step=2)(n) for n in (1, 2, 6, 9)] == [0, 2, 10, 10]
    with pytest.raises(ValueError, match="epoch"):
        schedule(0)
    with pytest.raises(ValueError, match="max_hard"):
        CurriculumSchedule(max_hard=-1)


# ------------------------------------------------------------------ distance-weighted
def cv_of_histogram(d: torch.Tensor) -> float:
    counts = np.histogram(d.numpy().ravel(), bins=9, range=(0.5, 1.4))[0].astype(float)
    return float(counts.std() / counts.mean())


def test_distance_weighted_distances_are_much_flatter_than_uniform():
    gen = torch.Generator().manual_seed(0)
    anchors, items = torch.randn(16, 8, generator=gen), torch.randn(20000, 8, generator=gen)
    idx, dist = distance_weighted_negatives(anchors, items, 2000, generator=gen, return_distances=True)
    assert idx.shape == dist.shape == (16, 2000)
    assert dist.max() < 1.4  # nothing beyond the nonzero-loss cutoff
    a = torch.nn.functional.normalize(anchors, dim=1)
    b = torch.nn.functional.normalize(items, dim=1)
    assert torch.allclose(dist, (a[:, None, :] - b[idx]).norm(dim=-1), atol=1e-5)
    uniform = torch.randint(20000, (16, 2000), generator=gen)
    d_uni = (a[:, None, :] - b[uniform]).norm(dim=-1)
    d_uni = d_uni[(d_uni >= 0.5) & (d_uni < 1.4)]
    assert cv_of_histogram(dist) < 0.2 and 4 * cv_of_histogram(dist) < cv_of_histogram(d_uni)


def test_distance_weighted_respects_exclude_and_falls_back():
    gen = torch.Generator().manual_seed(1)
    anchors, items = torch.randn(4, 16, generator=gen), torch.randn(50, 16, generator=gen)
    exclude = torch.zeros(4, 50, dtype=torch.bool)
    exclude[:, :25] = True
    idx = distance_weighted_negatives(anchors, items, 100, exclude=exclude, generator=gen)
    assert (idx >= 25).all()
    far = distance_weighted_negatives(torch.ones(1, 4), -torch.ones(3, 4), 5, generator=gen)  # all at d = 2
    assert far.shape == (1, 5)  # no candidate in range: uniform fallback
    with pytest.raises(ValueError, match="num_samples"):
        distance_weighted_negatives(anchors, items, 0)
    with pytest.raises(ValueError, match="cutoff"):
        distance_weighted_negatives(anchors, items, 1, cutoff=1.5)


# ------------------------------------------------------------------ trainer and CLI
@pytest.mark.parametrize("mode", ["uniform", "shared", "hard", "curriculum", "distance"])
def test_every_mode_trains_and_is_deterministic(split, mode):
    train, test = split

    def run():
        model = build_model("lightgcn", train, seed=0, embedding_dim=8, num_layers=1)
        h = train_bpr(model, train, test=test, num_epochs=2, batch_size=64, negatives=mode, num_shared=8,
                      num_hard=2, k=(5,), **QUIET)
        return model, h

    (m1, h1), (m2, h2) = run(), run()
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    assert [r["loss"] for r in h1.rows] == [r["loss"] for r in h2.rows]
    assert all(math.isfinite(r["loss"]) for r in h1.rows) and "test/recall@5" in h1.rows[-1]
    if mode == "curriculum":
        steps = math.ceil(len(train) / 64)
        assert [r["hard_negatives"] for r in h1.rows] == [0, 1]
        assert [r["negative_embeddings"] for r in h1.rows] == [steps * 8, steps * (8 + 64)]


def test_config_rejects_bad_negatives():
    with pytest.raises(ValueError, match="negatives"):
        TrainConfig(negatives="random")
    with pytest.raises(ValueError, match="num_shared"):
        TrainConfig(num_shared=0)


def test_cli_negatives(capsys):
    code = cli.main(["train", "--dataset", "synthetic", "--epochs", "2",
                     "--negatives", "shared", "--num-shared", "4", "--dim", "8", "--layers", "1", "--quiet"])
    out, _ = capsys.readouterr()
    assert code == 0 and "recall" in out
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--negatives", "nope"])
    assert exc.value.code == 2
    assert "--negatives" in capsys.readouterr().err


@pytest.mark.data
def test_ml100k_pools_for_all_users_hold_no_positives():
    data = g.load("ml-100k")
    train, _ = g.random_split(data, 0.8, seed=0)
    users = torch.nonzero(train.user_degree() > 0).flatten()
    pool = hard_negative_pool(train, users)
    assert pool.users.numel() == 943
    rows = torch.arange(users.numel()).repeat_interleave(pool.sizes())
    keys = users[rows] * train.num_items + pool.items
    train_keys = train.user * train.num_items + train.item
    assert not torch.isin(keys, train_keys).any()
    cand = train.num_items - train.user_degree()[users]
    assert torch.equal(pool.sizes(), torch.ceil(0.25 * cand.double()).long() - torch.floor(0.05 * cand.double()).long())


def test_empirical_density_flattens_clustered_embeddings_where_the_sphere_formula_cannot():
    """Trained embeddings cluster; q(d) assumes points spread on the sphere and then piles draws up close."""
    gen = torch.Generator().manual_seed(3)
    anchors = torch.randn(8, 16, generator=gen)
    # items spread at every distance from the anchors' region: a mixture of near copies and random points
    scale = torch.rand(20000, 1, generator=gen) * 3
    items = anchors[torch.randint(8, (20000,), generator=gen)] + scale * torch.randn(20000, 16, generator=gen)
    _, d_sphere = distance_weighted_negatives(anchors, items, 4000, generator=gen, return_distances=True)
    _, d_emp = distance_weighted_negatives(anchors, items, 4000, generator=gen, return_distances=True,
                                           density="empirical")
    assert d_emp.min() >= 0.5 and d_emp.max() < 1.4
    assert cv_of_histogram(d_emp) < 0.15
    assert (d_sphere < 0.5).float().mean() > 0.3  # the clipped weight is largest below the cutoff
    with pytest.raises(ValueError, match="density"):
        distance_weighted_negatives(anchors, items, 1, density="kde")


def test_one_strategy_class_per_name_and_the_hard_negatives_it_reports(split):
    from gnnrec_lite.negatives import NEGATIVES, STRATEGIES, build_negatives

    train, _ = split
    assert NEGATIVES == ("uniform", "shared", "hard", "curriculum", "distance")
    config = TrainConfig(num_hard=3, num_shared=8)
    built = {name: build_negatives(train, config.replace(negatives=name)) for name in NEGATIVES}
    assert {name: type(s) for name, s in built.items()} == STRATEGIES
    assert [built["curriculum"].hard_negatives(n) for n in (1, 2, 5)] == [0, 1, 3]
    assert built["hard"].hard_negatives(1) == 3 and built["uniform"].hard_negatives(1) is None
    assert built["shared"].sampler.num_negatives == 8 and built["uniform"].sampler.num_negatives == 4
