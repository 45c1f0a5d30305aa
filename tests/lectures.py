"""Run a lecture notebook once per test session and hand its records to the tests.

Lectures run in FAST mode (their ``parameters`` cell says what that means) with
one torch thread, so the suite stays quick and unaffected by other work on the
machine. The executed notebook is kept under pytest's temporary folder.
"""

from __future__ import annotations

from pathlib import Path

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
