"""gnnrec_lite.grading (results, `gnnrec grade`), .nbgrader_plugins, .hwcheck (the test cells' helpers) and the
judge (.judge, .remote, .agent, .wire: test cells run in the grader, the notebook's code in its kernel)."""

from __future__ import annotations

import html
import json
import math
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from jupyter_core.utils import run_sync

import gnnrec_lite as gl
from gnnrec_lite import cli, grading
from gnnrec_lite.grading import hwcheck, nbgrader_plugins, remote, sandbox, wire
from gnnrec_lite.grading.judge import Judge, student_names

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- hwcheck: comparisons
def test_close_accepts_numbers_tensors_arrays_and_names_the_failure():
    hwcheck.close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-8], "pair")
    hwcheck.close(np.array([[0.5]]), torch.tensor([[0.5]]), "nested")
    hwcheck.close(float("nan"), math.nan, "nan matches nan")
    with pytest.raises(AssertionError, match=r"recall: expected 0.5, got 0.25"):
        hwcheck.close(0.25, 0.5, "recall")
    with pytest.raises(AssertionError, match=r"v: expected shape \(2,\), got \(3,\)"):
        hwcheck.close([1, 2, 3], [1, 2], "v")
    with pytest.raises(AssertionError, match=r"at index \[1\]"):
        hwcheck.close([1.0, 5.0], [1.0, 2.0], "v")
    with pytest.raises(AssertionError, match="expected a number"):
        hwcheck.close("0.5", 0.5, "string")
    with pytest.raises(AssertionError, match="expected 1, got inf"):
        hwcheck.close(math.inf, 1.0, "inf")


def test_equal_is_exact_and_type_aware():
    hwcheck.equal(torch.tensor([3, 0]), [3, 0], "ids")
    hwcheck.equal([[True, False]], torch.tensor([[True, False]]), "mask")
    with pytest.raises(AssertionError, match="ids: expected 1, got 2 at index"):
        hwcheck.equal([0, 2], [0, 1], "ids")
    with pytest.raises(AssertionError, match="expected True, got 1"):
        hwcheck.equal([1], [True], "bool vs int")


def test_check_raises_even_under_python_O():
    hwcheck.check(True, "never")
    with pytest.raises(AssertionError, match="the message"):
        hwcheck.check(False, "the message")


# ----------------------------------------------------------------------------- hwcheck: defences
@pytest.fixture
def recorded():
    """hwcheck.setup() in this process, with the thread count and warnings hook put back afterwards."""
    threads = torch.get_num_threads()
    import warnings
    show = warnings.showwarning
    hwcheck.setup()
    yield
    warnings.showwarning = show
    torch.set_num_threads(threads)


def test_guard_restores_replaced_functions_and_says_so(recorded, capsys):
    originals = (np.isclose, torch.allclose, math.isclose, hwcheck.close, gl.evaluate, torch.equal)
    np.isclose = torch.allclose = math.isclose = lambda *a, **k: True
    hwcheck.close = gl.evaluate = lambda *a, **k: None
    del torch.equal
    try:
        restored = hwcheck.guard()
    finally:  # never leave the process patched, whatever happened
        np.isclose, torch.allclose, math.isclose, hwcheck.close, gl.evaluate, torch.equal = originals
    assert {"numpy.isclose", "torch.allclose", "math.isclose", "gnnrec_lite.grading.hwcheck.close",
            "gnnrec_lite.evaluate", "torch.equal"} <= set(restored)
    assert callable(torch.equal)
    assert "the tests use the originals" in capsys.readouterr().out
    assert hwcheck.guard() == []  # nothing left to restore


def test_guard_restores_constants_of_hwcheck(recorded):
    threshold = hwcheck.LIGHTGCN_THRESHOLD
    hwcheck.LIGHTGCN_THRESHOLD = 0.0
    assert "gnnrec_lite.grading.hwcheck.LIGHTGCN_THRESHOLD" in hwcheck.guard()
    assert hwcheck.LIGHTGCN_THRESHOLD == threshold


def test_close_ignores_patched_math_and_torch():
    saved = (math.isclose, torch.Tensor.tolist, math.isfinite)
    math.isclose = lambda *a, **k: True
    math.isfinite = lambda x: True
    torch.Tensor.tolist = lambda self: [1.0]
    try:
        with pytest.raises(AssertionError):
            hwcheck.close(torch.tensor([0.0]), [1.0], "patched")
    finally:
        math.isclose, torch.Tensor.tolist, math.isfinite = saved


