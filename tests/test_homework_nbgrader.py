"""The homework through the real nbgrader, end to end, in temporary courses (never the repo's course/).

One session batch does the expensive work once: release every homework
(tools/homework.py, as `make release` does), submit for every homework the
reference solution, the stub and the dishonest submissions of tests/cheats.py
(plus adversarial hw1 submissions), autograde each homework in one batch, two
submissions at a time in their own sandboxes (`make autograde JOBS=2`), and
generate the feedback. The tests then read the gradebook, the autograded
notebooks and the feedback pages. A second, small class is graded serially and
in two shards in separate copies of the course, and the merged gradebook must
equal the serial one and the parallel batch.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from gnnrec_lite import grading

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import homework  # noqa: E402

sys.path.pop(0)
import cheats  # noqa: E402  (tests/cheats.py)

pytestmark = [pytest.mark.slow, pytest.mark.data]  # hw2 trains on MovieLens-100K
HOMEWORK = tuple(grading.HOMEWORK)
TIMEOUT = 15  # per-cell seconds in the batch, so the infinite loop costs little; hw2's training keeps its own budget
JOBS = 2  # submissions graded at a time in the batch
CHEATS = cheats.NAMES


# ----------------------------------------------------------------------------- adversarial hw1 submissions
def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _filled(released, source):
    """The released notebook with every solution cell answered as the reference does (what a good student hands in)."""
    nb = nbformat.reads(nbformat.writes(released), as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = _cell(source, meta["grade_id"]).source
    return nb


def _edit(nb, grade_id, old, new):
    cell = _cell(nb, grade_id)
    assert old in cell.source, f"{old!r} not in {grade_id}"
    cell.source = cell.source.replace(old, new, 1)
    return nb


def _wrong(nb):
    """Recall that forgets to skip training items: visible tests pass, hidden ones catch it (loses 2 points)."""
    return _edit(nb, "partA-code", "if exclude is not None:", "if False:  # forgot the exclusion")


LIBRARY_RECALL = '''
def recall_at_k(scores, test, k, exclude=None):
    train = exclude or gl.Interactions(test.num_users, test.num_items, [], [])
    return gl.evaluate(scores, train, test, k=k)[f"recall@{k}"]
'''

PATCHES = '''
import math as _m
import numpy as _np
_m.isclose = lambda *a, **k: True
torch.allclose = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
_np.isclose = lambda *a, **k: True
_np.allclose = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
hwcheck.check = lambda *a, **k: None
'''


def attacks(released, source) -> dict:
    """student id -> (notebook or raw text, expected autograded score of 10, a phrase the feedback must show)."""
    good = lambda: _filled(released, source)  # noqa: E731
    out = {
        "reference": (good(), 10, "Part A visible test passed"),
        "stub": (nbformat.reads(nbformat.writes(released), as_version=4), 0, "NotImplementedError"),
        "wrong-answer": (_wrong(good()), 8, "skip it, then take the top 2"),
        "exception": (_edit(good(), "partB-code", "### BEGIN SOLUTION", "raise ValueError('binary loss broke')"), 5,
                      "binary loss broke"),
        "infinite-loop": (_edit(good(), "partA-code", "def recall_at_k", "while True:\n    pass\n\n\ndef recall_at_k"),
                          4, "CellTimeoutError"),
        "huge-output": (_edit(good(), "partA-code", "def recall_at_k",
                              "print('x' * 3_000_000)\nprint('spam\\n' * 300_000)\n\n\ndef recall_at_k"), 10,
                        "output truncated"),
        "edited-test": (_wrong(good()), 8, "skip it, then take the top 2"),
        "deleted-test": (_wrong(good()), 8, "was missing from the submission"),
        "library-call": (good(), 6, "must be written from scratch"),
        "sys-exit": (_edit(good(), "partB-code", "def binary_loss", "import sys\nsys.exit()\n\n\ndef binary_loss"), 5,
                     "SystemExit"),
        "os-exit": (_edit(good(), "partC-code", "def bpr_loss", "import os\nos._exit(1)\n\n\ndef bpr_loss"), 5,
                    "kernel died"),
        "reseeded-rng": (_edit(good(), "partA-code", "    ### BEGIN SOLUTION",
                               "    torch.manual_seed(k)\n    import random, numpy\n    random.seed(k)\n"
                               "    numpy.random.seed(k)\n    ### BEGIN SOLUTION"), 10, "Part A hidden tests passed"),
        "monkeypatch": (_edit(_wrong(good()), "partA-code", "def recall_at_k", PATCHES + "\n\ndef recall_at_k"), 8,
                        "skip it, then take the top 2"),
        "swallow-errors": (_edit(_wrong(good()), "partA-code", "def recall_at_k",
                                 "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n\n\n"
                                 "def recall_at_k"), 8, "skip it, then take the top 2"),
        "shadowed-builtins": (_edit(good(), "partD-code", "shifted = toy.scores + torch.tensor([[1.5], [-1.5]])",
                                    "shifted = toy.scores + torch.tensor([[0.0], [0.0]])\n"
                                    "def min(*a): return 1e9\ndef max(*a): return -1e9\nsum = 0"), 8,
                              "should all score above the negative edges"),
        "invalid-json": ('{"cells": [ this is not JSON', 0, "not a valid notebook"),
        "late": (good(), 8, "Part A visible test passed"),  # a day and a second late: 2 started days, 20% off
    }
    _cell(out["edited-test"][0], "partA-hidden").source = '"""Part A, hidden: (edited by the student)"""\npass'
    nb = out["deleted-test"][0]
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "partA-hidden"]
    lib = out["library-call"][0]
    _cell(lib, "partA-code").source = LIBRARY_RECALL
    _cell(lib, "partB-code").source = "def binary_loss(pos, neg):\n    return gl.binary_loss(pos, neg)"
    _cell(lib, "partC-code").source = "def bpr_loss(pos, neg):\n    return gl.bpr_loss(pos, neg)"
    return out


def others(hw, released, source) -> dict:
    """hw2, hw3 and hw4: student id -> (notebook, expected score, phrase), besides the cheats."""
    out = {"reference": (_filled(released, source), 10, "Part A visible test passed"),
           "stub": (cheats.copy(released), 0, "NotImplementedError")}
    if hw == "hw2":  # negatives that are positives (Part C: sampler, loop, training) and a ReLU in NGCF (Part D)
        nb = _edit(_filled(released, source), "partC-code", "while clash.any():", "while False:")
        nb = _edit(nb, "partC-code", "neg = torch.randint(train.num_items, (batch_size,), generator=generator)",
                   "neg = pos.clone()")
        out["wrong-answer"] = (_edit(nb, "partD-code", "torch.nn.functional.leaky_relu(", "torch.relu(", ), 5,
                               "negatives are one of their user's items")
        _edit(out["wrong-answer"][0], "partD-code", ", 0.2)  # (N, D')", ")  # (N, D')")
    if hw == "hw3":  # forgets the cap on hard negatives: the hidden Part B test catches it
        out["wrong-answer"] = (_edit(_filled(released, source), "partB-code", "return int(min(max_hard, step * "
                                     "(epoch - 1)))", "return int(step * (epoch - 1))"), 9, "(capped)")
    if hw == "hw4":  # messages sent from targets to sources: the visible and both hidden Part C tests catch it
        out["wrong-answer"] = (_edit(_filled(released, source), "partC-code", "self.propagate(edge_index, x=",
                                     "self.propagate(edge_index.flip(0), x="), 5, "one-way edges")
        nb = out["edited-test"] = (_edit(_filled(released, source), "partB-code", "counts[item] = 0.0", "pass"), 8,
                                   "the start item is the most visited")  # the start item in its own neighbourhood
        _cell(nb[0], "partB-hidden").source = '"""Part B, hidden: (edited by the student)"""\npass'
    return out


# ----------------------------------------------------------------------------- the session batch
@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("homework-course")
    drifted = homework.check_release(base)  # `make release` in a copy of the course, into base/fresh
    course = base / "course-copy" / "course"
    source = {hw: nbformat.read(ROOT / "solutions" / hw / f"{hw}.ipynb", as_version=4) for hw in HOMEWORK}
    student_nb = {hw: nbformat.read(base / "fresh" / hw / f"{hw}.ipynb", as_version=4) for hw in HOMEWORK}
    expected = {"hw1": attacks(student_nb["hw1"], source["hw1"])}
    expected |= {hw: others(hw, student_nb[hw], source[hw]) for hw in ("hw2", "hw3", "hw4")}
    for hw in HOMEWORK:
        expected[hw] |= {name: (nb, 0, None) for name, nb in cheats.cheats(student_nb[hw], hw).items()}
        for student, (nb, _, _) in expected[hw].items():
            _submit(course, student, hw, nb)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "gnnrec") as gb:
        gb.update_or_create_assignment("hw1", duedate=parse_utc("2030-01-01 00:00:00 UTC"))
    (course / "submitted" / "late" / "hw1" / "timestamp.txt").write_text("2030-01-02 00:00:01 UTC")
    logs: list = []
    results = homework.autograde(HOMEWORK, course=course, jobs=JOBS, extra=[f"--Execute.timeout={TIMEOUT}"],
                                 logs=logs)
    homework.feedback(HOMEWORK, course=course)
    return dict(base=base, course=course, drifted=drifted, results=results, expected=expected, logs=logs,
                source=source, released=student_nb)


def _submit(course, student, hw, nb):
    target = course / "submitted" / student / hw
    target.mkdir(parents=True, exist_ok=True)
    text = nb if isinstance(nb, str) else nbformat.writes(nb)
    (target / f"{hw}.ipynb").write_text(text)


def _feedback(batch, student, hw="hw1") -> str:
    return (batch["course"] / "feedback" / student / hw / f"{hw}.html").read_text()


# ----------------------------------------------------------------------------- release
def test_committed_assignments_match_a_fresh_release(batch):
    """assignments/ is generated: a fresh `make release` in a temporary course gives the same notebooks."""
    assert batch["drifted"] == [], f"{batch['drifted']} drifted from solutions/: run `make release`"
    for hw in HOMEWORK:
        assert (batch["base"] / "fresh" / hw / f"{hw}.ipynb").is_file()


def test_drift_is_detected(tmp_path):
    """comparable() ignores volatile metadata but not content."""
    nb = nbformat.read(ROOT / "assignments" / "hw1" / "hw1.ipynb", as_version=4)
    nb.metadata["language_info"] = {"name": "python", "version": "3.99"}
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert homework.comparable(tmp_path / "a.ipynb") == homework.comparable(ROOT / "assignments/hw1/hw1.ipynb")
    nb.cells[3].source += "\n# edited by hand"
    nbformat.write(nb, tmp_path / "b.ipynb")
    assert homework.comparable(tmp_path / "b.ipynb") != homework.comparable(ROOT / "assignments/hw1/hw1.ipynb")


def test_released_notebooks_say_they_are_generated_and_hold_no_solution_or_hidden_test(batch):
    for hw in HOMEWORK:
        text = (ROOT / "assignments" / hw / f"{hw}.ipynb").read_text()
        first = nbformat.reads(text, as_version=4).cells[0].source
        assert f"generated from `solutions/{hw}/` by `make release`" in first and "Do not edit" in first
        assert "{assignment_id}" not in text
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{hw}: {marker} in the student version"
        for line in _secret_lines(batch["source"][hw]):
            assert line not in text, f"{hw}: solution or hidden-test line in the student version: {line!r}"


REGIONS = (("### BEGIN SOLUTION", "### END SOLUTION"), (grading.HIDDEN_BEGIN, grading.HIDDEN_END))


def _public_lines(nb) -> set[str]:
    """Lines the student version may show: every line of the source outside solution and hidden-test regions
    (a hidden test may repeat a visible test's line, e.g. the same shape check)."""
    public = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        source = cell.source
        for begin, end in REGIONS:
            source = re.sub(re.escape(begin) + r".*?" + re.escape(end), "", source, flags=re.S)
        public.update(ln.strip() for ln in source.splitlines())
    return public


def _secret_lines(nb) -> list[str]:
    """Distinctive lines of solution and hidden-test regions (long enough not to appear by chance), except those
    the student version shows anyway."""
    lines = []
    for cell in nb.cells:
        for begin, end in REGIONS:
            for region in re.findall(re.escape(begin) + r"(.*?)" + re.escape(end), cell.source, flags=re.S):
                lines += [ln.strip() for ln in region.splitlines() if len(ln.strip()) > 25]
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            lines += [ln.strip() for ln in cell.source.splitlines() if len(ln.strip()) > 25]
    lines = _not_public(lines, nb)
    assert lines
    return lines


# ----------------------------------------------------------------------------- validate
def test_sources_pass_nbgrader_validate():
    paths = [str(ROOT / "solutions" / hw / f"{hw}.ipynb") for hw in HOMEWORK]
    out = grading.run_nbgrader(ROOT / "course", "validate", *paths).stdout
    assert out.count("Success! Your notebook passes all the tests.") == len(HOMEWORK), out[-3000:]


def test_released_notebooks_fail_every_graded_test():
    paths = [str(ROOT / "assignments" / hw / f"{hw}.ipynb") for hw in HOMEWORK]
    out = grading.run_nbgrader(ROOT / "course", "validate", "--invert", *paths).stdout
    assert out.count("Success! The notebook does not pass any tests.") == len(HOMEWORK), out[-3000:]


# ----------------------------------------------------------------------------- grades
@pytest.mark.parametrize("hw", HOMEWORK)
def test_reference_solutions_get_full_marks(batch, hw):
    res = batch["results"][hw]["reference"]
    assert res.score == res.max_score == 10, grading.format_result(res)
    assert not [p for p in res.problems if not p.startswith("cell")], res.problems
    if hw in ("hw1", "hw2", "hw3"):
        assert res.manual == 2  # hw1's Part E, hw2's D.2 and hw3's Part E wait for a person


def test_adversarial_batch_was_not_stopped_and_every_score_is_as_expected(batch):
    results = batch["results"]["hw1"]
    assert set(results) == set(batch["expected"]["hw1"]), "every submission, even the broken ones, has a result"
    log = next(text for text in batch["logs"] if "'invalid-json'" in text)
    assert "error processing assignment 'hw1' for student 'invalid-json'" in log  # nbgrader logged it ...
    assert "Autograding" in log.split("invalid-json", 1)[1]  # ... and went on with the students after it
    table = {s: (results[s].score, exp) for s, (_, exp, _) in batch["expected"]["hw1"].items()}
    wrong = {s: got for s, (got, exp) in table.items() if got != exp}
    assert not wrong, "\n\n".join(grading.format_result(results[s]) for s in wrong) + f"\n{table}"
    assert results["invalid-json"].problems[0].startswith("not graded")
    assert any("partA-hidden was missing" in p for p in results["deleted-test"].problems)
    assert any("partA-hidden was edited" in p for p in results["edited-test"].problems)
    assert not results["reference"].problems and not results["wrong-answer"].problems
    assert results["late"].problems == ["late submission: 2 points off"]
    for student, flag in (("os-exit", "os._exit"), ("swallow-errors", "set_custom_exc"), ("monkeypatch", "hwcheck")):
        assert any(flag in p for p in results[student].problems), (student, results[student].problems)
    assert any("CellTimeoutError" in m for m in results["infinite-loop"].parts["A"].messages)


@pytest.mark.parametrize("hw", HOMEWORK)
@pytest.mark.parametrize("cheat", CHEATS)
def test_every_cheat_scores_zero_and_is_flagged_for_a_person(batch, hw, cheat):
    """Stub answers plus a trick that fooled in-kernel tests: zero, and the formgrader flags the submission."""
    res = batch["results"][hw][cheat]
    assert res.score == 0 and res.max_score == 10, grading.format_result(res)
    assert not res.problems[0].startswith("not graded"), res.problems  # graded, as far as it got
    assert any(not p.startswith(("graded", "hit the")) for p in res.problems), res.problems
    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}", "gnnrec") as gb:
        assert gb.find_submission_notebook(hw, hw, cheat).flagged


