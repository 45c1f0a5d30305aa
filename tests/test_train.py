"""train_bpr, TrainConfig, bpr_step_loss and History on tiny synthetic graphs with planted communities."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import gnnrec_lite as g  # noqa: E402
from gnnrec_lite.models import build_model  # noqa: E402
from gnnrec_lite.negatives.uniform import bpr_step_loss  # noqa: E402
from gnnrec_lite.sampling import BPRSampler  # noqa: E402
from gnnrec_lite.train import History, TrainConfig, train_bpr  # noqa: E402

QUIET = dict(progress=False)


@pytest.fixture(scope="module")
def split():
    data = g.synthetic(60, 80, 600, seed=0)
    return g.random_split(data, 0.8, seed=0)


@pytest.fixture(scope="module")
def three_way(split):
    train, test = split
    fit, val = g.random_split(train, 0.75, seed=1)
    return fit, val, test


def _union(a: g.Interactions, b: g.Interactions) -> g.Interactions:
    return g.Interactions(a.num_users, a.num_items, torch.cat([a.user, b.user]), torch.cat([a.item, b.item]),
                          allow_duplicates=True)


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------- learning
@pytest.mark.parametrize("name", ["mf", "lightgcn"])
def test_training_lowers_loss_and_raises_recall(split, name):
    train, test = split
    model = build_model(name, train, seed=0, embedding_dim=16, num_layers=2)
    with torch.no_grad():
        user_z, item_z = model()
        before = g.evaluate((user_z, item_z), train, test, 10)["recall@10"]
        full_before = float(g.bpr_loss_full(user_z @ item_z.T, train))
    history = train_bpr(model, train, test=test, num_epochs=8, batch_size=128, lr=0.05, eval_every=4, k=(10,),
                        **QUIET)
    assert isinstance(history, History)
    assert [r["epoch"] for r in history.rows] == list(range(1, 9))
    losses = [r["loss"] for r in history.rows]
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.5 * losses[0]
    assert losses[0] < math.log(2) + 0.05  # BPR starts near log 2 with small random embeddings
    with torch.no_grad():
        user_z, item_z = model()
        after = g.evaluate((user_z, item_z), train, test, 10)["recall@10"]
        full_after = float(g.bpr_loss_full(user_z @ item_z.T, train))
    assert full_after < full_before - 0.1  # the loss over *all* pairs drops too, not just the sampled one
    assert after > before + 0.15
    # the history reports the metric the final model has
    assert history.final("test")["recall@10"] == pytest.approx(after, abs=1e-12)
    assert [r["epoch"] for r in history.evaluations()] == [4, 8]


def test_same_seeds_give_identical_runs(split):
    train, test = split

    def run(sampler_seed):
        model = build_model("lightgcn", train, seed=3, embedding_dim=8, num_layers=2)
        history = train_bpr(model, train, test=test, num_epochs=3, batch_size=200, eval_every=1, seed=sampler_seed,
                            **QUIET)
        rows = [{k: v for k, v in r.items() if k != "seconds"} for r in history.rows]
        return rows, _state(model)

    rows_a, state_a = run(0)
    rows_b, state_b = run(0)
    assert rows_a == rows_b
    assert _same_state(state_a, state_b)
    rows_c, state_c = run(1)  # another sampler seed, another run
    assert not torch.equal(state_a["user_emb.weight"], state_c["user_emb.weight"])


def test_trainer_follows_the_documented_algorithm_with_edge_sampler(split):
    """Two epochs redone by hand: BPRSampler(draw="edges"), the loss of train.py's docstring, Adam."""
    train, _ = split
    cfg = dict(num_epochs=2, batch_size=100, lr=0.01, reg=1e-2, num_negatives=2, draw="edges", eval_every=0,
               seed=5)
    model = build_model("lightgcn", train, seed=2, embedding_dim=8, num_layers=2)
    history = train_bpr(model, train, **cfg, **QUIET)

    ref = build_model("lightgcn", train, seed=2, embedding_dim=8, num_layers=2)
    sampler = BPRSampler(train, num_negatives=2, draw="edges", seed=5)
    opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    steps = math.ceil(len(train) / 100)
    assert steps == 5
    epoch_losses = []
    for _ in range(2):
        total = 0.0
        for _ in range(steps):
            users, pos, neg = sampler.sample(100)
            user_z, item_z = ref()
            s_pos = (user_z[users] * item_z[pos]).sum(1)  # (B,)
            s_neg = (user_z[users][:, None, :] * item_z[neg]).sum(2)  # (B, M)
            bpr = -torch.log(torch.sigmoid(s_pos[:, None] - s_neg)).mean()
            e0_u, e0_i = ref.user_emb.weight, ref.item_emb.weight
            l2 = (e0_u[users] ** 2).sum() + (e0_i[pos] ** 2).sum() + (e0_i[neg] ** 2).sum() / 2
            loss = bpr + 1e-2 * l2 / (2 * 100)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        epoch_losses.append(total / steps)
    assert [r["loss"] for r in history.rows] == pytest.approx(epoch_losses, rel=1e-5)
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-4, atol=1e-5)
    # the edge sampler really is another sampler: the users sampler gives other weights
    other = build_model("lightgcn", train, seed=2, embedding_dim=8, num_layers=2)
    train_bpr(other, train, **(cfg | {"draw": "users"}), **QUIET)
    assert not torch.allclose(other.user_emb.weight, model.user_emb.weight, atol=1e-4)


