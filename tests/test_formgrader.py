"""The formgrader in a real browser shows every submission merged from shards graded apart.

A small hw1 class is graded in two shards (`tools/homework.py autograde
--shard`), merged into a copy of the course that graded nothing
(`tools/homework.py merge`), and served by JupyterLab on 127.0.0.1. Headless
Debian Chromium, driven by Playwright, opens *Nbgrader > Formgrader* in
JupyterLab, goes to Manual Grading > hw1 > hw1, finds every merged submission
there, and opens one on the manual-grading page of hw1's written part (Part E).
A screenshot lands in ``build/screenshots/``. Needs ``/usr/bin/chromium``
(Debian's ``chromium``) or ``GNNREC_CHROMIUM``.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from gnnrec_lite import grading

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import homework  # noqa: E402

sys.path.pop(0)

CHROMIUM = os.environ.get("GNNREC_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(merged_course, tmp_path_factory):
    """JupyterLab on 127.0.0.1 in the merged course (where the formgrader finds nbgrader_config.py)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install -y chromium) "
                    "or set GNNREC_CHROMIUM to a Chromium binary")
    folder = tmp_path_factory.mktemp("lab")
    news = folder / ".settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, OMP_NUM_THREADS="1", JUPYTER_CONFIG_DIR=str(folder / ".config"),
               JUPYTERLAB_WORKSPACES_DIR=str(folder / ".workspaces"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={merged_course}", "--ServerApp.open_browser=False",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabApp.workspaces_dir={folder / '.workspaces'}", f"--LabApp.user_settings_dir={folder / '.settings'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(folder / "jupyterlab.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=merged_course)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        pytest.fail(f"JupyterLab did not start: {(folder / 'jupyterlab.log').read_text()[-2000:]}")
                    time.sleep(0.5)
            yield url, token
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_formgrader_shows_every_merged_submission_and_its_written_answers(lab, merged_course):
    from playwright.sync_api import sync_playwright

    url, token = lab
    shot = ROOT / "build" / "screenshots" / "formgrader-manual-grading.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
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
