"""The formgrader in a real browser shows every submission merged from shards graded apart.

A small hw1 class is graded in two shards (`tools/homework.py autograde
--shard`), merged into a copy of the course that graded nothing
(`tools/homework.py merge`), and served by JupyterLab on 127.0.0.1. Headless
Debian Chromium, driven by Playwright, opens *Nbgrader > Formgrader* in
JupyterLab, goes to Manual Grading > hw1 > hw1, finds every merged submission
there, and opens one on the manual-grading page of hw1's written part (Part E).
A screenshot lands in ``build/screenshots/``. Needs ``/usr/bin/chromium``
(Debian's ``chromium``) or ``GNNREC_CHROMIUM`` (tests/browser.py: it skips without one, or fails
when ``GNNREC_REQUIRE_BROWSER`` is set).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from browser import jupyterlab, launch, require_chromium

from gnnrec_lite import grading

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import homework  # noqa: E402

sys.path.pop(0)

STUDENTS = ("ada", "grace", "linus")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def merged_course(tmp_path_factory):
    """hw1 handed in by three students, graded in two shards, merged into a fresh copy of the course."""
    base = tmp_path_factory.mktemp("formgrader")
    course = grading.make_course(base / "class", ["hw1"])
    grading.run_nbgrader(course, "generate_assignment", "hw1", "--force")
    released = nbformat.read(base / "class" / "assignments" / "hw1" / "hw1.ipynb", as_version=4)
    solved = nbformat.read(ROOT / "solutions" / "hw1" / "hw1.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solved.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for i, student in enumerate(STUDENTS):
        nb = nbformat.reads(nbformat.writes(released), as_version=4)
        for cell in nb.cells:  # ada answers everything, grace the code only, linus nothing
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers and (i == 0 or i == 1 and cell.cell_type == "code"):
                cell.source = answers[grade_id]
        (course / "submitted" / student / "hw1").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "hw1" / "hw1.ipynb")
    shutil.copytree(base / "class", base / "merged")
    for shard in ("1/2", "2/2"):
        out = base / f"shard-{shard[0]}"
        assert homework.main(["autograde", "--course", str(course), "--shard", shard, "--out", str(out)]) == 0
    merged = base / "merged" / "course"
    assert homework.main(["merge", str(base / "shard-1"), str(base / "shard-2"), "--course", str(merged)]) == 0
    return merged


@pytest.fixture(scope="module")
def lab(merged_course, tmp_path_factory):
    """JupyterLab on 127.0.0.1 in the merged course (where the formgrader finds nbgrader_config.py)."""
    require_chromium()
    folder = tmp_path_factory.mktemp("lab")
    with jupyterlab(merged_course, folder) as (url, token):
        yield url, token


def test_formgrader_shows_every_merged_submission_and_its_written_answers(lab, merged_course):
    from playwright.sync_api import sync_playwright

    url, token = lab
    shot = ROOT / "build" / "screenshots" / "formgrader-manual-grading.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            page.goto(f"{url}/lab?token={token}")
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click(timeout=90_000)
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Formgrader$")).click()
            grader = page.frame_locator("iframe[src*='formgrader']")
            grader.locator("a", has_text="Manual Grading").first.click(timeout=60_000)
            grader.locator("a", has_text=re.compile(r"^hw1$")).first.click(timeout=30_000)
            grader.locator("a", has_text=re.compile(r"^hw1$")).first.click(timeout=30_000)
            rows = grader.locator("tbody tr", has_text="Submission #")
            rows.first.wait_for(timeout=30_000)
            assert rows.count() == len(STUDENTS)  # every merged submission is there
            rows.first.locator("a", has_text="Submission #").click()
            written = grader.locator("text=E.1 (1 point)")
            written.wait_for(timeout=60_000)  # Part E: graded by a person
            assert grader.locator("input.score").count() >= 2
            written.scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
        except Exception:
            page.screenshot(path=str(shot.with_name("formgrader-failure.png")), full_page=True)
            raise
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