# ------------------------------------------------------------ bpr_step_loss
def test_bpr_step_loss_matches_hand_computation(split):
    train, _ = split
    model = build_model("lightgcn", train, seed=1, embedding_dim=6, num_layers=2)
    gen = torch.Generator().manual_seed(0)
    users = torch.randint(train.num_users, (7,), generator=gen)
    pos = torch.randint(train.num_items, (7,), generator=gen)
    neg = torch.randint(train.num_items, (7, 3), generator=gen)

    user_z, item_z = model()
    pos_scores = (user_z[users] * item_z[pos]).sum(-1)
    neg_scores = (user_z[users][:, None, :] * item_z[neg]).sum(-1)
    plain = bpr_step_loss(model, users, pos, neg, 0.0)
    torch.testing.assert_close(plain, g.bpr_loss(pos_scores, neg_scores))

    # the same in numpy, pair by pair
    uz, iz = user_z.detach().double().numpy(), item_z.detach().double().numpy()
    per_user = [np.mean([np.log1p(np.exp(-(uz[u] @ iz[p] - uz[u] @ iz[n]))) for n in ns])
                for u, p, ns in zip(users.tolist(), pos.tolist(), neg.tolist())]
    assert plain.item() == pytest.approx(np.mean(per_user), rel=1e-5)

    # the L2 term acts on the initial embeddings E0, not on the propagated ones
    e_u = model.user_emb.weight.detach().double().numpy()
    e_i = model.item_emb.weight.detach().double().numpy()
    l2 = sum(e_u[u] @ e_u[u] for u in users.tolist()) + sum(e_i[p] @ e_i[p] for p in pos.tolist())
    l2 += sum(e_i[n] @ e_i[n] for row in neg.tolist() for n in row) / 3
    reg = 0.37
    with_reg = bpr_step_loss(model, users, pos, neg, reg)
    assert (with_reg - plain).item() == pytest.approx(reg * l2 / (2 * 7), rel=1e-4)
    # propagation changed the embeddings, so the two L2 readings really differ
    uz_l2 = sum(uz[u] @ uz[u] for u in users.tolist())
    assert abs(uz_l2 - sum(e_u[u] @ e_u[u] for u in users.tolist())) > 1e-3
    with_reg.backward()
    assert model.user_emb.weight.grad is not None


