"""`make course` (tools/build_course.py) and the README's code run as documented."""

import json
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def tool(name: str):
    """Import a module of tools/ (they are scripts, not a package)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


@pytest.mark.data
def test_build_course_prints_and_writes_the_summary(tmp_path, capsys):
    build_course = tool("build_course")
    assert build_course.main(["--out", str(tmp_path), "--stages", "data,baseline"]) == 0
    printed = capsys.readouterr().out
    assert "943 users, 1,682 items, 100,000 interactions" in printed
    summary = json.loads((tmp_path / "course-summary.json").read_text())
    assert set(summary["seconds"]) == {"data", "baseline"}
    recall = float(summary["summary"]["most-popular Recall@20"])
    assert f"{recall:.4f}" in printed

    # independent recomputation with numpy: same split rows, popularity from train counts
    import gnnrec_lite as gl
    train, test = gl.random_split(gl.load("ml-100k"), 0.8, seed=0)
    pop = np.bincount(train.item.numpy(), minlength=train.num_items)
    order = np.lexsort((np.arange(train.num_items), -pop))  # most popular first, ties to lower id
    seen = {}
    for u, i in zip(train.user.tolist(), train.item.tolist()):
        seen.setdefault(u, set()).add(i)
    truth = {}
    for u, i in zip(test.user.tolist(), test.item.tolist()):
        truth.setdefault(u, set()).add(i)
    recalls = []
    for u, positives in truth.items():
        top = [i for i in order if i not in seen.get(u, ())][:20]
        recalls.append(len(positives & set(top)) / len(positives))
    assert recall == pytest.approx(np.mean(recalls), abs=5e-5)


@pytest.mark.slow
def test_lecture_stage_saves_notebook_html_records(tmp_path, capsys):
    build_course = tool("build_course")
    assert build_course.main(["--out", str(tmp_path), "--stages", "lectures", "--fast", "--only", "02"]) == 0
    folder = tmp_path / "lectures"
    assert sorted(p.name for p in folder.iterdir()) == ["02_losses_bpr.claims.json", "02_losses_bpr.html",
                                                        "02_losses_bpr.ipynb", "02_losses_bpr.records.json"]
    records = json.loads((folder / "02_losses_bpr.records.json").read_text())
    assert records["toy/recall@1"] == 1.0
    claims = json.loads((folder / "02_losses_bpr.claims.json").read_text())
    assert claims and all(c["holds"] is True for c in claims)  # lecture 2 checks all of its claims in FAST mode
    html = (folder / "02_losses_bpr.html").read_text()
    assert "data:image/png;base64," in html and "BPR loss" in html  # the live figure's static picture
    printed = capsys.readouterr().out
    assert "lecture 02_losses_bpr" in printed and f"claims {len(claims)}/{len(claims)} hold" in printed
    summary = json.loads((tmp_path / "course-summary.json").read_text())
    assert summary["claims"] == {"02_losses_bpr": claims} and summary["failed_claims"] == []
    with pytest.raises(SystemExit):
        build_course.main(["--stages", "nope"])


def test_claims_become_failure_lines_and_a_count():
    build_course = tool("build_course")
    claims = [{"sentence": "a holds", "holds": True, "note": ""},
              {"sentence": "b holds", "holds": False, "note": "IndexError: list index out of range"},
              {"sentence": "c holds", "holds": False, "note": ""},
              {"sentence": "d needs the full run", "holds": None, "note": ""}]
    assert build_course.claim_failures("99_x", claims) == ["99_x: b holds (IndexError: list index out of range)",
                                                           "99_x: c holds"]
    assert build_course.claims_line(claims) == "claims 1/3 hold, 1 not checked"
    assert build_course.claims_line(claims[:1]) == "claims 1/1 hold"


def test_a_false_claim_fails_the_build_naming_lecture_and_sentence(tmp_path, capsys):
    import nbformat

    build_course = tool("build_course")
    lectures = tmp_path / "lectures"
    lectures.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("FAST = False\nSEED = 0\nEPOCHS = 0", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_markdown_cell("One is one. The list has three items. It is long."),
                nbformat.v4.new_code_cell("from gnnrec_lite.lecture import claim\nxs = [1, 2]\n"
                                          "claim('one is one', 1 == 1)\n"
                                          "claim('the list has three items', lambda: xs[2] == 3)\n"
                                          "claim('the list is long', lambda: len(xs) > 100, checked=not FAST)")]
    nbformat.write(nb, lectures / "99_x.ipynb")
    out = tmp_path / "build"
    assert build_course.main(["--out", str(out), "--stages", "lectures", "--fast", "--lectures", str(lectures)]) == 1
    printed = capsys.readouterr().out
    assert "99_x: " in printed and "claims 1/2 hold, 1 not checked" in printed
    assert "  - 99_x: the list has three items (IndexError: list index out of range)" in printed
    saved = json.loads((out / "lectures" / "99_x.claims.json").read_text())
    assert [c["holds"] for c in saved] == [True, False, None]
    summary = json.loads((out / "course-summary.json").read_text())
    assert summary["failed_claims"] == ["99_x: the list has three items (IndexError: list index out of range)"]
    assert summary["claims"]["99_x"] == saved


@pytest.mark.data
def test_readme_python_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "README has no python example"
    script = tmp_path / "readme_example.py"
    script.write_text(blocks[0] + "\nresult = gl.evaluate(scores, train, test, k=(10, 20))\n")
    result = runpy.run_path(str(script))["result"]
    assert 0.0 < result["recall@20"] < 1.0 and result["users"] == 943


@pytest.mark.slow
def test_exercises_stage_runs_the_worked_solutions_and_flags_a_stub_that_did_not_say_not_attempted(tmp_path):
    import nbformat

    from gnnrec_lite.grading.exercises import EXERCISE_MIME

    build_course = tool("build_course")
    summary: dict = {}
    (tmp_path / "lectures").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("display_data", data={
        EXERCISE_MIME: {"id": "02-1", "title": "t", "status": "failed", "message": "expected 1.0"},
        "text/plain": "x"})])]
    nbformat.write(nb, tmp_path / "lectures" / "02_losses_bpr.ipynb")
    problems = build_course.stage_exercises(summary, out=tmp_path, only="02")
    assert problems == ["02_losses_bpr: exercise 02-1 in the lecture as released: failed (expected 1.0)"]
    line = summary["exercises 02"]
    assert re.match(r"6 \(4 checked\): 0/1 reported not attempted in the lecture, 4/4 checks pass", line)