def test_setup_prints_warnings_on_stdout(recorded, capsys):
    import warnings
    warnings.showwarning(UserWarning("careful"), UserWarning, "f.py", 3)
    out, err = capsys.readouterr()
    assert "UserWarning: careful (f.py:3)" in out and err == ""


def test_from_scratch_catches_any_route_into_the_library():
    evaluate = gl.evaluate  # a reference captured before the check, as a student's cell could
    test = gl.Interactions(2, 3, [0, 1], [1, 2])

    def by_alias(scores):
        return evaluate(scores, gl.Interactions(2, 3, [], []), test, k=1)["recall@1"]

    def by_getattr(scores):
        return getattr(gl.metrics, "recall" + "_at_k")(torch.zeros(2, 1, dtype=torch.long), test, 1)

    def honest(scores):
        return float((scores.argmax(1) == torch.tensor([1, 2])).double().mean())

    scores = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    for fn in (by_alias, by_getattr):
        with pytest.raises(AssertionError, match=r"recall must be written from scratch.*gnnrec_lite\.metrics\."):
            with hwcheck.from_scratch("recall", "gnnrec_lite.metrics"):
                fn(scores)
    with hwcheck.from_scratch("recall", "gnnrec_lite.metrics"):
        assert honest(scores) == 1.0
    with pytest.raises(AssertionError, match="switched off the from-scratch check"):
        with hwcheck.from_scratch("sneaky", "gnnrec_lite.metrics"):
            sys.setprofile(None)
    assert sys.getprofile() is None


def test_no_dense_flags_a_dense_n_by_n_matrix():
    adj = torch.eye(6).to_sparse()
    x = torch.ones(6, 2)
    with hwcheck.no_dense(6, "propagate"):
        torch.sparse.mm(adj, x)
    with pytest.raises(AssertionError, match=r"propagate must use sparse products, but to_dense\(\)"):
        with hwcheck.no_dense(6, "propagate"):
            adj.to_dense() @ x
    with pytest.raises(AssertionError, match="zeros"):
        with hwcheck.no_dense(6, "propagate"):
            torch.zeros(6, 6)


def test_in_judge_mode_the_checks_travel_with_each_call(monkeypatch):
    """In the grader, setup() and guard() have nothing to do, and from_scratch / no_dense hand their checks to the
    calls into the kernel: what the kernel reports is raised when the block ends, as at home."""
    channel = type("Channel", (), {"watches": []})()
    monkeypatch.setattr(hwcheck, "_judge", channel)
    assert hwcheck.setup() is None and hwcheck.guard() == []
    with pytest.raises(AssertionError, match="calls the library"):
        with hwcheck.from_scratch("f", "gnnrec_lite.metrics") as watch:
            assert channel.watches == [watch] and watch["spec"] == ("from_scratch", "f", "gnnrec_lite.metrics")
            watch["seen"] = "f must be written from scratch, but it calls the library (gnnrec_lite.metrics.x)"
    with pytest.raises(AssertionError, match="built a dense matrix"):
        with hwcheck.no_dense(4, "propagate"):
            channel.watches[0]["seen"] = "propagate must use sparse products, but to_dense() built a dense matrix"
            torch.zeros(4, 4)  # the grader's own tensors are not what is checked
    with hwcheck.no_dense(4, "propagate"), hwcheck.from_scratch("f", "gnnrec_lite.metrics"):
        assert [w["spec"][0] for w in channel.watches] == ["no_dense", "from_scratch"]
    with pytest.raises(KeyError):
        with hwcheck.no_dense(4, "propagate"):
            raise KeyError("the test's own error wins")
    assert channel.watches == []


def test_generator_is_private():
    a = torch.rand(3, generator=hwcheck.generator(4))
    torch.manual_seed(123)
    assert torch.equal(a, torch.rand(3, generator=hwcheck.generator(4)))


# ----------------------------------------------------------------------------- hwcheck.cases, stubs, kept feedback
def _twice(x, k):
    """A learner's function with three mistakes: it doubles its input in place, fails for k=0, asserts k < 3."""
    if k == 0:
        raise IndexError("no such column")
    assert k < 3, "k too big"
    x.mul_(2)
    return float(x.sum())