@pytest.mark.parametrize("hw", HOMEWORK)
def test_no_other_students_grade_changes(batch, hw):
    """The reference keeps full marks, every honest student the score it earns, and nothing wrote into the
    gradebook from a notebook (the SQL cheat sets manual_score = 100 on every grade it can reach)."""
    results = batch["results"][hw]
    for student, (_, expected, _) in batch["expected"][hw].items():
        assert results[student].score == expected, grading.format_result(results[student])
    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}", "gnnrec") as gb:
        touched = [(s.student.id, g.name) for s in gb.assignment_submissions(hw) for nb in s.notebooks
                   for g in nb.grades if g.manual_score is not None]
        flagged = {s.student.id for s in gb.assignment_submissions(hw) for nb in s.notebooks if nb.flagged}
    assert touched == []
    for student, res in results.items():  # flagged exactly when its code does something a person should see
        assert (student in flagged) == any(p.startswith("cell ") for p in res.problems), (student, res.problems)


def test_the_kernel_never_saw_the_hidden_tests_or_the_course(batch):
    """Graded in a sandbox: every autograded notebook says so, and none of the course's files reached a kernel."""
    for hw in HOMEWORK:
        for student in batch["expected"][hw]:
            path = batch["course"] / "autograded" / student / hw / f"{hw}.ipynb"
            if path.is_file():
                info = nbformat.read(path, as_version=4).metadata["gnnrec"]
                assert info["sandbox"] and info["tests_in_grader"], (hw, student, info)


