"""`make course` (tools/build_course.py) and the README's code run as documented."""

import json
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.data
def test_build_course_prints_and_writes_the_summary(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_course
    finally:
        sys.path.pop(0)
    assert build_course.main(["--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "943 users, 1,682 items, 100,000 interactions" in printed
    summary = json.loads((tmp_path / "course-summary.json").read_text())
    assert set(summary["seconds"]) == {name for name, _ in build_course.STAGES}
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


@pytest.mark.data
def test_readme_python_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "README has no python example"
    script = tmp_path / "readme_example.py"
    script.write_text(blocks[0] + "\nresult = gl.evaluate(scores, train, test, k=(10, 20))\n")
    result = runpy.run_path(str(script))["result"]
    assert 0.0 < result["recall@20"] < 1.0 and result["users"] == 943