def test_cases_lists_every_failed_case_with_the_code_that_reproduces_it():
    ns = {"f": _twice, "torch": torch}
    with pytest.raises(AssertionError) as info:
        with hwcheck.cases("f", ns) as case:
            case.close("the sum of three ones", "f(torch.ones(3), 1)", 3.0)
            case.equal("a case that passes", "len([1, 2])", 2)
            case.raises("k=0 is out of range", "f(torch.ones(3), 0)", ValueError)
            case.raises("k=-1 is out of range", "f(torch.ones(3), -1)", ValueError)
            case.close("x is unchanged", "x", [1.0, 1.0], given="x = torch.ones(2)\nf(x, 1)")
            with case("k=5", "f(torch.ones(3), 5)"):
                case.run("f(torch.ones(3), 5)")
    lines = str(info.value).splitlines()
    assert lines[0] == "5 of 6 f cases failed (each indented line runs in a cell of your notebook):"
    assert lines[1:3] == ["[1] the sum of three ones: expected 3, got 6", "      f(torch.ones(3), 1)"]
    assert lines[3] == "[2] k=0 is out of range: expected ValueError, your code raised IndexError: no such column"
    assert lines[5].startswith("[3] k=-1 is out of range: expected ValueError, but it returned")
    assert lines[7:11] == ["[4] x is unchanged: expected 1, got 2 at index [0]", "      x = torch.ones(2)",
                           "      f(x, 1)", "      x"]
    assert lines[11].startswith("[5] k=5: while running this case your code raised AssertionError: k too big")
    assert "x" not in ns  # the cases' names never reach the namespace they read


def test_cases_pass_quietly_and_stop_at_a_dead_kernel_naming_the_case():
    with hwcheck.cases("f", {"f": _twice, "torch": torch}) as case:
        case.close("the sum of a one", "f(torch.ones(1), 1)", 2.0)
    assert case.ran == 1 and case.failed == []

    def dies(*args):
        raise remote.KernelDied("the kernel died")

    with pytest.raises(remote.KernelDied, match=r"the kernel died \(while running the f case: first\)"):
        with hwcheck.cases("f", {"f": dies}) as case:
            case.close("first", "f()", 1.0)
            case.close("second", "f()", 1.0)
    assert case.ran == 1


def test_cases_run_the_from_scratch_check_in_every_case():
    ns = {"gl": gl, "torch": torch, "mine": lambda s, t, k: gl.evaluate(s, t, t, k=k) if k > 1 else 0.0}
    with pytest.raises(AssertionError, match=r"2 of 3 .*\n\[1\] k=2: mine must be written from scratch.*\n.*\n"
                                             r"\[2\] k=3: the same as \[1\]$"):  # said once, not in every case
        with hwcheck.cases("mine", ns, scratch=("gnnrec_lite.metrics",)) as case:
            case.close("k=1", "mine(None, None, 1)", 0.0)
            case.close("k=2", "mine(torch.ones(1, 2), gl.Interactions(1, 2, [0], [1]), 2)", 1.0)
            case.close("k=3", "mine(torch.ones(1, 3), gl.Interactions(1, 3, [0], [1]), 3)", 1.0)


def test_setup_silences_torchs_sparse_invariant_warning():
    code = ("import warnings, torch\nwarnings.simplefilter('always')\n"
            "from gnnrec_lite.grading import hwcheck\nhwcheck.setup()\n"
            "torch.sparse_coo_tensor(torch.tensor([[0], [1]]), torch.ones(1), (2, 2)).to_sparse_csr()")
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "implicitly disabled" not in proc.stdout + proc.stderr


def test_a_stub_mark_in_the_source_gives_a_stub_that_says_what_to_write():
    clear = nbgrader_plugins.ClearSolutionsWithStub()
    cell = _code('def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION  # stub: write this function: f of "x"\n'
                 "    return x\n    ### END SOLUTION\n", grade_id="a", solution=True)
    assert clear._replace_solution_region(cell, "python")
    assert cell.source == ('def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n'
                           '    raise NotImplementedError("write this function: f of \\"x\\"")\n')
    plain = _code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", grade_id="b", solution=True)
    assert clear._replace_solution_region(plain, "python")
    assert plain.source == "# YOUR CODE HERE\nraise NotImplementedError()"  # nbgrader's stub, unmarked
    sys.path.insert(0, str(ROOT / "tests"))
    import cheats

    sys.path.pop(0)
    for stub in (cell.source, plain.source):
        assert "NotImplementedError" not in cheats.STUB_LINE.sub("pass", stub)