# ------------------------------------------------------------ early stopping
def test_early_stopping_restores_the_best_weights(three_way):
    fit, val, test = three_way
    cfg = dict(batch_size=128, lr=0.1, eval_every=1, k=(10,), monitor="recall@10", seed=0)
    model = build_model("mf", fit, seed=0, embedding_dim=16)
    history = train_bpr(model, fit, val=val, test=test, num_epochs=60, patience=1, **cfg, **QUIET)
    assert history.stopped_early
    last = history.rows[-1]["epoch"]
    assert last < 60
    assert history.best_epoch < last
    val_scores = {r["epoch"]: r["val/recall@10"] for r in history.rows}
    assert history.best_score == max(val_scores.values()) == val_scores[history.best_epoch]
    assert val_scores[last] <= history.best_score
    with torch.no_grad():
        emb = model()
    # the model now has the best epoch's validation metric ...
    assert g.evaluate(emb, fit, val, 10)["recall@10"] == history.best_score
    # ... and the best epoch's weights: a run stopped there by hand gives the same ones
    ref = build_model("mf", fit, seed=0, embedding_dim=16)
    train_bpr(ref, fit, num_epochs=history.best_epoch, **cfg, **QUIET)
    assert _same_state(_state(model), _state(ref))
    # the test metrics of the restored model are reported, with train and val excluded
    best_test = g.evaluate(emb, _union(fit, val), test, 10)
    assert history.rows[-1]["best/test/recall@10"] == pytest.approx(best_test["recall@10"], abs=1e-12)
    assert history.final("val")["recall@10"] == val_scores[last]


def test_patience_needs_validation(split):
    train, test = split
    model = build_model("mf", train, embedding_dim=4)
    with pytest.raises(ValueError, match="patience"):
        train_bpr(model, train, test=test, patience=2, num_epochs=2, **QUIET)


def test_max_seconds_zero_stops_after_one_epoch(split):
    train, test = split
    model = build_model("mf", train, embedding_dim=4)
    history = train_bpr(model, train, test=test, num_epochs=20, max_seconds=0.0, eval_every=0, k=(10,), **QUIET)
    assert len(history.rows) == 1
    assert not history.stopped_early
    assert "test/recall@10" in history.rows[0]  # the last epoch is always evaluated


def test_eval_every_schedule(split):
    train, test = split
    model = build_model("mf", train, embedding_dim=4)
    history = train_bpr(model, train, test=test, num_epochs=5, eval_every=2, k=(5,), batch_size=256, **QUIET)
    assert [r["epoch"] for r in history.evaluations()] == [2, 4, 5]
    assert history.best_epoch is None and history.best_score is None  # no val, nothing picked


# ------------------------------------------------------------ config errors
def test_unknown_override_names_the_key(split):
    train, _ = split
    model = build_model("mf", train, embedding_dim=4)
    with pytest.raises(TypeError, match="num_epoch"):
        train_bpr(model, train, num_epoch=3)


@pytest.mark.parametrize("field, value, match", [
    ("lr", 0.0, "lr"), ("lr", -1e-3, "lr"), ("batch_size", 0, "batch_size"), ("num_epochs", 0, "num_epochs"),
    ("reg", -1.0, "reg"), ("num_negatives", 0, "num_negatives"), ("patience", 0, "patience"),
    ("eval_every", -1, "eval_every"), ("k", (0,), "k"), ("monitor", "foo@3", "monitor"),
])
def test_bad_config_values_name_the_argument(split, field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})
    train, _ = split
    model = build_model("mf", train, embedding_dim=4)
    with pytest.raises(ValueError, match=match):
        train_bpr(model, train, **{field: value}, **QUIET)


@pytest.mark.parametrize("monitor", ["recall@x", "recall", "ndcg@0"])
def test_malformed_monitor_is_rejected(monitor):
    with pytest.raises(ValueError, match="monitor"):
        TrainConfig(monitor=monitor)


def test_unknown_draw_names_the_argument(split):
    train, _ = split
    model = build_model("mf", train, embedding_dim=4)
    with pytest.raises(ValueError, match="draw"):
        train_bpr(model, train, draw="nodes", num_epochs=1, **QUIET)


