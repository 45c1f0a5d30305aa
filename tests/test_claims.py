"""gnnrec_lite.lecture.claims: claim() on hand-made values, and read_claims() on small executed notebooks."""

import json

import nbformat
import numpy as np
import pytest
import torch

from gnnrec_lite.lecture import claim, read_claims
from gnnrec_lite.lecture.claims import CLAIM_MIME
from gnnrec_lite.lecture.notebook import run_notebook


@pytest.fixture
def shown(monkeypatch):
    bundles = []
    import IPython.display

    def display(bundle, raw=False):
        assert raw is True
        bundles.append(bundle)

    monkeypatch.setattr(IPython.display, "display", display)
    return bundles


@pytest.mark.parametrize("holds", [True, np.bool_(True), torch.tensor(True), lambda: 3 > 2, 1])
def test_a_claim_that_holds(shown, holds):
    assert claim("three is more than two", holds) is None
    (bundle,) = shown
    assert bundle[CLAIM_MIME] == {"sentence": "three is more than two", "holds": True, "note": ""}
    assert bundle["text/plain"] == "✓ checked on this run"
    assert "✓ checked on this run" in bundle["text/html"] and "<b>" not in bundle["text/html"]
    json.dumps(bundle[CLAIM_MIME])  # plain JSON


@pytest.mark.parametrize("holds", [False, np.bool_(False), torch.tensor(False), lambda: 2 > 3, 0])
def test_a_claim_that_does_not_hold_is_reported_not_raised(shown, holds):
    claim("two is more than three", holds)
    (bundle,) = shown
    assert bundle[CLAIM_MIME] == {"sentence": "two is more than three", "holds": False, "note": ""}
    assert bundle["text/plain"] == "✗ does not hold on this run"


@pytest.mark.parametrize("holds, note", [
    (lambda: [1, 2][5] > 0, "IndexError: list index out of range"),
    (lambda: {"a": 1}["b"] > 0, "KeyError: 'b'"),
    (lambda: bool(np.array([True, False])), "ValueError: The truth value of an array"),
    (lambda: None, "the check gave None, not a truth value"),
])
def test_a_failing_check_names_its_error(shown, holds, note):
    claim("a check with a bug", holds)
    payload = shown[0][CLAIM_MIME]
    assert payload["holds"] is False and payload["note"].startswith(note)
    assert shown[0]["text/plain"].startswith(f"✗ does not hold on this run: {note}")


def test_an_array_with_several_values_is_not_a_truth_value(shown):
    claim("all positive", np.array([1, 2]) > 0)
    assert shown[0][CLAIM_MIME]["holds"] is False
    assert "ValueError" in shown[0][CLAIM_MIME]["note"]


def test_an_unchecked_claim_does_not_call_its_check(shown):
    calls = []
    claim("needs the full run", lambda: calls.append(1) or True, checked=False)
    claim("needs the full run too", False, checked=False)
    assert calls == []
    assert [b[CLAIM_MIME]["holds"] for b in shown] == [None, None]
    assert shown[0]["text/plain"] == "(checked in the full run)"


@pytest.mark.parametrize("sentence", ["", "  ", None, 3])
def test_a_claim_needs_a_sentence(shown, sentence):
    with pytest.raises(ValueError, match="claim sentence"):
        claim(sentence, True)
    assert shown == []


def test_read_claims_from_an_executed_notebook_in_order(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("One is one, and the list has two items."),
                nbformat.v4.new_code_cell("from gnnrec_lite.lecture import claim\nFAST = True\nxs = [1, 2]\n"
                                          "claim('one is one', 1 == 1)"),
                nbformat.v4.new_code_cell("claim('the list has three items', lambda: xs[2] == 3)\n"
                                          "claim('the list is long', lambda: 1 / 0, checked=not FAST)\n"
                                          "claim('two is two', lambda: 2 == 2)")]
    path = tmp_path / "claims.ipynb"
    nbformat.write(nb, path)
    executed = run_notebook(path)
    assert read_claims(executed) == [
        {"sentence": "one is one", "holds": True, "note": ""},
        {"sentence": "the list has three items", "holds": False, "note": "IndexError: list index out of range"},
        {"sentence": "the list is long", "holds": None, "note": ""},
        {"sentence": "two is two", "holds": True, "note": ""},
    ]
    saved = tmp_path / "executed.ipynb"
    nbformat.write(executed, saved)
    assert read_claims(saved) == read_claims(executed)  # from a path too


def test_read_claims_accepts_payloads_stored_as_text():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    payload = {"sentence": "s", "holds": None, "note": ""}
    cell.outputs = [nbformat.v4.new_output("display_data", data={CLAIM_MIME: json.dumps(payload), "text/plain": "x"})]
    nb.cells = [cell]
    assert read_claims(nb) == [payload]
    assert read_claims(nbformat.v4.new_notebook()) == []
