"""The lecture exercises' checks (gnnrec_lite.grading.exercises): stubs are 'not attempted', named wrong answers
fail with a message, the registry covers every lecture, and `gnnrec check` reports a notebook's progress."""

from __future__ import annotations

import pytest
from exercise_answers import WRONG

from gnnrec_lite.grading import exercises as ex

REGISTRY = ex.load_all()
CODE = sorted(i for i, e in REGISTRY.items() if e.kind == "code")


def stub(*args, **kwargs):
    raise NotImplementedError("write this function: see the exercise above")


@pytest.mark.parametrize("exercise_id", CODE)
def test_a_stub_is_not_attempted_and_check_never_raises(exercise_id, capsys):
    assert ex.judge(exercise_id, stub)[0] == "not attempted"
    assert ex.judge(exercise_id, None)[0] == "not attempted"
    assert ex.check(exercise_id, stub) == "not attempted"
    assert f"Exercise {exercise_id}" in capsys.readouterr().out


@pytest.mark.parametrize("exercise_id", CODE)
def test_every_code_check_has_a_named_wrong_answer_in_the_tests(exercise_id):
    assert WRONG.get(exercise_id), f"tests/exercise_answers.py has no wrong answer for exercise {exercise_id}"


@pytest.mark.parametrize("exercise_id, name, answer", [(i, n, a) for i in sorted(WRONG) for n, a in WRONG[i]],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_named_wrong_answers_fail_with_a_message(exercise_id, name, answer):
    status, message = ex.judge(exercise_id, answer)
    assert status == "failed", f"exercise {exercise_id} accepted a wrong answer ({name}): {message}"
    assert message and ("expected" in message or "must" in message or "raised" in message), message


def test_an_error_in_the_learners_code_names_the_input():
    def broken(top, positives):
        return 1 / 0
    status, message = ex.judge("01-1", broken)
    assert status == "failed" and "ZeroDivisionError" in message and "top_k=[2, 5, 9]" in message


def test_unknown_and_written_exercises():
    with pytest.raises(KeyError, match="no exercise '99-1'"):
        ex.judge("99-1", stub)
    written = next(i for i, e in REGISTRY.items() if e.kind == "written")
    with pytest.raises(ValueError, match="written"):
        ex.judge(written, stub)


def test_read_exercises_keeps_the_last_verdict_per_id():
    import nbformat

    nb = nbformat.v4.new_notebook()
    out = lambda status: nbformat.v4.new_output("display_data", data={  # noqa: E731
        ex.EXERCISE_MIME: {"id": "01-1", "title": "t", "status": status, "message": ""}, "text/plain": "x"})
    nb.cells = [nbformat.v4.new_code_cell("", outputs=[out("failed")]),
                nbformat.v4.new_code_cell("", outputs=[out("passed")])]
    assert [v["status"] for v in ex.read_exercises(nb)] == ["passed"]


@pytest.mark.slow
def test_gnnrec_check_prints_a_progress_table_and_exits_by_the_failed_ones(tmp_path, capsys):
    import nbformat

    from gnnrec_lite import cli

    def notebook(*sources):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
        path = tmp_path / f"nb{len(list(tmp_path.iterdir()))}.ipynb"
        nbformat.write(nb, path)
        return path

    setup = "from gnnrec_lite.grading.exercises import check"
    right = "def recall(top, pos):\n    return len(set(top) & pos) / len(pos)\ncheck('01-1', recall)"
    wrong = "def top(scores, seen, k):\n    return sorted(range(len(scores)), key=lambda i: -float(scores[i]))[:k]\n" \
            "check('01-2', top)"
    stub = "def lately(train, days):\n    raise NotImplementedError('write this function')\ncheck('01-4', lately)"
    broken = "1 / 0"
    code = cli.main(["check", str(notebook(setup, right, wrong, broken, stub))])
    out = capsys.readouterr().out
    assert code == 1
    assert "01-1" in out and "passed" in out and "not attempted" in out
    assert "01-2" in out and "failed" in out and "seen in training" in out
    assert "1 passed, 1 failed, 1 not attempted" in out and "ZeroDivisionError" in out
    assert cli.main(["check", str(notebook(setup, right, stub))]) == 0
    assert "1 passed, 0 failed, 1 not attempted" in capsys.readouterr().out


def test_an_answer_of_an_unexpected_type_is_a_failed_verdict_not_an_error():
    status, message = ex.judge("01-2", lambda scores, seen, k: object())
    assert status == "failed" and ("could not use your answer" in message or "expected" in message)


def test_every_lecture_has_at_least_four_exercises_and_most_are_checked():
    from pathlib import Path

    lectures = sorted(p.stem.split("_")[0] for p in (Path(__file__).parents[1] / "lectures").glob("[0-9][0-9]_*.ipynb"))
    by_lecture = {n: [e for i, e in REGISTRY.items() if i.startswith(f"{n}-")] for n in lectures}
    assert all(len(found) >= 4 for found in by_lecture.values()), {n: len(f) for n, f in by_lecture.items()}
    assert len(REGISTRY) >= 30 and len(CODE) >= 20, (len(REGISTRY), len(CODE))