def test_kept_feedback_holds_the_page_and_the_graded_notebook_without_hidden_tests(tmp_path):
    course = tmp_path / "course"
    (course / "feedback" / "learner" / "hw1").mkdir(parents=True)
    (course / "feedback" / "learner" / "hw1" / "hw1.html").write_text("<html>Part A: 1 / 3</html>")
    nb = nbformat.v4.new_notebook()
    nb.cells = [_code("def f(): return 1", grade_id="partA-code", solution=True),
                _code('"""Part A, hidden."""\nf()\n### BEGIN HIDDEN TESTS\nassert secret_case() == 3\n'
                      "### END HIDDEN TESTS",
                      [{"output_type": "error", "ename": "AssertionError", "evalue": "1 of 2 f cases failed",
                        "traceback": ["----> 4 assert secret_case() == 3"]}], grade_id="partA-hidden", grade=True)]
    (course / "autograded" / "learner" / "hw1").mkdir(parents=True)
    nbformat.write(nb, course / "autograded" / "learner" / "hw1" / "hw1.ipynb")
    (course / "gradebook.db").write_text("secret")
    from gnnrec_lite.grading.course import keep_feedback

    written = keep_feedback(course, "hw1", "learner", tmp_path / "kept")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["hw1-feedback.html", "hw1-graded.ipynb"]
    assert sorted(p.name for p in written) == ["hw1-feedback.html", "hw1-graded.ipynb"]
    text = (tmp_path / "kept" / "hw1-graded.ipynb").read_text()
    assert "secret_case" not in text and "1 of 2 f cases failed" in text and "def f(): return 1" in text


def test_points_are_singular_for_one():
    from gnnrec_lite.grading.results import points

    assert [points(n) for n in (0, 0.5, 1, 2)] == ["0 points", "0.5 points", "1 point", "2 points"]


# ----------------------------------------------------------------------------- grading: plug-ins
def _code(source, outputs=(), grade_id=None, **meta):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output(**o) for o in outputs]
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, **meta}
    return cell


def test_hidden_tests_and_their_tracebacks_are_removed_from_feedback():
    src = ('"""Part A, hidden."""\nx = 1\n### BEGIN HIDDEN TESTS\nassert secret_case() == 3, "ties"\n'
           "### END HIDDEN TESTS\n")
    cell = _code(src, [{"output_type": "error", "ename": "AssertionError", "evalue": "ties",
                        "traceback": ["----> 4 assert secret_case() == 3"]}])
    cell, _ = nbgrader_plugins.HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert "secret_case" not in cell.source and "x = 1" in cell.source and "hidden tests: not shown" in cell.source
    assert cell.outputs[0].traceback[0] == "AssertionError: ties"
    assert not any("secret_case" in line for line in cell.outputs[0].traceback)
    visible = _code("assert f() == 1", [{"output_type": "error", "ename": "E", "evalue": "", "traceback": ["tb"]}])
    assert nbgrader_plugins.HideHiddenTests().preprocess_cell(visible, {}, 0)[0].outputs[0].traceback == ["tb"]


def test_limit_output_caps_characters_as_well_as_lines():
    cell = _code("print(...)", [{"output_type": "stream", "name": "stdout", "text": "x" * 50_000},
                                {"output_type": "execute_result", "data": {"text/html": "<b>" * 30_000},
                                 "execution_count": 1, "metadata": {}}])
    pre = nbgrader_plugins.LimitOutputSize(max_chars=1000)
    cell, _ = pre.preprocess_cell(cell, {}, 0)
    assert len(cell.outputs[0].text) < 1100 and "output truncated (50,000 characters)" in cell.outputs[0].text
    assert list(cell.outputs[1].data) == ["text/plain"] and "output removed" in cell.outputs[1].data["text/plain"]


def test_late_penalty_is_a_share_per_started_day():
    plugin = nbgrader_plugins.LatePenaltyPerDay(fraction_per_day=0.1)
    assert plugin.late_submission_penalty("s", 10.0, 60) == pytest.approx(1.0)
    assert plugin.late_submission_penalty("s", 10.0, 86400 + 1) == pytest.approx(2.0)
    assert plugin.late_submission_penalty("s", 10.0, 30 * 86400) == pytest.approx(10.0)


