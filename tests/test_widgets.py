"""gnnrec_lite.widgets: live figures without a front end, the lecture 02 explorer against the formulas."""

import math

import ipywidgets as widgets
import numpy as np
import pytest
import torch

from gnnrec_lite.lecture import widgets as gw


def sp(x):
    return math.log1p(math.exp(x))


@pytest.fixture
def displayed(monkeypatch):
    """Capture IPython displays; display_id=True returns a handle whose updates are recorded too."""
    shown, updates = [], []

    class Handle:
        def update(self, obj, **kwargs):
            updates.append(obj)

    def display(obj, **kwargs):
        shown.append(obj)
        return Handle() if kwargs.get("display_id") else None

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", display)
    return shown, updates


def test_explorer_defaults_are_the_lecture_case():
    live = gw.loss_explorer(show=False)
    bundle = live.render()
    binary = (sp(-1) + sp(-3)) / 2 + (sp(-1) + sp(2)) / 2
    bpr = (sp(-2) + sp(-1)) / 2
    assert live.last["Recall@1"] == 1.0
    assert live.last["binary loss"] == pytest.approx(binary, rel=1e-12)
    assert live.last["BPR loss"] == pytest.approx(bpr, rel=1e-12)
    assert "data:image/png;base64," in bundle["text/html"]  # the static picture
    assert f"{binary:.4f}" in bundle["text/html"] and f"{binary:.4f}" in bundle["text/plain"]


def test_moving_a_slider_updates_the_displayed_results(displayed):
    shown, updates = displayed
    live = gw.loss_explorer()
    assert isinstance(shown[0], widgets.VBox) and len(shown[0].children) == 4
    live.controls["s_1_0"].value = 3.5  # (u1, v0) now beats u1's positive (u1, v1) = 3
    assert live.last["Recall@1"] == 0.5
    assert live.last["binary loss"] == pytest.approx((sp(-1) + sp(-3)) / 2 + (sp(-1) + sp(3.5)) / 2)
    assert live.last["BPR loss"] == pytest.approx((sp(-2) + sp(0.5)) / 2)
    assert updates and "0.5000" in updates[-1]["text/html"]


def test_shifting_one_user_moves_binary_not_bpr():
    live = gw.loss_explorer(show=False)
    live.render()
    before = dict(live.last)
    live.controls["s_0_0"].value += 1.5
    live.controls["s_0_1"].value += 1.5
    live.render()
    assert live.last["BPR loss"] == pytest.approx(before["BPR loss"], abs=1e-12)
    assert abs(live.last["binary loss"] - before["binary loss"]) > 0.1


def test_explorer_rejects_mismatched_scores():
    import gnnrec_lite as gl

    toy = gl.lecture_toy()
    with pytest.raises(ValueError, match=r"scores shape \(3, 2\) does not match positives \(2 users x 2 items\)"):
        gw.loss_explorer(torch.zeros(3, 2), toy.train, show=False)
    with pytest.raises(ValueError, match="at most 16 entries"):
        gw.loss_explorer(torch.zeros(5, 5), toy.train, show=False)


def test_interactive_plot_argument_errors():
    with pytest.raises(ValueError, match="at least one control"):
        gw.interactive_plot(lambda fig: None, show=False)
    with pytest.raises(TypeError, match="draw must be callable"):
        gw.interactive_plot(3, x=widgets.IntSlider(), show=False)
    with pytest.raises(TypeError, match="control 'x' must be an ipywidgets control"):
        gw.interactive_plot(lambda fig, x: None, x=5, show=False)


def test_a_value_error_in_draw_becomes_a_message_not_a_traceback():
    def draw(fig, movies):
        if not movies:
            raise ValueError("pick at least one movie")
        fig.add_subplot().plot([1, 2])
        return {"movies": len(movies)}

    pick = widgets.SelectMultiple(options=["a", "b"], value=["a"])
    live = gw.interactive_plot(draw, movies=pick, show=False)
    assert "base64" in live.render()["text/html"] and live.last == {"movies": 1}
    pick.value = ()
    bundle = live.render()
    assert "pick at least one movie" in bundle["text/html"] and "base64" not in bundle["text/html"]
    assert live.last == {}


def test_other_errors_in_draw_propagate():
    live = gw.interactive_plot(lambda fig, x: 1 / 0, x=widgets.IntSlider(), show=False)
    with pytest.raises(ZeroDivisionError):
        live.render()


def test_embedding_snapshots_checks_and_draws():
    with pytest.raises(ValueError, match="at least one"):
        gw.embedding_snapshots([], show=False)
    with pytest.raises(ValueError, match="same shape"):
        gw.embedding_snapshots([(0, np.zeros((4, 3))), (1, np.zeros((5, 3)))], show=False)
    gen = torch.Generator().manual_seed(0)
    snaps = [(e, torch.randn(30, 4, generator=gen)) for e in (0, 5, 10)]
    live = gw.embedding_snapshots(snaps, labels=np.arange(30) % 3, show=False)
    assert live.controls["epoch"].value == 10 and list(live.controls["epoch"].options) == [0, 5, 10]
    live.render()
    assert live.last == {"epoch": 10}
    live.controls["epoch"].value = 5
    assert live.render()["text/plain"] == "epoch = 5" and live.last == {"epoch": 5}


def test_results_table_formats_numbers():
    html = gw.results_table({"a": 0.123456, "b": "x<y"})
    assert "0.1235" in html and "x&lt;y" in html
