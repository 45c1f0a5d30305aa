"""Run a lecture notebook once per test session and hand its records and claims to the tests.

Lectures run in FAST mode (their ``parameters`` cell says what that means) with
one torch thread, so the suite stays quick and unaffected by other work on the
machine. The executed notebook is kept under pytest's temporary folder.

The tests compare a lecture's records with independent recomputations; what
the lecture's text claims is checked by the lecture itself (``claim`` cells),
and :func:`assert_claims_hold` asserts that every claim checked in FAST mode
held.
"""

from __future__ import annotations

import re
from pathlib import Path

from gnnrec_lite.grading.exercises import load_all, read_exercises
from gnnrec_lite.lecture import read_claims
from gnnrec_lite.lecture.notebook import read_parameters, read_records, run_notebook

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "lectures"
_CACHE: dict = {}


def lecture_path(stem: str) -> Path:
    path = LECTURES / f"{stem}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"no lecture {path}")
    return path


def execute(stem: str, **parameters):
    """``(executed notebook, records)`` of ``lectures/<stem>.ipynb`` with ``FAST=True`` unless overridden."""
    parameters = {"FAST": True, **parameters}
    key = (stem, tuple(sorted(parameters.items())))
    if key not in _CACHE:
        nb = run_notebook(lecture_path(stem), parameters, timeout=600,
                          env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        _CACHE[key] = (nb, read_records(nb))
    return _CACHE[key]


def notebook_parameters(stem: str) -> dict:
    """The values set in ``lectures/<stem>.ipynb``'s ``parameters`` cell (its full-mode settings)."""
    return read_parameters(lecture_path(stem))


CLAIM_CALL = re.compile(r"^claim\(", flags=re.M)


def assert_claims_hold(stem: str) -> list[dict]:
    """Every ``claim(...)`` of the lecture ran, and every one checked in FAST mode held; returns the claims.

    A lecture without claims fails: its text makes no checked statement.
    """
    nb, _ = execute(stem)
    claims = read_claims(nb)
    calls = sum(len(CLAIM_CALL.findall(c.source)) for c in nb.cells if c.cell_type == "code")
    assert calls > 0, f"{stem} makes no claim"
    assert len(claims) == calls, f"{stem}: {calls} claim(...) calls in the source, {len(claims)} claims in the run"
    false = [f"{c['sentence']} ({c['note']})" if c["note"] else c["sentence"] for c in claims if c["holds"] is False]
    assert not false, f"{stem}: claims that do not hold in FAST mode: {false}"
    assert any(c["holds"] is True for c in claims), f"{stem}: no claim is checked in FAST mode"
    return claims


def assert_exercises_not_attempted(stem: str, min_code: int = 3) -> None:
    """The lecture, run as committed, reaches its last cell, and each of its code exercises (at least
    ``min_code``) reports "not attempted": a stub never stops *Run All*."""
    nb, _ = execute(stem)  # execute() fails on any cell that raises
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code"), f"{stem}: a cell did not run"
    verdicts = read_exercises(nb)
    code = sorted(i for i, e in load_all().items() if i.startswith(stem[:2] + "-") and e.kind == "code")
    assert sorted(v["id"] for v in verdicts) == code and len(code) >= min_code, (stem, verdicts)
    assert {v["status"] for v in verdicts} == {"not attempted"}, verdicts