def test_scan_flags_code_that_tampers_with_grading():
    nb = nbformat.v4.new_notebook()
    nb.cells = [_code("import os\nos._exit(0)", grade_id="partA-code", solution=True),
                _code("get_ipython().set_custom_exc((Exception,), h)", grade_id="partB-code", solution=True),
                _code("hwcheck.guard()", grade_id="partA-visible", grade=True, locked=True),  # a test: not flagged
                _code("x = 1")]
    flags = grading.scan_cells(nb)
    assert len(flags) == 2 and "partA-code: os._exit" in flags[0] and "set_custom_exc" in flags[1]


def test_format_result_is_a_table_per_part():
    res = grading.Result("ada", "hw1", 7.0, 10.0, 2.0, parts={
        "A": grading.Part("A", "Recall@K", 1.0, 3.0, 0.0, ["partA-hidden: AssertionError: ties"]),
        "E": grading.Part("E", "answers", 0.0, 0.0, 2.0, ["partE-answer1: to be graded by a person"])},
        problems=["late submission: 1 point off"])
    text = grading.format_result(res)
    assert text.splitlines()[0] == "hw1 for ada: 7 / 10 autograded points, 2 more graded by hand"
    assert "A Recall@K" in text and "1 / 3" in text and "partA-hidden: AssertionError: ties" in text
    assert "- (+2 by hand)" in text and "note: late submission" in text
    res.parts["A"].messages = ["partA-hidden: AssertionError: 2 of 9 f cases failed:\n[1] ties: expected 1, got 0\n"
                               "      f(torch.ones(3), 1)", "partA-visible: AssertionError: shape"]
    rows = grading.format_result(res).splitlines()
    first = next(i for i, row in enumerate(rows) if "2 of 9 f cases failed" in row)
    column = rows[first].index("partA-hidden")
    assert rows[first + 1] == " " * column + "    [1] ties: expected 1, got 0"
    assert rows[first + 2] == " " * column + "          f(torch.ones(3), 1)"
    assert rows[first + 3] == " " * column + "partA-visible: AssertionError: shape"
    cell = _code("t()", [{"output_type": "error", "ename": "AssertionError", "traceback": [],
                          "evalue": "2 of 9 f cases failed (...):\n[1] ties:  expected 1\n      f(torch.ones(3),  1)"}])
    assert grading.results._message(cell) == ("AssertionError: 2 of 9 f cases failed (...):\n[1] ties: expected 1\n"
                                              "      f(torch.ones(3), 1)")  # lines and indents kept


def test_an_unreadable_notebook_is_reported_not_crashed(tmp_path):
    bad = tmp_path / "hw1.ipynb"
    bad.write_text('{"cells": [oops')
    assert "is not a valid notebook (is it valid JSON?)" in grading.results._why_not_graded(bad)
    assert "no notebook" in grading.results._why_not_graded(tmp_path / "missing.ipynb")


def test_check_homework_and_the_course_location():
    assert grading.check_homework("hw2") == "hw2"
    with pytest.raises(ValueError, match=r"homework must be one of \['hw1', 'hw2', 'hw3', 'hw4'\], got 'hw9'"):
        grading.check_homework("hw9")
    assert grading.repo_root() == ROOT


def test_make_course_copies_config_and_sources_only(tmp_path):
    course = grading.make_course(tmp_path, ["hw1"])
    assert sorted(p.name for p in course.iterdir()) == ["header.ipynb", "nbgrader_config.py"]
    assert (tmp_path / "solutions" / "hw1" / "hw1.ipynb").is_file() and not (tmp_path / "solutions" / "hw2").exists()