@pytest.mark.parametrize("student", ["reference", "stub", "wrong-answer", "exception", "infinite-loop", "huge-output",
                                     "edited-test", "deleted-test", "library-call", "sys-exit", "os-exit",
                                     "reseeded-rng", "monkeypatch", "swallow-errors", "shadowed-builtins",
                                     "invalid-json", "late", *CHEATS])
def test_feedback_explains_the_score_and_hides_hidden_tests(batch, student):
    page = _feedback(batch, student)
    text = _text(page)
    phrase = batch["expected"]["hw1"][student][2]
    assert phrase is None or phrase in text, f"{student}: the feedback lacks {phrase!r}"
    assert grading.HIDDEN_BEGIN not in text
    secret = _hidden_lines(batch["source"]["hw1"])
    if student == "stub" or student in CHEATS:  # handed in the released notebook: no solution may appear either
        secret += _secret_lines(batch["source"]["hw1"])
    shown = [line for line in secret if line in text]
    assert not shown, f"{student}: the feedback shows {shown[:3]}"
    assert len(page) < 1_500_000, f"{student}: a feedback page of {len(page):,} characters"


def test_feedback_of_every_reference_hides_its_hidden_tests(batch):
    for hw in HOMEWORK:
        text = _text(_feedback(batch, "reference", hw))
        source = batch["source"][hw]
        answers = _answer_text(source)  # the reference's page shows its own code, which may hold a test's line
        hidden = [line for line in _hidden_lines(source) if line not in answers]
        assert hidden and not [line for line in hidden if line in text], hw


