"""Homework 1's named answers, graded without nbgrader: each plausible wrong answer loses points, and each
correct variant (another wording of an error, another way to mask) keeps full marks.

Grading here is what nbgrader does, minus the kernel and the sandbox: the setup cell and the solution cells
of the source run (one answer cell edited), then every test cell, visible and hidden, in order; a test cell
that raises scores nothing. ``tests/test_homework_nbgrader.py`` grades a few of these for real. The grades
before these tests were rewritten (issue 13) are in the comment next to each answer.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest

from gnnrec_lite import grading

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "hw1" / "hw1.ipynb"
RELEASED = ROOT / "assignments" / "hw1" / "hw1.ipynb"


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def grade(edits: dict | None = None, source=SOURCE, notebook=None) -> tuple[dict, dict]:
    """Points per test cell and the message of each failed one, for the source with ``edits`` made
    (grade_id -> [(old, new), ...]) or for a whole ``notebook`` (its answer cells run instead)."""
    src = nbformat.read(source, as_version=4)
    answers = {_meta(c)["grade_id"]: c.source for c in (notebook or src).cells if _meta(c).get("solution")}
    for grade_id, pairs in (edits or {}).items():
        for old, new in pairs:
            assert old in answers[grade_id], f"{old!r} not in {grade_id}"
            answers[grade_id] = answers[grade_id].replace(old, new, 1)
    ns: dict = {"__name__": "__main__"}
    scores, messages = {}, {}
    for cell in src.cells:
        meta = _meta(cell)
        if cell.cell_type != "code":
            continue
        code = answers.get(meta.get("grade_id"), cell.source) if meta.get("solution") else cell.source
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code.replace("hwcheck.setup()", "pass"), meta.get("grade_id", "cell"), "exec"), ns)
            failed = None
        except Exception as exc:  # noqa: BLE001  (a failed cell, as nbgrader sees it)
            failed = f"{type(exc).__name__}: {exc}"
        if meta.get("grade"):
            scores[meta["grade_id"]] = 0 if failed else meta["points"]
            if failed:
                messages[meta["grade_id"]] = failed
    return scores, messages


# The cases of issue 13 (hw1) and the usual mistakes. name -> (edits, points of 10, a phrase of the messages).
A, D = "partA-code", "partD-code"
WRONG = {
    # an answer that masks the caller's scores in place (detach() shares memory): 10 before, now 8
    "masks-scores-in-place": ({A: [(".float().clone()", ".float()")]}, 8, "the caller's scores after the call"),
    # the exclusion forgotten: 8 before and after
    "keeps-training-items": ({A: [("if exclude is not None:", "if False:")]}, 8, "skip it, then take the top 2"),
    # no range check on k: 8 before and after
    "no-check-of-k": ({A: [("if not 1 <= k <= num_items:", "if False:")]}, 8, "k=0 with 4 items is out of range"),
    # the wrong type of error: 8 before and after
    "index-error-for-k": ({A: [("raise ValueError(", "raise IndexError(")]}, 8, "expected ValueError"),
    # an ascending sort turned around: ties go to the higher item id; 8 before and after
    "ties-to-the-higher-id": ({A: [("torch.sort(scores, dim=1, descending=True, stable=True).indices",
                                    "torch.sort(scores, dim=1, stable=True).indices.flip(1)")]}, 8,
                              "items 0 and 1 are recommended"),
    # log(sigmoid(x)): -inf at x = -100; 9 before and after
    "binary-loss-log-sigmoid": ({"partB-code": [("F.softplus(-pos).mean() + F.softplus(neg).mean()",
                                                  "-torch.log(torch.sigmoid(pos)).mean() - "
                                                  "torch.log(1 - torch.sigmoid(neg)).mean()")]}, 9, "use softplus"),
    # BPR summed over a user's negatives instead of averaged: 8 before and after
    "bpr-sums-negatives": ({"partC-code": [(".mean(1).mean()", ".sum(1).mean()")]}, 8, "BPR of 2 users"),
    # a negative edge that beats nothing (u0, v1): 9 before and after
    "violation-beats-nothing": ({D: [("violation = (1, 0)", "violation = (0, 1)")]}, 9,
                                "should score higher than a positive edge of the other user"),
    # a positive edge: 9 before and after
    "violation-is-a-positive-edge": ({D: [("violation = (1, 0)", "violation = (1, 1)")]}, 9,
                                     "should be a negative edge"),
    # shifts too small (c0 - c1 = 1): 8 before and after
    "shift-not-enough": ({D: [("[[1.5], [-1.5]]", "[[0.5], [-0.5]]")]}, 8, "should all score above the negative"),
}
RIGHT = {
    # the message starts with a capital K: 8 before (the check looked for a lowercase "k"), now 10
    "capital-K-in-the-message": {A: [('f"k must be between', 'f"K must be between')]},
    # other words, no letter k at all: 8 before, now 10
    "message-without-a-k": {A: [('f"k must be between 1 and num_items={num_items}, got {k}"',
                                 'f"the cut-off must lie in [1, {num_items}], got {k}"')]},
    # a new tensor instead of a masked copy: 10 before and after
    "mask-with-where": {A: [("scores = scores.detach().float().clone()", "scores = scores.detach().float()"),
                            ("scores[~candidate] = -math.inf",
                             "scores = torch.where(candidate, scores, torch.tensor(-math.inf))")]},
    # the violating edge as a list, and other per-user shifts (1 < c0 - c1 < 4): 10 before and after
    "violation-as-a-list": {D: [("violation = (1, 0)", "violation = [1, 0]"),
                                ("[[1.5], [-1.5]]", "[[3.0], [0.5]]")]},
}


@pytest.fixture(scope="module")
def hidden_lines() -> list[str]:
    """Lines of the hidden tests, long enough not to appear by chance (the feedback must show none)."""
    text = SOURCE.read_text()
    nb = nbformat.reads(text, as_version=4)
    lines = []
    for cell in nb.cells:
        for region in re.findall(re.escape(grading.HIDDEN_BEGIN) + r"(.*?)" + re.escape(grading.HIDDEN_END),
                                 cell.source, flags=re.S):
            lines += [ln.strip() for ln in region.splitlines() if len(ln.strip()) > 25]
    assert lines
    return lines


def test_reference_gets_full_marks():
    scores, messages = grade()
    assert sum(scores.values()) == 10 and not messages, messages


def test_released_stub_scores_zero_and_says_what_to_write():
    released = nbformat.read(RELEASED, as_version=4)
    stubs = [c.source for c in released.cells if _meta(c).get("solution") and c.cell_type == "code"]
    assert len(stubs) == 4 and all('raise NotImplementedError("write this ' in s for s in stubs), stubs
    scores, messages = grade(notebook=released)
    assert sum(scores.values()) == 0, scores
    assert "write this function: Recall@K" in messages["partA-visible"]


@pytest.mark.parametrize("name", sorted(WRONG))
def test_named_wrong_answer_loses_points_and_the_message_says_why(name, hidden_lines):
    edits, expected, phrase = WRONG[name]
    scores, messages = grade(edits)
    assert sum(scores.values()) == expected, (scores, messages)
    text = "\n".join(messages.values())
    assert phrase in text, messages
    shown = [line for line in hidden_lines if line in text]
    assert not shown, f"the message quotes the hidden tests: {shown}"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_correct_variant_keeps_full_marks(name):
    scores, messages = grade(RIGHT[name])
    assert sum(scores.values()) == 10, messages


def test_every_failed_case_is_listed_with_code_that_reproduces_it():
    """The training items kept: every case it fails is listed, and each listed line runs in the learner's
    namespace and gives the value the message reports."""
    _, messages = grade(WRONG["keeps-training-items"][0])
    message = messages["partA-hidden"]
    head = re.match(r"AssertionError: (\d+) of (\d+) recall_at_k cases failed", message)
    assert head and int(head.group(1)) >= 2, message  # the top-2 case and a random case
    cases = re.findall(r"^\[\d+\] (.*?): expected (\S+), got (\S+)\n((?:      .*\n?)+)", message, flags=re.M)
    assert len(cases) == int(head.group(1)), message
    ns: dict = {}
    src = nbformat.read(SOURCE, as_version=4)
    for cell in src.cells:  # the learner's notebook: setup and answers (training items kept)
        if _meta(cell).get("grade_id") == "setup" or _meta(cell).get("solution") and cell.cell_type == "code":
            code = cell.source.replace("hwcheck.setup()", "pass").replace("if exclude is not None:", "if False:")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, ns)
    for name, _, got, reproduce in cases:
        *given, last = [line.strip() for line in reproduce.splitlines() if line.strip()]
        scope = dict(ns)
        exec("\n".join(given), scope)
        assert float(eval(last, scope)) == pytest.approx(float(got), rel=1e-4), name


def test_an_error_in_the_learners_code_names_the_case_it_was_running():
    _, messages = grade({A: [("    top = order[:, :k]", "    top = order[:, :k]\n    assert k < 4, 'k too big'")]})
    assert "[1] Recall@4 with only one item left to recommend (k larger than the candidates): while running this " \
           "case your code raised AssertionError: k too big" in messages["partA-hidden"]


def test_part_d_visible_test_does_not_reveal_the_violating_edge():
    """Structural: the released visible test checks what `violation` must be, never which edge it is."""
    visible = next(c.source for c in nbformat.read(RELEASED, as_version=4).cells
                   if _meta(c).get("grade_id") == "partD-visible")
    assert "violation" in visible
    code = re.sub(r'"""(.*?)"""|"[^"\n]*"', "", visible, flags=re.S)  # the code, without its strings
    assert not re.search(r"\(\s*1\s*,\s*0\s*\)|\[\s*1\s*,\s*0\s*\]", code), visible
    assert not re.search(r"\(\s*1\s*,\s*0\s*\)|\[\s*1\s*,\s*0\s*\]|\bu_?1\b.*\bv_?0\b", visible), visible
    answer = next(c.source for c in nbformat.read(SOURCE, as_version=4).cells if _meta(c).get("grade_id") == D)
    assert "violation = (1, 0)" in answer  # what the visible test must not print