def test_python3_kernel_is_this_interpreter():
    """nbgrader runs under this venv's Python; the notebooks' `python3` kernel must start the same one."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    assert KernelSpecManager().get_kernel_spec("python3").argv[0] in ("python", "python3", sys.executable)
    km = KernelManager(kernel_name="python3")
    assert km.format_kernel_cmd()[0] == sys.executable
    for hw in grading.HOMEWORK:
        assert nbformat.read(ROOT / "solutions" / hw / f"{hw}.ipynb", 4).metadata.kernelspec.name == "python3"


# ----------------------------------------------------------------------------- SafeExecute with a real kernel
@pytest.mark.slow
def test_safe_execute_survives_a_dead_kernel_and_gives_per_cell_budgets():
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [_code("import time\nx = 1", grade_id="setup"),
                _code("time.sleep(3)\nassert x == 1", grade_id="slow-test", grade=True, points=1),
                _code("time.sleep(3)", grade_id="too-slow", grade=True, points=1),
                _code("import os\nos._exit(1)", grade_id="killer", solution=True),
                _code("assert True", grade_id="after", grade=True, points=1)]
    ex = nbgrader_plugins.SafeExecute(timeout=2, cell_timeouts={"slow-test": 20})
    nb, _ = ex.preprocess(nb, {})
    names = [[o.get("ename") for o in c.outputs if o.output_type == "error"] for c in nb.cells]
    assert names[:2] == [[], []] and "CellTimeoutError" in names[2]  # slow-test had its own 20 s
    assert names[3:] == [[grading.KERNEL_DIED], [grading.KERNEL_DIED]]
    assert grading.results._message(nb.cells[2]).startswith("CellTimeoutError")
    assert "died in killer" in nb.cells[4].outputs[0].evalue


# ----------------------------------------------------------------------------- gnnrec grade
def test_grade_command_errors_name_the_problem(capsys):
    assert cli.main(["grade", "hw7", "x.ipynb"]) == 1
    assert "homework must be one of ['hw1', 'hw2', 'hw3', 'hw4'], got 'hw7'" in capsys.readouterr().err
    assert cli.main(["grade", "hw1", "no/such/notebook.ipynb"]) == 1
    assert "notebook not found: no/such/notebook.ipynb" in capsys.readouterr().err


def test_grade_command_without_a_sandbox_says_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    assert cli.main(["grade", "hw1", str(ROOT / "assignments" / "hw1" / "hw1.ipynb")]) == 1
    err = capsys.readouterr().err
    assert "no bubblewrap" in err and "make setup" in err and "--no-sandbox" in err


@pytest.mark.slow
def test_grade_command_prints_the_verdict_a_class_would_get(tmp_path, capsys):
    """A learner's hw1 with Recall@K that forgets the training items: 8 / 10, and Part A says why; graded
    without the sandbox (--no-sandbox), the result says so."""
    released = nbformat.read(ROOT / "assignments" / "hw1" / "hw1.ipynb", 4)
    solved = nbformat.read(ROOT / "solutions" / "hw1" / "hw1.ipynb", 4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solved.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers and cell.cell_type == "code":
            cell.source = "\n".join(line for line in answers[grade_id].replace("if exclude is not None:", "if False:")
                                     .splitlines() if "### " not in line)  # as a learner writes it: no marks
    path = tmp_path / "mine.ipynb"
    nbformat.write(released, path)
    assert cli.main(["grade", "hw1", str(path), "--keep", str(tmp_path / "kept"), "--no-sandbox"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "hw1 for learner: 8 / 10 autograded points, 2 more graded by hand"
    assert "note: graded without a sandbox" in out
    assert "A Recall@K" in out and "1 / 3" in out and "skip it, then take the top 2" in out
    assert "partE-answer1: no response" in out
    kept = tmp_path / "kept"  # the learner's feedback only: no hidden test, no solution they did not write
    assert sorted(p.name for p in kept.rglob("*")) == ["hw1-feedback.html", "hw1-graded.ipynb"]
    assert f"feedback: {kept / 'hw1-feedback.html'}" in out
    handed_in = path.read_text()
    secret = [line.strip() for cell in solved.cells for line in cell.source.splitlines()
              if len(line.strip()) > 25 and cell.metadata.get("nbgrader", {}).get("solution")
              and json.dumps(line.strip())[1:-1] not in handed_in]  # Part E's model answers, the stub marks
    secret += [line.strip() for cell in solved.cells for region in cell.source.split("### BEGIN HIDDEN TESTS")[1:]
               for line in region.splitlines() if len(line.strip()) > 25]
    assert len(secret) > 20
    for file in kept.iterdir():
        text = html.unescape(re.sub(r"<[^>]+>", "", file.read_text()))  # a page's text; a notebook's JSON
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, file
        shown = [line for line in secret if line in text or json.dumps(line)[1:-1] in text]
        assert not shown, f"{file.name} shows {shown[:3]}"
    assert "skip it, then take the top 2" in (kept / "hw1-feedback.html").read_text()
    assert not (ROOT / "course" / "submitted" / "learner").exists()


def test_grade_command_is_registered_and_keeps_the_others():
    parser = cli.build_parser()
    args = parser.parse_args(["grade", "hw1", "x.ipynb"])
    assert args.func is cli.run_grade and args.keep is None and args.keep_course is None and args.no_sandbox is False
    assert parser.parse_args(["data", "path"]).func is cli.data.run_path


# ----------------------------------------------------------------------------- the judge: wire format
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state")
def test_answers_come_back_as_plain_data():
    kept = []
    value = {"list": [1, 2.5, math.inf, "s", None, True], "pair": (torch.arange(6).reshape(2, 3), torch.tensor([True])),
             "coo": torch.eye(3).to_sparse(), "csr": torch.eye(3).to_sparse_csr(), "array": np.arange(3.0),
             "scalar": np.float32(2.5), "size": torch.Size([2, 3]), "dtype": torch.int64, "other": object(),
             "grad": torch.ones(2, requires_grad=True) * 3}
    found = []
    answer = json.loads(json.dumps(wire.encode(value, lambda obj: kept.append(obj) or len(kept), found)))
    decoded = []
    got = wire.decode(answer, lambda n, t, c: ("handle", n, t), decoded)
    assert got["list"] == [1, 2.5, math.inf, "s", None, True] and isinstance(got["pair"], tuple)
    assert torch.equal(got["pair"][0], torch.arange(6).reshape(2, 3)) and got["pair"][1].dtype == torch.bool
    assert torch.equal(got["coo"].to_dense(), torch.eye(3)) and got["csr"].layout == torch.sparse_csr
    assert got["array"].tolist() == [0.0, 1.0, 2.0] and type(got["scalar"]) is np.float32
    assert got["size"] == torch.Size([2, 3]) and got["dtype"] is torch.int64 and got["other"] == ("handle", 1, "object")
    assert [grad for _, grad in decoded] == [False, False, True] and len(found) == 3


@pytest.mark.parametrize("answer", [
    {"tensor": ["float32", [2], "AAAA"]},                   # 3 bytes for two float32s
    {"tensor": ["object", [1], "AA=="]},                    # a dtype outside the allow-list
    {"tensor": ["float32", [-1], ""]},                      # a negative size
    {"pickle": "gASVAAAAAAAAAACMBW9zLm5hbWWULg=="},          # a kind that does not exist
    {"float": "__import__('os')"},
    {"list": {"not": "a list"}},
])
def test_a_forged_answer_is_refused(answer):
    with pytest.raises((ValueError, TypeError, AttributeError)):
        wire.decode(answer, lambda *a: None)


def test_an_answer_nested_too_deeply_is_refused():
    deep = 1
    for _ in range(wire.MAX_DEPTH + 5):
        deep = {"list": [deep]}
    with pytest.raises(ValueError, match="nested too deeply"):
        wire.decode(deep, lambda *a: None)


def test_requests_carry_tensors_generators_and_handles_by_reference():
    class Handle:
        __gnnrec_remote__, __gnnrec_handle__ = True, 7

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    g = torch.Generator().manual_seed(3)
    text, tensors, generators = wire.pack({"args": (x, x, g, Handle(), gl.Interactions(2, 2, [0], [1]))})
    request, leaves, originals, gens = wire.unpack(text, lambda key: f"object {key}")
    a, b, gen, handle, inter = request["args"]
    assert a is b and a.requires_grad and a.is_leaf and tensors[0] is x and len(tensors) == len(leaves) == 3
    assert handle == "object 7" and inter.num_users == 2 and torch.equal(originals[0], x.detach())
    assert torch.equal(torch.rand(2, generator=gen), torch.rand(2, generator=torch.Generator().manual_seed(3)))


def test_the_notebooks_exceptions_keep_their_builtin_type_never_their_class():
    err = remote.remote_error({"type": "BadK", "bases": ["BadK", "ValueError", "Exception", "BaseException", "object"],
                               "message": "k must be >= 1, got 0", "traceback": ["  File x, line 1"]})
    assert isinstance(err, ValueError) and type(err).__name__ == "BadK" and str(err) == "k must be >= 1, got 0"
    assert err.__gnnrec_traceback__ == ["  File x, line 1"]
    exit_ = remote.remote_error({"type": "SystemExit", "bases": ["SystemExit", "BaseException"], "message": ""})
    assert isinstance(exit_, Exception) and type(exit_).__name__ == "SystemExit"
    assert isinstance(remote.remote_error({"type": "KeyboardInterrupt", "bases": []}), remote.CellTimeoutError)
    assert type(remote.remote_error({"type": "ValueError", "bases": ["ValueError"], "message": "m"})) is ValueError


def test_student_names_are_what_a_test_reads_from_the_notebook():
    source = ("import math\nx = f(2)\ndef _t():\n    return g(x) + len([h])\nfor i in range(3):\n    y = i\n"
              "try:\n    z\nexcept ValueError as exc:\n    exc\n")
    assert student_names(source, {"torch", "gl"}) == ["f", "g", "h", "z"]


# ----------------------------------------------------------------------------- the judge, with a real kernel
NOTEBOOK = """
import torch
import gnnrec_lite as gl