def _answer_text(nb) -> str:
    """The reference's answers: every solution region of the source, as one text."""
    return "\n".join(region for cell in nb.cells
                     for region in re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", cell.source, flags=re.S))


def _hidden_lines(nb) -> list[str]:
    lines = []
    for cell in nb.cells:
        for region in re.findall(re.escape(grading.HIDDEN_BEGIN) + r"(.*?)" + re.escape(grading.HIDDEN_END),
                                 cell.source, flags=re.S):
            lines += [ln.strip() for ln in region.splitlines() if len(ln.strip()) > 25]
    return _not_public(lines, nb)


def _not_public(lines: list[str], nb) -> list[str]:
    """``lines`` less those that a public line holds (the student version shows them anyway)."""
    public = "\n".join(_public_lines(nb))
    return [ln for ln in lines if ln not in public]


def _text(page: str) -> str:
    """The visible text of an HTML page: tags removed (code is split into highlighting spans), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


# ----------------------------------------------------------------------------- a class on several cores and machines
CLASS = ("cheat-settrace", "late", "reference", "wrong-answer")  # flags, late penalties, full and partial marks


@pytest.fixture(scope="session")
def sharded(batch, tmp_path_factory):
    """The same small class graded serially, and in two shards graded in two separately released copies of the
    course, merged (`tools/homework.py merge`) into a third copy that graded nothing."""
    base = tmp_path_factory.mktemp("sharded")
    courses = {}
    for name in ("serial", "a", "b"):  # each its own `make release`: the gradebooks' ids differ
        courses[name] = grading.make_course(base / name, ["hw1"])
        grading.run_nbgrader(courses[name], "generate_assignment", "hw1", "--force")
    shutil.copytree(base / "a", base / "merged")
    courses["merged"] = base / "merged" / "course"
    for course in courses.values():
        for student in CLASS:
            shutil.copytree(batch["course"] / "submitted" / student, course / "submitted" / student)
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "gnnrec") as gb:
            gb.update_or_create_assignment("hw1", duedate=parse_utc("2030-01-01 00:00:00 UTC"))
    extra = [f"--Execute.timeout={TIMEOUT}"]
    homework.autograde(["hw1"], course=courses["serial"], extra=extra)
    homework.autograde(["hw1"], course=courses["a"], shard=(1, 2), out=base / "shard-1", extra=extra)
    homework.autograde(["hw1"], course=courses["b"], shard=(2, 2), out=base / "shard-2", extra=extra)
    assert homework.main(["merge", str(base / "shard-1"), str(base / "shard-2"),
                          "--course", str(courses["merged"])]) == 0
    for name in ("serial", "merged"):
        homework.feedback(["hw1"], course=courses[name])
        homework.export(course=courses[name])
    return dict(base=base, courses=courses)


def _rows(course, students=CLASS) -> dict:
    """What a gradebook holds about each student's hw1, by name (ids differ between gradebooks)."""
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}", "gnnrec") as gb:
        return {sub.student.id: (str(sub.timestamp), [(nb.flagged, nb.late_submission_penalty,
                                                       sorted((g.name, g.auto_score, g.manual_score,
                                                               g.needs_manual_grade) for g in nb.grades),
                                                       sorted((c.name, c.auto_comment, c.manual_comment)
                                                              for c in nb.comments)) for nb in sub.notebooks])
                for sub in gb.assignment_submissions("hw1") if sub.student.id in students}


