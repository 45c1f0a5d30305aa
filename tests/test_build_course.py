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
    assert sorted(p.name for p in folder.iterdir()) == ["02_losses_bpr.html", "02_losses_bpr.ipynb",
                                                        "02_losses_bpr.records.json"]
    records = json.loads((folder / "02_losses_bpr.records.json").read_text())
    assert records["toy/recall@1"] == 1.0
    html = (folder / "02_losses_bpr.html").read_text()
    assert "data:image/png;base64," in html and "BPR loss" in html  # the live figure's static picture
    assert "lecture 02_losses_bpr" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        build_course.main(["--stages", "nope"])


def test_failed_claims_are_listed_and_fail_the_build(monkeypatch):
    lecture_claims = tool("lecture_claims")
    monkeypatch.setitem(lecture_claims.CLAIMS, "99_x", [("a holds", lambda r: r["a"] > 0),
                                                         ("b holds", lambda r: r["b"] > 0)])
    assert lecture_claims.check("99_x", {"a": 1}) == [("a holds", True, ""), ("b holds", False, "missing record 'b'")]
    assert lecture_claims.check("99_x", {"a": -1, "b": 1})[0][1] is False


@pytest.mark.data
def test_readme_python_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "README has no python example"
    script = tmp_path / "readme_example.py"
    script.write_text(blocks[0] + "\nresult = gl.evaluate(scores, train, test, k=(10, 20))\n")
    result = runpy.run_path(str(script))["result"]
    assert 0.0 < result["recall@20"] < 1.0 and result["users"] == 943