def double(x):
    print("doubling")
    return 2 * x

def square_sum(x):
    return (x ** 2).sum()

def picky(k):
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return k

def lazy():
    return gl.metrics.recall_at_k(torch.zeros(1, 1, dtype=torch.long), gl.Interactions(1, 1, [0], [0]), 1)

def scale_in_place(x):
    x.mul_(10)

def slow():
    while True:
        pass

def killer():
    import os
    os._exit(3)

value = 0.25
# what a dishonest notebook does to tests that run beside it
from gnnrec_lite.grading import hwcheck
hwcheck.close = hwcheck.check = lambda *a, **k: None
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"] if "hwcheck" in "".join(lines) else lines)
import sys
sys.settrace(lambda *a: None)
"""

TESTS = {
    "passes": 'hwcheck.close(double(torch.tensor([1.0, 2.0])), [2.0, 4.0], "double"); print("ok")',
    "fails": 'hwcheck.close(double(1.0), 3.0, "double of one")',
    "gradient": 'x = torch.tensor([1.0, 2.0], requires_grad=True)\nsquare_sum(x).backward()\n'
                'hwcheck.close(x.grad, [2.0, 4.0], "gradient")',
    "raises": 'try:\n    picky(0)\nexcept ValueError as exc:\n    hwcheck.check("k" in str(exc), "message")\n'
              'else:\n    raise AssertionError("picky(0) should raise")',
    "library": 'with hwcheck.from_scratch("lazy", "gnnrec_lite.metrics"):\n    lazy()',
    "value": 'hwcheck.close(value, 0.25, "value")\nhwcheck.check(not isinstance(double, type(len)), "a proxy")',
    "in-place": 'x = torch.ones(2)\nscale_in_place(x)\nhwcheck.close(x, [10.0, 10.0], "changed in place")',
    "missing": "undefined_name()",
    "slow": "slow()",
    "after-slow": 'hwcheck.close(picky(2), 2, "still answering")',
    "killer": "killer()",
    "after-killer": "picky(2)",
}


@pytest.mark.slow
def test_the_judge_runs_tests_beside_not_inside_the_notebooks_kernel(tmp_path):
    """The notebook patches hwcheck, rewrites later cells and traces; the verdicts come out honest anyway."""
    km = sandbox.SandboxedKernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    km.connection_file = str(tmp_path / "kernel.json")
    run_sync(km.start_kernel)()
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(NOTEBOOK, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        judge = Judge(remote.Channel(km, lambda: f"exit status {km.exit_code()}"))
        assert judge.setup("import torch\nfrom gnnrec_lite.grading import hwcheck\nhwcheck.setup()") is None
        out = {name: judge.test(name, source, 4) for name, source in TESTS.items()}
        judge.channel.close()
    finally:
        client.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
    errors = {name: [(o.ename, o.evalue) for o in outs if o.output_type == "error"] for name, outs in out.items()}
    assert [o.text for o in out["passes"]] == ["doubling\nok\n"] and errors["passes"] == []
    assert errors["fails"] == [("AssertionError", "double of one: expected 3, got 2")]
    assert errors["gradient"] == errors["raises"] == errors["value"] == errors["in-place"] == []
    assert errors["library"][0][0] == "AssertionError" and "must be written from scratch" in errors["library"][0][1]
    assert errors["missing"] == [("NameError", "name 'undefined_name' is not defined")]
    assert errors["slow"][0][0] == "CellTimeoutError" and errors["after-slow"] == []
    assert errors["killer"][0][0] == "KernelDied" and "exit status 3" in errors["killer"][0][1]
    assert errors["after-killer"][0][0] == "KernelDied"