def test_monitored_cutoff_not_among_k(three_way):
    """monitor="recall@20" (the default) with k=(10,): a clear error naming monitor, or it just works."""
    fit, val, _ = three_way
    model = build_model("mf", fit, embedding_dim=4)
    try:
        history = train_bpr(model, fit, val=val, k=(10,), num_epochs=1, **QUIET)
    except ValueError as exc:
        assert "monitor" in str(exc)
    else:
        with torch.no_grad():
            assert history.best_score == g.evaluate(model(), fit, val, 20)["recall@20"]


def test_model_and_train_must_match(split):
    train, _ = split
    other = g.synthetic(30, 80, 200, seed=1)
    model = build_model("mf", other, embedding_dim=4)
    with pytest.raises(ValueError, match="different user or item counts"):
        train_bpr(model, train, num_epochs=1, **QUIET)


# ----------------------------------------------------------------- History
def test_history_plot_and_to_dict(three_way):
    fit, val, test = three_way
    model = build_model("mf", fit, embedding_dim=8)
    history = train_bpr(model, fit, val=val, test=test, num_epochs=3, eval_every=1, batch_size=128, k=(5, 10),
                        monitor="recall@10", **QUIET)
    ax = history.plot(metrics=("recall@10",))
    try:
        assert len(ax) == 2
        np.testing.assert_allclose(ax[0].lines[0].get_ydata(), [r["loss"] for r in history.rows])
        labels = sorted(line.get_label() for line in ax[1].lines)
        assert labels == ["test recall@10", "val recall@10"]
        test_line = next(line for line in ax[1].lines if line.get_label() == "test recall@10")
        np.testing.assert_allclose(test_line.get_ydata(), [r["test/recall@10"] for r in history.rows])
    finally:
        plt.close("all")
    fig, own = plt.subplots(1, 2)
    try:
        assert history.plot(metrics=("recall@5",), ax=own) is own
    finally:
        plt.close(fig)

    d = history.to_dict()
    restored = json.loads(json.dumps(d))
    assert restored["rows"] == history.rows
    assert restored["best_epoch"] == history.best_epoch and restored["best_score"] == history.best_score
    assert restored["seconds_per_epoch"] == history.seconds_per_epoch
    assert restored["train_seconds"] == history.train_seconds
    assert restored["stopped_early"] is False
    assert history.train_seconds == pytest.approx(sum(r["seconds"] for r in history.rows))
    assert history.seconds_per_epoch in [r["seconds"] for r in history.rows]


def test_history_final_and_empty():
    h = History(rows=[{"epoch": 1, "loss": 0.5, "seconds": 1.0, "test/recall@5": 0.25, "val/recall@5": 0.5},
                      {"epoch": 2, "loss": 0.4, "seconds": 3.0},
                      {"epoch": 3, "loss": 0.3, "seconds": 2.0, "test/recall@5": 0.75}])
    assert h.final("test") == {"recall@5": 0.75}
    assert h.final("val") == {"recall@5": 0.5}
    assert h.final("nothing") == {}
    assert [r["epoch"] for r in h.evaluations()] == [1, 3]
    assert h.seconds_per_epoch == 2.0
    assert math.isnan(History().seconds_per_epoch)
    json.dumps(History().to_dict(), allow_nan=True)


def test_callback_sees_every_epoch_without_autograd():
    import gnnrec_lite as gl
    from gnnrec_lite.models import build_model
    from gnnrec_lite.train import train_bpr as _train

    data = gl.synthetic(num_users=30, num_items=40, num_interactions=300, seed=0)
    model = build_model("mf", data, seed=0, embedding_dim=8)
    seen = []

    def callback(epoch, m, row):
        assert m is model and row["epoch"] == epoch and not torch.is_grad_enabled()
        seen.append((epoch, m()[1].clone()))

    _train(model, data, num_epochs=3, batch_size=64, progress=False, callback=callback)
    assert [e for e, _ in seen] == [1, 2, 3]
    assert not torch.equal(seen[0][1], seen[2][1])  # snapshots differ: training moved the weights
    with pytest.raises(TypeError, match="callback must be callable"):
        _train(model, data, num_epochs=1, progress=False, callback=5)
