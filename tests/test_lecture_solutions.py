"""The worked solutions of the lecture exercises (``solutions/lectures/NN_*.ipynb``) against their lectures.

For every solutions notebook: executed, every check in it passes; and without
running anything, the lecture, the solutions and the registry
(``gnnrec_lite.grading.exercises``) name the same exercises with the same
titles, the prompts in the solutions are the lecture's word for word, every
lecture exercise is a stub followed by its check, and every written exercise
has a model answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from gnnrec_lite.grading.exercises import load_all, read_exercises
from gnnrec_lite.lecture.notebook import run_notebook

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions" / "lectures").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d-\d+)["']""")
HEADER = re.compile(r"^#+ Exercise (\d\d-\d+)\s*[·:.–—-]\s*(.+?)( \(written\))?\s*$")  # "### Exercise 05-2 · title"


def tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


def check_ids(nb) -> list[str]:
    """The ids checked by the notebook's cells tagged ``exercise-check``, in order."""
    return [i for c in tagged(nb, "exercise-check") for i in CHECK_CALL.findall(c.source)]


def prompts(nb) -> dict:
    """id -> (title, written?, the prompt markdown) for every exercise header in the notebook."""
    found = {}
    for cell in nb.cells:
        first = cell.source.splitlines()[0] if cell.cell_type == "markdown" and cell.source else ""
        match = HEADER.match(first)
        if match:
            found[match[1]] = (match[2], bool(match[3]), cell.source)
    return found


def lecture_of(path: Path) -> Path:
    lecture = ROOT / "lectures" / path.name
    assert lecture.is_file(), f"{path.relative_to(ROOT)} has no lecture {lecture.relative_to(ROOT)}"
    return lecture


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_lecture_solutions_and_registry_name_the_same_exercises(path):
    lecture, solutions = (nbformat.read(p, as_version=4) for p in (lecture_of(path), path))
    number = path.name[:2]
    registry = {i: e for i, e in load_all().items() if i.startswith(f"{number}-")}
    code = sorted(i for i, e in registry.items() if e.kind == "code")
    assert registry, f"no exercise of lecture {number} is registered"
    assert sorted(check_ids(lecture)) == code, f"lecture {number}'s exercise-check cells vs the registry"
    assert sorted(check_ids(solutions)) == code, f"{path.name}'s checks vs the registry"
    for name, nb in (("lecture", lecture), ("solutions", solutions)):
        found = prompts(nb)
        assert sorted(found) == sorted(registry), f"{name} {number}: exercise headers vs the registry"
        for eid, (title, written, _) in found.items():
            assert title == registry[eid].title, f"{name} {number}: exercise {eid} is titled {title!r}"
            assert written == (registry[eid].kind == "written"), f"{name} {number}: exercise {eid} kind"
    lecture_prompts, solution_prompts = prompts(lecture), prompts(solutions)
    for eid in registry:
        assert solution_prompts[eid][2] == lecture_prompts[eid][2], f"the prompt of {eid} drifted from the lecture"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_lecture_exercises_are_stubs_followed_by_their_check(path):
    lecture = nbformat.read(lecture_of(path), as_version=4)
    cells = lecture.cells
    for index, cell in enumerate(cells):
        if "exercise" in cell.get("metadata", {}).get("tags", []):
            assert "NotImplementedError(\"write this" in cell.source, f"cell {index} is not a stub:\n{cell.source}"
            following = cells[index + 1] if index + 1 < len(cells) else None
            assert following is not None and "exercise-check" in following.metadata.get("tags", []), (
                f"cell {index} (an exercise) is not followed by its exercise-check cell")
            assert "from gnnrec_lite.grading.exercises import check" in following.source


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_written_exercise_has_a_model_answer(path):
    solutions = nbformat.read(path, as_version=4)
    headers = [(i, HEADER.match(c.source.splitlines()[0] if c.cell_type == "markdown" and c.source else ""))
               for i, c in enumerate(solutions.cells)]
    starts = [i for i, m in headers if m] + [len(solutions.cells)]
    for (index, match), end in zip([(i, m) for i, m in headers if m], starts[1:]):
        if match[3]:
            after = [c.source for c in solutions.cells[index + 1:end] if c.cell_type == "markdown"]
            assert any("model answer" in text.lower() for text in after), (
                f"{path.name}: written exercise {match[1]} has no model answer after it")


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_check_in_the_worked_solutions_passes(path):
    nb = run_notebook(path, timeout=300, env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    verdicts = read_exercises(nb)
    failed = [f"{v['id']}: {v['status']}: {v['message']}" for v in verdicts if v["status"] != "passed"]
    assert not failed, f"{path.name}: {failed}"
    assert [v["id"] for v in verdicts] == check_ids(nbformat.read(path, as_version=4))