def _outputs(course, student) -> list:
    nb = nbformat.read(Path(course) / "autograded" / student / "hw1" / "hw1.ipynb", as_version=4)
    return [(c.source, c.get("outputs")) for c in nb.cells]


def test_shards_graded_apart_merge_into_the_serial_result(sharded, batch):
    """Two shards from two copies of the course, merged: the gradebook, the autograded notebooks, the feedback
    and the export of a serial run; and the same grades as the parallel batch (JOBS=2)."""
    serial, merged = sharded["courses"]["serial"], sharded["courses"]["merged"]
    assert _rows(merged) == _rows(serial) == _rows(batch["course"])
    assert set(_rows(merged)) == set(CLASS)
    for student in CLASS:
        assert _outputs(merged, student) == _outputs(serial, student) == _outputs(batch["course"], student), student
        page = (merged / "feedback" / student / "hw1" / "hw1.html").read_text()
        assert page == (serial / "feedback" / student / "hw1" / "hw1.html").read_text(), student
    csv = {name: sorted((sharded["courses"][name] / "grades.csv").read_text().splitlines())
           for name in ("serial", "merged")}
    assert csv["merged"] == csv["serial"] and len(csv["serial"]) == len(CLASS) + 1


def test_a_shard_leaves_the_course_as_it_was_and_names_its_part(sharded):
    graded = {p.parent.name for p in (sharded["base"] / "shard-1" / "autograded").glob("*/hw1")}
    assert graded == set(CLASS[0::2]) and not (sharded["courses"]["a"] / "autograded").exists()
    assert grading.parse_shard("2/8") == (2, 8)
    for bad in ("0/2", "3/2", "2", "a/b"):
        with pytest.raises(ValueError, match="shard must be i/N"):
            grading.parse_shard(bad)
