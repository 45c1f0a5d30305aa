"""gnnrec_lite.plotting: projections against numpy references; figures are labelled; bad input is named."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import gnnrec_lite as gl  # noqa: E402
from gnnrec_lite.lecture import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_pca_matches_numpy_svd_up_to_sign():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])
    xc = x - x.mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    ref = xc @ vt[:2].T
    got = plotting.project(x, "pca")
    for j in range(2):
        assert np.allclose(np.abs(got[:, j]), np.abs(ref[:, j]), atol=1e-9)
        assert np.allclose(got[:, j], ref[:, j] * np.sign(ref[:, j] @ got[:, j]), atol=1e-9)
        assert got[np.abs(got[:, j]).argmax(), j] > 0  # sign convention


def test_tsne_keeps_separated_clusters_apart():
    gen = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 10, generator=gen) * 20
    labels = torch.arange(90) % 3
    x = centers[labels] + torch.randn(90, 10, generator=gen)
    y = plotting.project(x, "tsne", num_iters=300)
    assert y.shape == (90, 2) and np.isfinite(y).all()
    d = ((y[:, None] - y[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels.numpy()[d.argmin(1)] == labels.numpy()).mean() > 0.95
    assert np.allclose(y, plotting.project(x, "tsne", num_iters=300))  # seeded


def test_align_to_undoes_a_rotation_and_scale():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(30, 2))
    theta = 1.1
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = 3.0 * ref @ rot + 5.0
    assert np.allclose(plotting.align_to(moved, ref), ref, atol=1e-9)
    with pytest.raises(ValueError, match="same shape"):
        plotting.align_to(moved[:3], ref)


@pytest.mark.parametrize("bad, match", [(np.zeros(5), "2-D array"), (np.zeros((0, 3)), "2-D array"),
                                        (np.array([[1.0, np.nan]]), "NaN")])
def test_bad_points_are_named(bad, match):
    with pytest.raises(ValueError, match=f"x .*{match}|x contains {match}"):
        plotting.project(bad)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"method must be one of \['pca', 'tsne'\], got 'umap'"):
        plotting.project(np.zeros((4, 3)), "umap")


def test_plot_embeddings_checks_lengths_and_labels_axes():
    x = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(ValueError, match=r"labels must have one entry per point, shape \(20,\)"):
        plotting.plot_embeddings(x, labels=[0, 1])
    with pytest.raises(ValueError, match="names must have one entry per point"):
        plotting.plot_embeddings(x, names=["a"])
    with pytest.raises(ValueError, match=r"coords must have shape \(20, 2\)"):
        plotting.plot_embeddings(x, coords=np.zeros((3, 2)))
    ax = plotting.plot_embeddings(x, labels=np.arange(20) % 2, label_names=["odd?", "even?"], names=list("abcdefghij"
                                  "klmnopqrst"), annotate=[0, 3])
    assert ax.get_xlabel() == "PC1" and ax.get_ylabel() == "PC2"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["odd?", "even?"]
    assert [t.get_text() for t in ax.texts] == ["a", "d"]


def test_degree_plot_and_recall_curves():
    data = gl.synthetic(num_users=50, num_items=80, num_interactions=600, seed=0)
    ax = plotting.plot_degrees(data)
    assert ax.get_xscale() == "log" and "degree" in ax.get_xlabel()
    users_line = ax.get_lines()[0]
    assert len(users_line.get_xdata()) == 50  # one point per user with an interaction
    ax = plotting.plot_recall_vs_k({"a": {1: 0.1, 10: 0.5, 5: 0.3}})
    assert list(ax.get_lines()[0].get_xdata()) == [1, 5, 10]  # sorted by K
    for bad in ({}, {"a": {}}, [1, 2]):
        with pytest.raises(ValueError, match="curves"):
            plotting.plot_recall_vs_k(bad)


def test_draw_bipartite_marks_shared_items():
    inter = gl.Interactions(3, 4, user=[0, 0, 1, 1, 2], item=[0, 1, 1, 2, 3], item_names=["a", "b", "c", "d"])
    ax = plotting.draw_bipartite(inter, users=[0, 1])
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == ["a", "b", "c", "user 0", "user 1"]
    assert "3 of their items" in ax.get_title()
    with pytest.raises(ValueError, match=r"users \[7\] are out of range for 3 users"):
        plotting.draw_bipartite(inter, users=[0, 7])
    with pytest.raises(ValueError, match="at least one user"):
        plotting.draw_bipartite(inter, users=[])


def test_plot_history_refuses_an_empty_history():
    from gnnrec_lite.train import History

    with pytest.raises(ValueError, match="no epochs"):
        plotting.plot_history(History())
